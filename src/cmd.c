/*
 * What the daemon's commands share to read requests and build replies;
 * the commands themselves are cmd-NAME.c, listed in cmd-table.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"

cJSON *
reply_ok(void)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddTrueToObject(o, "ok");
	return o;
}

cJSON *
reply_error(const char *code, const char *fmt, ...)
{
	cJSON	*o = cJSON_CreateObject(), *e;
	va_list	 ap;
	char	 msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cJSON_AddFalseToObject(o, "ok");
	e = cJSON_AddObjectToObject(o, "error");
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", msg);
	return o;
}

/* The request's "target", parsed and checked to exist; else an error reply. */
int
cmd_get_target(cJSON *req, struct target *t, cJSON **reply)
{
	const char	*s = json_string(req, "target");
	struct app	*a;
	char		*cause;

	if (s == NULL) {
		*reply = reply_error(PMD_E_ARGS, "field \"target\": expected "
		    "NAME, NAME:INSTANCE or \"all\"");
		return -1;
	}
	if (target_parse(s, t, &cause) == -1) {
		*reply = reply_error(PMD_E_ARGS, "%s", cause);
		free(cause);
		return -1;
	}
	if (t->name == NULL)
		return 0;
	if ((a = app_find(t->name)) == NULL || a->deleting) {
		*reply = reply_error(PMD_E_NOAPP, "no app named \"%s\"",
		    t->name);
		target_clear(t);
		return -1;
	}
	if (t->instance >= 0 && (unsigned)t->instance >= a->nworkers) {
		*reply = reply_error(PMD_E_NOAPP, "app \"%s\" has no instance "
		    "%d (it has %u)", t->name, t->instance, a->nworkers);
		target_clear(t);
		return -1;
	}
	return 0;
}

/* {"ok":true,"workers":[...]}: what a command that changed things answers. */
cJSON *
cmd_reply_list(void)
{
	cJSON	*o = reply_ok();

	cJSON_AddItemToObject(o, "workers", app_list_json(NULL));
	return o;
}

/* Why the first errored worker of t gave up, or NULL if none did. */
static char *
errored_cause(const struct target *t)
{
	struct app	*a;
	struct worker	*w;
	unsigned	 i;
	char		*how, *s;

	TAILQ_FOREACH(a, &apps, entry) {
		if (!target_has(t, a))
			continue;
		if (a->listen_error != NULL)
			return xprintf("%s: %s", a->name, a->listen_error);
		for (i = 0; i < a->nworkers; i++) {
			w = a->workers[i];
			if ((t->instance >= 0 && (unsigned)t->instance != i) ||
			    w->sm.state != W_ERRORED)
				continue;
			how = w->have_status ? status_string(w->last_status) :
			    NULL;
			s = xprintf("%s:%u errored: %s%s%s%s%s", a->name, i,
			    sm_reason_name(w->sm.reason), how ? "; it " : "",
			    how ? how : "", w->exec_error ? ": " : "",
			    w->exec_error ? w->exec_error : "");
			free(how);
			return s;
		}
	}
	return NULL;
}

static int
wait_settled(struct client *c, cJSON **reply)
{
	struct target	*t = client_target(c);
	char		*cause;

	if (!app_settled(t, client_mode(c)))
		return 0;
	/* Started, and already given up (or without its sockets): failed. */
	if (!client_mode(c) && (cause = errored_cause(t)) != NULL) {
		*reply = reply_error(PMD_E_FAILED, "%s", cause);
		free(cause);
		return 1;
	}
	*reply = cmd_reply_list();
	return 1;
}

/*
 * Feed ev to the request's target and answer once its workers have settled
 * (down: no process left). Shared by stop, restart, reset and delete.
 */
cJSON *
cmd_apply_target(struct client *c, cJSON *req, enum wevent ev, int down)
{
	struct target	 t;
	struct app	*a;
	cJSON		*reply;

	if (cmd_get_target(req, &t, &reply) == -1)
		return reply;
	TAILQ_FOREACH(a, &apps, entry) {
		if (target_has(&t, a))
			app_apply(a, ev, t.instance);
	}
	return cmd_wait(c, &t, down);
}

/*
 * Answer with the list once the workers of t (taken) have settled: with
 * down, no process left; else none starting or stopping.
 */
cJSON *
cmd_wait(struct client *c, struct target *t, int down)
{
	client_wait(c, wait_settled, t, down);
	return NULL;
}
