/* reset TARGET: zero the restart counters; errored workers start again. */
#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"

#ifndef PMCTL
static cJSON *
cmd_reset_exec(struct client *c, cJSON *req)
{
	return cmd_apply_target(c, req, E_RESET, 0);
}
#endif /* !PMCTL */

static const struct cmd_arg cmd_reset_args[] = {
	{ "target", ARG_STRING, 1, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_reset_entry = {
	.name = "reset",
	.alias = NULL,
	.usage = "NAME|all|NAME:INSTANCE",
	.help = "zero restart counters and start errored workers again",
	.args = cmd_reset_args,
	.flags = CMD_WAITS,
	.exec = CMD_EXEC(cmd_reset_exec),
	.build = CMD_PMCTL(NULL),
	.print = CMD_PMCTL(NULL),
};
