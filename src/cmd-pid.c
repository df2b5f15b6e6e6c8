/*
 * pid [TARGET]: the pids of the target's running workers (every app's
 * without one), one a line, as PM2's pm2 pid prints them.
 */
#include <stdio.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifndef PMCTL
static cJSON *
cmd_pid_exec(struct client *c, cJSON *req)
{
	(void)c;
	return cmd_worker_numbers(req, "pids");
}
#endif /* !PMCTL */

#ifdef PMCTL
static void
print_pid(cJSON *reply, cJSON *req, FILE *in)
{
	(void)req; (void)in;
	pmctl_print_numbers(reply, "pids");
}
#endif /* PMCTL */

static const struct cmd_arg cmd_pid_args[] = {
	{ "target", ARG_STRING, 0, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_pid_entry = {
	.name = "pid",
	.alias = NULL,
	.usage = "[TARGET]",
	.help = "the pids of an app's running workers, one a line (PM2's pm2 pid)",
	.args = cmd_pid_args,
	.flags = CMD_NO_AUTOSTART,
	.exec = CMD_EXEC(cmd_pid_exec),
	.build = CMD_PMCTL(NULL),
	.print = CMD_PMCTL(print_pid),
};
