/* reopen-logs: reopen every log file, as SIGUSR1 does. */
#include <cjson/cJSON.h>

#include "pmd.h"

static cJSON	*cmd_reopen_logs_exec(struct client *, cJSON *);

const struct cmd_entry cmd_reopen_logs_entry = {
	"reopen-logs", NULL, 0, cmd_reopen_logs_exec
};

static cJSON *
cmd_reopen_logs_exec(struct client *c, cJSON *req)
{
	cJSON	*reply = reply_ok();

	(void)c; (void)req;
	cJSON_AddNumberToObject(reply, "reopened", logs_reopen_all());
	return reply;
}
