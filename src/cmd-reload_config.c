/*
 * reload-config: read the config files again and apply the difference
 * (reconfig.c). Answers once every app it touched has settled, with what
 * was added, removed, reloaded, restarted, scaled and left unchanged.
 */
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifndef PMCTL
static int
wait_reconf(struct client *c, cJSON **reply)
{
	cJSON	*result = reconfig_result((unsigned)client_mode(c)), *e, *errors;
	char	*msg = NULL, *s;

	if (result == NULL)
		return 0;
	errors = cJSON_GetObjectItemCaseSensitive(result, "errors");
	if (cJSON_GetArraySize(errors) == 0) {
		*reply = cJSON_Duplicate(result, 1);
		cJSON_AddTrueToObject(*reply, "ok");
		return 1;
	}
	cJSON_ArrayForEach(e, errors) {
		s = xprintf("%s%s%s", msg ? msg : "", msg ? "; " : "",
		    e->valuestring);
		free(msg);
		msg = s;
	}
	*reply = reply_error(PMD_E_FAILED, "%s", msg);
	cJSON_AddItemToObject(*reply, "result", cJSON_Duplicate(result, 1));
	free(msg);
	return 1;
}

static cJSON *
cmd_reload_config_exec(struct client *c, cJSON *req)
{
	struct target	 none = { .instance = -1 };
	unsigned	 gen;
	char		*cause;
	cJSON		*reply;

	(void)req;
	if ((gen = reconfig_begin(&cause)) == 0) {
		log_warn("reload-config: %s; nothing changed", cause);
		reply = reply_error(PMD_E_CONFIG, "%s; nothing changed", cause);
		free(cause);
		return reply;
	}
	client_wait(c, wait_reconf, &none, (int)gen);
	return NULL;
}
#endif /* !PMCTL */

#ifdef PMCTL
static void
print_reconf(cJSON *reply, cJSON *req, FILE *in)
{
	static const char *const kinds[] = { "added", "removed", "reloaded",
	    "restarted", "scaled", "unchanged" };
	size_t	i;

	(void)req; (void)in;

	for (i = 0; i < nitems(kinds); i++)
		pmctl_print_names(kinds[i], cJSON_GetObjectItemCaseSensitive(reply,
		    kinds[i]));
}
#endif /* PMCTL */

const struct cmd_entry cmd_reload_config_entry = {
	.name = "reload-config",
	.alias = NULL,
	.usage = "",
	.help = "read the config files again and apply the difference",
	.args = NULL,
	.flags = 0,
	.exec = CMD_EXEC(cmd_reload_config_exec),
	.build = CMD_PMCTL(NULL),
	.print = CMD_PMCTL(print_reconf),
};
