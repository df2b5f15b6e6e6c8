/* reopen-logs: reopen every log file, as SIGUSR1 does. */
#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifndef PMCTL
static cJSON *
cmd_reopen_logs_exec(struct client *c, cJSON *req)
{
	cJSON	*reply = reply_ok();

	(void)c; (void)req;
	cJSON_AddNumberToObject(reply, "reopened", logs_reopen_all());
	return reply;
}
#endif /* !PMCTL */

#ifdef PMCTL
static void
print_reopen(cJSON *reply, cJSON *req, FILE *in)
{
	(void)req; (void)in;
	printf("reopened %.0f log file(s)\n", num(reply, "reopened"));
}
#endif /* PMCTL */

const struct cmd_entry cmd_reopen_logs_entry = {
	.name = "reopen-logs",
	.alias = "reloadLogs",
	.usage = "",
	.help = "reopen every log file (after logrotate moved them)",
	.args = NULL,
	.flags = 0,
	.exec = CMD_EXEC(cmd_reopen_logs_exec),
	.build = CMD_PMCTL(NULL),
	.print = CMD_PMCTL(print_reopen),
};
