/* version: the daemon's version and protocol version. */
#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifndef PMCTL
static cJSON *
cmd_version_exec(struct client *c, cJSON *req)
{
	cJSON	*o = reply_ok();

	(void)c; (void)req;
	cJSON_AddStringToObject(o, "version", PMD_VERSION);
	cJSON_AddNumberToObject(o, "protocol", PMD_PROTOCOL_VERSION);
	return o;
}
#endif /* !PMCTL */

#ifdef PMCTL
static void
print_version(cJSON *reply, cJSON *req, FILE *in)
{
	(void)req; (void)in;
	printf("pmctl %s\npmd %s (protocol %.0f)\n", PMD_VERSION,
	    str(reply, "version"), num(reply, "protocol"));
}
#endif /* PMCTL */

const struct cmd_entry cmd_version_entry = {
	.name = "version",
	.alias = NULL,
	.usage = "",
	.help = "print the client's and the daemon's versions",
	.args = NULL,
	.flags = CMD_WHILE_STOPPING | CMD_NO_AUTOSTART,
	.exec = CMD_EXEC(cmd_version_exec),
	.build = CMD_PMCTL(NULL),
	.print = CMD_PMCTL(print_version),
};
