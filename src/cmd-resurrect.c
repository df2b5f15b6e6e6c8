/* resurrect: start the apps of the dump file that are not running. */
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifndef PMCTL
static cJSON *
cmd_resurrect_exec(struct client *c, cJSON *req)
{
	cJSON	*reply;
	char	*cause;

	(void)c; (void)req;
	if (dump_resurrect(NULL, &reply, &cause) == -1) {
		reply = reply_error(PMD_E_FAILED, "%s", cause);
		free(cause);
	}
	return reply;
}
#endif /* !PMCTL */

#ifdef PMCTL
static void
print_resurrect(cJSON *reply, cJSON *req, FILE *in)
{
	cJSON	*e;

	(void)req; (void)in;

	if (str(reply, "warning")[0] != '\0')
		fprintf(stderr, "pmctl: warning: %s\n", str(reply, "warning"));
	pmctl_print_names("resurrected", cJSON_GetObjectItemCaseSensitive(reply,
	    "resurrected"));
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(reply,
	    "skipped"))
		printf("skipped %s: %s\n", str(e, "name"), str(e, "reason"));
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(reply,
	    "resurrected")) + cJSON_GetArraySize(
	    cJSON_GetObjectItemCaseSensitive(reply, "skipped")) == 0)
		printf("the dump holds no apps\n");
}
#endif /* PMCTL */

const struct cmd_entry cmd_resurrect_entry = {
	.name = "resurrect",
	.alias = NULL,
	.usage = "",
	.help = "start the apps of the dump file that are not running",
	.args = NULL,
	.flags = 0,
	.exec = CMD_EXEC(cmd_resurrect_exec),
	.build = CMD_PMCTL(NULL),
	.print = CMD_PMCTL(print_resurrect),
};
