/* flush [NAME]: empty the log files of one app or all, rotated ones too. */
#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifndef PMCTL
static cJSON *
cmd_flush_exec(struct client *c, cJSON *req)
{
	const char	*name = target_app_name(json_string(req, "name"));
	cJSON		*reply;
	char		**files;

	(void)c;
	if (name != NULL && app_find(name) == NULL)
		return reply_error(PMD_E_NOAPP, "no app named \"%s\"", name);
	reply = reply_ok();
	files = logs_flush(name);
	cJSON_AddItemToObject(reply, "files", json_strings(files));
	argv_free(files);
	return reply;
}
#endif /* !PMCTL */

#ifdef PMCTL
static void
print_flush(cJSON *reply, cJSON *req, FILE *in)
{
	(void)req; (void)in;
	printf("flushed %d log file(s)\n", cJSON_GetArraySize(
	    cJSON_GetObjectItemCaseSensitive(reply, "files")));
}
#endif /* PMCTL */

static const struct cmd_arg cmd_flush_args[] = {
	{ "name", ARG_STRING, 0, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_flush_entry = {
	.name = "flush",
	.alias = NULL,
	.usage = "[NAME]",
	.help = "empty the log files of an app, or of all",
	.args = cmd_flush_args,
	.flags = 0,
	.exec = CMD_EXEC(cmd_flush_exec),
	.build = CMD_PMCTL(NULL),
	.print = CMD_PMCTL(print_flush),
};
