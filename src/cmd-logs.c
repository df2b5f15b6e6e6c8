/*
 * logs [NAME] [--lines N] [--follow] [--err|--out]: the last lines of the
 * log files, then, with follow, one message per new line until the client
 * goes away.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"

static cJSON	*cmd_logs_exec(struct client *, cJSON *);

static const struct cmd_arg cmd_logs_args[] = {
	{ "name", ARG_STRING, 0, 0, 0 },
	{ "stream", ARG_STRING, 0, 0, 0 },
	{ "lines", ARG_INT, 0, 0, 100000 },
	{ "follow", ARG_BOOL, 0, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_logs_entry = {
	"logs", cmd_logs_args, CMD_WHILE_STOPPING, cmd_logs_exec
};

static cJSON *
cmd_logs_exec(struct client *c, cJSON *req)
{
	const char	*name = json_string(req, "name");
	const char	*stream = json_string(req, "stream");
	cJSON		*lines = cJSON_GetObjectItemCaseSensitive(req, "lines");
	cJSON		*reply;
	unsigned	 n = 15;
	int		 mask = 1 << LOG_OUT | 1 << LOG_ERR;

	if (name != NULL && app_find(name) == NULL)
		return reply_error(PMD_E_NOAPP, "no app named \"%s\"", name);
	if (lines != NULL)
		n = (unsigned)lines->valuedouble;
	if (stream != NULL) {
		if (strcmp(stream, "out") == 0)
			mask = 1 << LOG_OUT;
		else if (strcmp(stream, "err") == 0)
			mask = 1 << LOG_ERR;
		else
			return reply_error(PMD_E_ARGS, "field \"stream\": "
			    "expected \"out\" or \"err\"");
	}
	reply = reply_ok();
	cJSON_AddItemToObject(reply, "logs", logs_tail(name, mask, n));
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "follow")))
		client_follow(c, name, mask);
	return reply;
}
