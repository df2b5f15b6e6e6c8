/* ping: the daemon answers, with its pid and version. */
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifndef PMCTL
static cJSON *
cmd_ping_exec(struct client *c, cJSON *req)
{
	cJSON	*o = reply_ok();

	(void)c; (void)req;
	cJSON_AddNumberToObject(o, "pid", getpid());
	cJSON_AddStringToObject(o, "version", PMD_VERSION);
	return o;
}
#endif /* !PMCTL */

#ifdef PMCTL
static void
print_ping(cJSON *reply, cJSON *req, FILE *in)
{
	(void)req; (void)in;
	printf("pong: pmd %s, pid %.0f\n", str(reply, "version"),
	    num(reply, "pid"));
}
#endif /* PMCTL */

const struct cmd_entry cmd_ping_entry = {
	.name = "ping",
	.alias = NULL,
	.usage = "",
	.help = "check that the daemon answers",
	.args = NULL,
	.flags = CMD_WHILE_STOPPING | CMD_NO_AUTOSTART,
	.exec = CMD_EXEC(cmd_ping_exec),
	.build = CMD_PMCTL(NULL),
	.print = CMD_PMCTL(print_ping),
};
