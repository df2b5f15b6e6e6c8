/* stop TARGET: kill_signal to each worker's group; answer once they exited. */
#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"

#ifndef PMCTL
static cJSON *
cmd_stop_exec(struct client *c, cJSON *req)
{
	struct target	 t;
	cJSON		*reply;

	if (cmd_get_target(req, &t, &reply) == -1)
		return reply;
	/* stop all: followers first, a stack comes down in reverse (after). */
	if (t.name == NULL && t.names == NULL && t.instance < 0) {
		order_stop(&t);
		return cmd_wait(c, &t, 1);
	}
	target_clear(&t);
	return cmd_apply_target(c, req, E_STOP, 1);
}
#endif /* !PMCTL */

static const struct cmd_arg cmd_stop_args[] = {
	{ "target", ARG_STRING, 1, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_stop_entry = {
	.name = "stop",
	.alias = NULL,
	.usage = "NAME|all|NAME:INSTANCE",
	.help = "stop workers and wait until they have exited",
	.args = cmd_stop_args,
	.flags = CMD_WAITS,
	.exec = CMD_EXEC(cmd_stop_exec),
	.build = CMD_PMCTL(NULL),
	.print = CMD_PMCTL(NULL),
};
