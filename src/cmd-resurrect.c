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
	struct resurrect_result	 res;
	cJSON			*reply, *skipped, *item;
	char			*cause;
	size_t			 i;

	(void)c; (void)req;
	if (dump_resurrect(NULL, &res, &cause) == -1) {
		reply = reply_error(PMD_E_FAILED, "%s", cause);
		free(cause);
		return reply;
	}
	reply = reply_ok();
	if (res.warning != NULL)
		cJSON_AddStringToObject(reply, "warning", res.warning);
	cJSON_AddItemToObject(reply, "resurrected",
	    json_strings(res.resurrected));
	skipped = cJSON_AddArrayToObject(reply, "skipped");
	for (i = 0; i < res.nskipped; i++) {
		item = cJSON_CreateObject();
		cJSON_AddStringToObject(item, "name", res.skipped[i].name);
		cJSON_AddStringToObject(item, "reason", res.skipped[i].reason);
		cJSON_AddItemToArray(skipped, item);
	}
	resurrect_result_free(&res);
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
