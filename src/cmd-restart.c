/* restart TARGET: stop then start each worker (downtime allowed). */
#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifndef PMCTL
static cJSON *
cmd_restart_exec(struct client *c, cJSON *req)
{
	struct target	 t;
	cJSON		*reply;

	if (cmd_get_target(req, &t, &reply) == -1)
		return reply;
	reply = cmd_update_env(c, &t, cJSON_GetObjectItemCaseSensitive(req,
	    "env"));
	target_clear(&t);
	if (reply != NULL)
		return reply;
	return cmd_apply_target(c, req, E_RESTART, 0);
}
#endif /* !PMCTL */

static const struct cmd_arg cmd_restart_args[] = {
	{ "target", ARG_STRING, 1, 0, 0 },
	{ "env", ARG_STRING_MAP, 0, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_restart_entry = {
	.name = "restart",
	.alias = NULL,
	.usage = "NAME|all|NAME:INSTANCE|ID [--update-env]",
	.help = "stop then start workers; clears errored",
	.args = cmd_restart_args,
	.flags = CMD_WAITS,
	.exec = CMD_EXEC(cmd_restart_exec),
	.build = CMD_PMCTL(pmctl_build_target_env),
	.print = CMD_PMCTL(NULL),
};
