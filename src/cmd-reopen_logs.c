/* reopen-logs: reopen every log file, as SIGUSR1 does. */
#include <cjson/cJSON.h>

#include "pmd.h"

cJSON *
cmd_reopen_logs_exec(struct client *c, cJSON *req)
{
	cJSON	*reply = reply_ok();

	(void)c; (void)req;
	cJSON_AddNumberToObject(reply, "reopened", logs_reopen_all());
	return reply;
}
