/* kill: stop every worker, answer, and exit. */
#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifndef PMCTL
static cJSON *
cmd_kill_exec(struct client *c, cJSON *req)
{
	(void)req;
	client_wait(c, NULL, NULL, NULL); /* answered just before pmd exits */
	daemon_shutdown();
	return NULL;
}
#endif /* !PMCTL */

#ifdef PMCTL
static void
print_kill(cJSON *reply, cJSON *req, FILE *in)
{
	(void)req; (void)in;
	(void)reply;
	printf("pmd stopped\n");
}
#endif /* PMCTL */

const struct cmd_entry cmd_kill_entry = {
	.name = "kill",
	.alias = NULL,
	.usage = "",
	.help = "stop every worker, then the daemon",
	.args = NULL,
	.flags = CMD_WHILE_STOPPING | CMD_NO_AUTOSTART | CMD_WAITS,
	.exec = CMD_EXEC(cmd_kill_exec),
	.build = CMD_PMCTL(NULL),
	.print = CMD_PMCTL(print_kill),
};
