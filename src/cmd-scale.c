/*
 * scale NAME N|+N|-N|max: run that many instances; answer once the change
 * is done.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifndef PMCTL
/* The instances a scale asks for: N, +N, -N (relative) or max. */
static int
scale_count(cJSON *v, unsigned now, unsigned *n, char **cause)
{
	const char	*s = v->valuestring, *end;
	long		 k;

	if (cJSON_IsNumber(v)) {
		*n = (unsigned)v->valuedouble;
		return 0;
	}
	if (*s == '+' || *s == '-') {
		end = s + 1 + strspn(s + 1, "0123456789");
		k = strtol(s + 1, NULL, 10);
		if (end == s + 1 || *end != '\0' || end - s > 5) {
			*cause = xprintf("expected N, +N, -N or max, got \"%s\"",
			    s);
			return -1;
		}
		k = *s == '+' ? (long)now + k : (long)now - k;
		if (k < 1 || k > 4096) {
			*cause = xprintf("%s from %u instances makes %ld; "
			    "expected 1 to 4096", s, now, k);
			return -1;
		}
		*n = (unsigned)k;
		return 0;
	}
	if (strcmp(s, "max") != 0) {
		*cause = xprintf("expected N, +N, -N or max, got \"%s\"", s);
		return -1;
	}
	*n = instances_resolve(0, daemon_ncpu());
	return 0;
}

static cJSON *
cmd_scale_exec(struct client *c, cJSON *req)
{
	cJSON		*v = cJSON_GetObjectItemCaseSensitive(req, "instances");
	const char	*name = target_app_name(json_string(req, "name"));
	struct target	 t = { .instance = -1 };
	struct app	*a;
	unsigned	 i, now = 0, n;
	char		*cause;
	cJSON		*reply;

	if ((a = app_find(name)) == NULL || a->want == APP_GONE)
		return reply_error(PMD_E_NOAPP, "no app named \"%s\"", name);
	for (i = 0; i < a->nworkers; i++)
		now += a->workers[i]->sm.want != WANT_GONE;
	if (scale_count(v, now, &n, &cause) == -1) {
		reply = reply_error(PMD_E_ARGS, "field \"instances\": %s",
		    cause);
		free(cause);
		return reply;
	}
	if (n > now && budget_admit((n - now) * budget_worker_fds(a->cfg,
	    NULL, 0), 0, "scale", a->cfg, n - now, &cause) == -1) {
		reply = reply_error(PMD_E_FAILED, "%s", cause);
		free(cause);
		return reply;
	}
	app_scale(a, n);
	t.name = xstrdup(name);
	return cmd_wait(c, &t, 0);
}
#endif /* !PMCTL */

#ifdef PMCTL
static void
build_scale(const struct cmd_entry *ce, cJSON *req, int argc, char **argv)
{
	char	*end;
	long	 n;

	if (argc != 2)
		pmctl_usage_error("usage: pmctl scale %s", ce->usage);
	cJSON_AddStringToObject(req, "name", argv[0]);
	n = strtol(argv[1], &end, 10);
	if (*argv[1] != '\0' && *end == '\0' && n >= 1 && n <= 4096 &&
	    isdigit((unsigned char)*argv[1]))
		cJSON_AddNumberToObject(req, "instances", n);
	else if (strcmp(argv[1], "max") == 0 || ((*argv[1] == '+' ||
	    *argv[1] == '-') && argv[1][1] != '\0' &&
	    strspn(argv[1] + 1, "0123456789") == strlen(argv[1] + 1)))
		cJSON_AddStringToObject(req, "instances", argv[1]);
	else
		pmctl_usage_error("scale: expected N (1 to 4096), +N, -N or "
		    "max, got \"%s\"", argv[1]);
}
#endif /* PMCTL */

static const struct cmd_arg cmd_scale_args[] = {
	{ "name", ARG_STRING, 1, 0, 0 },
	{ "instances", ARG_INT_OR_STRING, 1, 1, 4096 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_scale_entry = {
	.name = "scale",
	.alias = NULL,
	.usage = "NAME N|+N|-N|max",
	.help = "run N instances of an app (or N more, N fewer, one per CPU)",
	.args = cmd_scale_args,
	.flags = CMD_WAITS,
	.exec = CMD_EXEC(cmd_scale_exec),
	.build = CMD_PMCTL(build_scale),
	.print = CMD_PMCTL(NULL),
};
