/* delete NAME|all: stop the app's workers and forget the app. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"

#ifndef PMCTL
static cJSON *
cmd_delete_exec(struct client *c, cJSON *req)
{
	struct target	 t;
	struct app	*a, *next;
	cJSON		*reply;

	if (cmd_get_target(req, &t, &reply) == -1)
		return reply;
	if (t.instance >= 0) {
		target_clear(&t);
		return reply_error(PMD_E_ARGS, "delete takes a whole app; use "
		    "scale to run fewer instances");
	}
	for (a = TAILQ_FIRST(&apps); a != NULL; a = next) {
		next = TAILQ_NEXT(a, entry);
		if (target_has(&t, a))
			app_delete(a);
	}
	return cmd_wait(c, &t, 1);
}
#endif /* !PMCTL */

static const struct cmd_arg cmd_delete_args[] = {
	{ "target", ARG_STRING, 1, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_delete_entry = {
	.name = "delete",
	.alias = "del rm",
	.usage = "NAME|all",
	.help = "stop an app and forget it",
	.args = cmd_delete_args,
	.flags = CMD_WAITS,
	.exec = CMD_EXEC(cmd_delete_exec),
	.build = CMD_PMCTL(NULL),
	.print = CMD_PMCTL(NULL),
};
