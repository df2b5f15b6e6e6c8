/*
 * reload NAME|all: a rolling reload of each app (rolling.c). Answers once
 * every reload has ended, with the error of any that failed.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifndef PMCTL
static int
targeted(const struct target *t, const struct app *a)
{
	return a->want != APP_GONE && target_has(t, a);
}

static int
wait_reloaded(struct client *c, void *arg, cJSON **reply)
{
	struct target	*t = arg;
	struct app	*a;
	char		*errors = NULL, *s;

	/* The one app asked for was deleted: not done, whatever happened. */
	if (t->name != NULL && ((a = app_find(t->name)) == NULL ||
	    a->want == APP_GONE)) {
		if (a != NULL && a->roll != NULL)
			return 0;
		*reply = reply_error(PMD_E_FAILED, "reload %s: stopped: app "
		    "deleted", t->name);
		return 1;
	}
	TAILQ_FOREACH(a, &apps, entry) {
		if (targeted(t, a) && a->roll != NULL)
			return 0;
	}
	TAILQ_FOREACH(a, &apps, entry) {
		if (!targeted(t, a) || a->reload_error == NULL)
			continue;
		s = xprintf("%s%sreload %s: %s", errors ? errors : "",
		    errors ? "; " : "", a->name, a->reload_error);
		free(errors);
		errors = s;
	}
	if (errors != NULL) {
		*reply = reply_error(PMD_E_FAILED, "%s", errors);
		free(errors);
	} else
		*reply = cmd_reply_list(c);
	return 1;
}

static cJSON *
cmd_reload_exec(struct client *c, cJSON *req)
{
	struct target	 t;
	cJSON		*reply;
	char		*cause;

	if (cmd_get_target(req, &t, &reply) == -1)
		return reply;
	if (t.instance >= 0) {
		target_clear(&t);
		return reply_error(PMD_E_ARGS, "reload takes a whole app; it "
		    "replaces the instances one at a time");
	}
	if ((reply = cmd_update_env(c, &t, cJSON_GetObjectItemCaseSensitive(
	    req, "env"))) != NULL) {
		target_clear(&t);
		return reply;
	}
	if (rolling_begin_all(&t, &cause) == -1) {
		target_clear(&t);
		reply = reply_error(PMD_E_FAILED, "%s", cause);
		free(cause);
		return reply;
	}
	client_wait(c, wait_reloaded, target_keep(&t), target_free);
	return NULL;
}
#endif /* !PMCTL */

static const struct cmd_arg cmd_reload_args[] = {
	{ "target", ARG_STRING, 1, 0, 0 },
	{ "env", ARG_STRING_MAP, 0, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_reload_entry = {
	.name = "reload",
	.alias = "gracefulReload",
	.usage = "NAME|all [--update-env]",
	.help = "replace workers one at a time, without downtime",
	.args = cmd_reload_args,
	.flags = CMD_WAITS,
	.exec = CMD_EXEC(cmd_reload_exec),
	.build = CMD_PMCTL(pmctl_build_target_env),
	.print = CMD_PMCTL(NULL),
};
