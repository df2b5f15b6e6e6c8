/* list: one row per worker of every app. */
#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"

#ifndef PMCTL
static cJSON *
cmd_list_exec(struct client *c, cJSON *req)
{
	(void)req;
	return cmd_reply_list(c);
}
#endif /* !PMCTL */

const struct cmd_entry cmd_list_entry = {
	.name = "list",
	.alias = "ls status",
	.usage = "",
	.help = "one line per worker: pid, status, restarts, uptime, cpu, memory",
	.args = NULL,
	.flags = CMD_WHILE_STOPPING,
	.exec = CMD_EXEC(cmd_list_exec),
	.build = CMD_PMCTL(NULL),
	.print = CMD_PMCTL(NULL),
};
