/*
 * scale NAME N|+N|-N|max: run that many instances; answer once the change
 * is done.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"

static cJSON	*cmd_scale_exec(struct client *, cJSON *);

static const struct cmd_arg cmd_scale_args[] = {
	{ "name", ARG_STRING, 1, 0, 0 },
	{ "instances", ARG_INT_OR_STRING, 1, 1, 4096 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_scale_entry = {
	"scale", cmd_scale_args, 0, cmd_scale_exec
};

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
	const char	*name = json_string(req, "name");
	struct target	 t = { .instance = -1 };
	struct app	*a;
	unsigned	 i, now = 0, n;
	char		*cause;
	cJSON		*reply;

	if ((a = app_find(name)) == NULL || a->deleting)
		return reply_error(PMD_E_NOAPP, "no app named \"%s\"", name);
	for (i = 0; i < a->nworkers; i++)
		now += !a->workers[i]->leaving;
	if (scale_count(v, now, &n, &cause) == -1) {
		reply = reply_error(PMD_E_ARGS, "field \"instances\": %s",
		    cause);
		free(cause);
		return reply;
	}
	app_scale(a, n);
	t.name = xstrdup(name);
	return cmd_wait(c, &t, 0);
}
