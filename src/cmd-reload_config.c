/*
 * reload-config: read the config files again and apply the difference
 * (reconfig.c). Answers once every app it touched has settled, with what
 * was added, removed, reloaded, restarted, scaled and left unchanged.
 */
#include <stdint.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifndef PMCTL
/* {"added":[...],...,"errors":[...]}: what reload-config did. */
static cJSON *
result_json(const struct reconfig_result *res)
{
	cJSON	*o = cJSON_CreateObject();
	int	 i;

	for (i = 0; i < RECONFIG_NCHANGES; i++)
		cJSON_AddItemToObject(o, reconfig_changes[i],
		    json_strings(res->apps[i]));
	cJSON_AddItemToObject(o, "errors", json_strings(res->errors));
	return o;
}

static int
wait_reconf(struct client *c, void *arg, cJSON **reply)
{
	const struct reconfig_result	*res;
	char				*msg = NULL, *s, **e;

	(void)c;
	if ((res = reconfig_result((unsigned)(uintptr_t)arg)) == NULL)
		return 0;
	if (res->errors == NULL) {
		*reply = result_json(res);
		cJSON_AddTrueToObject(*reply, "ok");
		return 1;
	}
	for (e = res->errors; *e != NULL; e++) {
		s = xprintf("%s%s%s", msg ? msg : "", msg ? "; " : "", *e);
		free(msg);
		msg = s;
	}
	*reply = reply_error(PMD_E_FAILED, "%s", msg);
	cJSON_AddItemToObject(*reply, "result", result_json(res));
	free(msg);
	return 1;
}

static cJSON *
cmd_reload_config_exec(struct client *c, cJSON *req)
{
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
	client_wait(c, wait_reconf, (void *)(uintptr_t)gen, NULL);
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
	.flags = CMD_WAITS,
	.exec = CMD_EXEC(cmd_reload_config_exec),
	.build = CMD_PMCTL(NULL),
	.print = CMD_PMCTL(print_reconf),
};
