/* flush [NAME]: empty the log files of one app or all, rotated ones too. */
#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"

static cJSON	*cmd_flush_exec(struct client *, cJSON *);

static const struct cmd_arg cmd_flush_args[] = {
	{ "name", ARG_STRING, 0, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_flush_entry = {
	"flush", cmd_flush_args, 0, cmd_flush_exec
};

static cJSON *
cmd_flush_exec(struct client *c, cJSON *req)
{
	const char	*name = json_string(req, "name");
	cJSON		*reply;

	(void)c;
	if (name != NULL && app_find(name) == NULL)
		return reply_error(PMD_E_NOAPP, "no app named \"%s\"", name);
	reply = reply_ok();
	cJSON_AddItemToObject(reply, "files", logs_flush(name));
	return reply;
}
