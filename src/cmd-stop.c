/* stop TARGET: kill_signal to each worker's group; answer once they exited. */
#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"

#ifndef PMCTL
static cJSON *
cmd_stop_exec(struct client *c, cJSON *req)
{
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
