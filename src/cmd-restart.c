/* restart TARGET: stop then start each worker (downtime allowed). */
#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"

#ifndef PMCTL
static cJSON *
cmd_restart_exec(struct client *c, cJSON *req)
{
	return cmd_apply_target(c, req, E_RESTART, 0);
}
#endif /* !PMCTL */

static const struct cmd_arg cmd_restart_args[] = {
	{ "target", ARG_STRING, 1, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_restart_entry = {
	.name = "restart",
	.alias = NULL,
	.usage = "NAME|all|NAME:INSTANCE",
	.help = "stop then start workers; clears errored",
	.args = cmd_restart_args,
	.flags = CMD_WAITS,
	.exec = CMD_EXEC(cmd_restart_exec),
	.build = CMD_PMCTL(NULL),
	.print = CMD_PMCTL(NULL),
};
