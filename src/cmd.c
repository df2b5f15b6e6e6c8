/*
 * What the daemon's commands share to read requests and build replies;
 * the commands themselves are cmd-NAME.c, listed in cmd-table.c.
 */
#include <sys/socket.h>
#include <sys/wait.h>

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
	char	 msg[4096];

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
	/* A namespace that no app is named: its apps. */
	if (t->instance < 0 && ((a = app_find(t->name)) == NULL ||
	    a->want == APP_GONE)) {
		TAILQ_FOREACH(a, &apps, entry) {
			if (a->want != APP_GONE && a->cfg->namespace != NULL &&
			    strcmp(a->cfg->namespace, t->name) == 0)
				strv_add(&t->names, a->name);
		}
		if (t->names != NULL) {
			free(t->name);
			t->name = NULL;
			return 0;
		}
	}
	if ((a = app_find(t->name)) == NULL || a->want == APP_GONE) {
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

/* The lines of a stderr tail, oldest first (NULL if none). */
static char **
tail_lines(const struct tail *t)
{
	const char	*p, *end, *nl;
	char		**lines = NULL;
	size_t		  n = 0;

	if (t == NULL)
		return NULL;
	p = t->buf;
	end = t->buf + t->len;
	/* The first line may be cut by the ring: skip it unless it is all. */
	if (t->len == TAIL_SIZE && (nl = memchr(p, '\n', t->len)) != NULL)
		p = nl + 1;
	while (p < end) {
		nl = memchr(p, '\n', end - p);
		lines = xrealloc(lines, (n + 2) * sizeof *lines);
		lines[n++] = xstrndup(p, (nl ? nl : end) - p);
		lines[n] = NULL;
		p = nl ? nl + 1 : end;
	}
	return lines;
}

static void
add_tail(cJSON *o, const struct tail *t)
{
	char	**lines = tail_lines(t);

	cJSON_AddItemToObject(o, "stderr_tail", json_strings(lines));
	argv_free(lines);
}

/* A row of `list`, or with detail everything `show` tells of a worker. */
cJSON *
cmd_worker_json(struct worker *w, int detail)
{
	cJSON			*o = cJSON_CreateObject();
	double			 now = mono_now();
	const char		*held;
	char			*s;

	/* Sampling is its own step; the JSON only reads what it found. */
	worker_sample(w);
	cJSON_AddStringToObject(o, "name", w->app->name);
	cJSON_AddNumberToObject(o, "instance", w->instance);
	cJSON_AddNumberToObject(o, "id", w->pm_id);
	if (w->app->cfg->namespace != NULL)
		cJSON_AddStringToObject(o, "namespace", w->app->cfg->namespace);
	cJSON_AddNumberToObject(o, "worker_id", w->id);
	cJSON_AddNumberToObject(o, "pid", w->pid);
	/* A slot held by after waits for the app it follows. */
	held = w->sm.state == W_STOPPED ? order_waiting_for(w->app) : NULL;
	cJSON_AddStringToObject(o, "status", held != NULL ? "waiting" :
	    sm_state_name(w->sm.state));
	cJSON_AddNumberToObject(o, "restarts", w->sm.restarts);
	cJSON_AddNumberToObject(o, "uptime_ms", w->pid > 0 ?
	    (double)(uint64_t)((now - w->started) * 1000) : 0);
	cJSON_AddNumberToObject(o, "cpu", (double)(int)(w->cpu_pct * 10) / 10);
	cJSON_AddNumberToObject(o, "memory", (double)w->rss);
	if (w->ipc.nmetrics > 0) {
		cJSON	*m = cJSON_AddObjectToObject(o, "metrics");
		size_t	 i;
		for (i = 0; i < w->ipc.nmetrics; i++)
			cJSON_AddNumberToObject(m, w->ipc.metrics[i].name,
			    w->ipc.metrics[i].value);
	}
	if (!detail)
		return o;
	if (w->exit_reason != NULL)
		cJSON_AddStringToObject(o, "last_exit_reason", w->exit_reason);
	if (w->ipc.bad > 0)
		cJSON_AddNumberToObject(o, "messages_dropped_bad", w->ipc.bad);
	if (w->ipc.dropped_out > 0)
		cJSON_AddNumberToObject(o, "messages_dropped_unsent",
		    w->ipc.dropped_out);
	cJSON_AddNumberToObject(o, "unstable_restarts", w->sm.unstable);
	if (w->sm.reason != R_NONE)
		cJSON_AddStringToObject(o, "reason",
		    sm_reason_name(w->sm.reason));
	if (w->have_status) {
		s = status_string(w->last_status);
		cJSON_AddStringToObject(o, "last_exit", s);
		free(s);
		if (WIFEXITED(w->last_status))
			cJSON_AddNumberToObject(o, "exit_code",
			    WEXITSTATUS(w->last_status));
		else if (WIFSIGNALED(w->last_status))
			cJSON_AddStringToObject(o, "exit_signal",
			    signal_name(WTERMSIG(w->last_status)));
	}
	if (w->exec_error != NULL)
		cJSON_AddStringToObject(o, "exec_error", w->exec_error);
	if (w->status_text != NULL)
		cJSON_AddStringToObject(o, "status_text", w->status_text);
	if (w->sm.state == W_STARTING && w->app->cfg->wait_ready)
		cJSON_AddStringToObject(o, "waiting_for", "READY=1");
	else if (held != NULL)
		cJSON_AddStringToObject(o, "waiting_for", held);
	if (w->sm.state == W_WAITING)
		cJSON_AddNumberToObject(o, "restart_in_ms",
		    (double)(uint64_t)(ev_timer_remaining(pmd_loop,
		    &w->timer_w) * 1000));
	add_tail(o, w->tail);
	return o;
}

/* One event as the events command and its followers give it. */
cJSON *
event_json(const struct event *e)
{
	cJSON	*o = cJSON_CreateObject(), *data;

	cJSON_AddNumberToObject(o, "time", e->time);
	if (e->app != NULL)
		cJSON_AddStringToObject(o, "app", e->app);
	if (e->instance >= 0)
		cJSON_AddNumberToObject(o, "instance", e->instance);
	if (e->pid > 0)
		cJSON_AddNumberToObject(o, "pid", e->pid);
	cJSON_AddStringToObject(o, "type", e->type);
	cJSON_AddStringToObject(o, "text", e->text);
	if (e->data != NULL && (data = cJSON_Parse(e->data)) != NULL)
		cJSON_AddItemToObject(o, "message", data);
	return o;
}

/*
 * Whether v is a whole number within arg's bounds: the range is checked
 * before the cast, which is undefined for a double out of long's range.
 */
static int
whole_within(const struct cmd_arg *arg, const cJSON *v)
{
	return cJSON_IsNumber(v) && v->valuedouble >= arg->min &&
	    v->valuedouble <= arg->max &&
	    v->valuedouble == (double)(long)v->valuedouble;
}

/* Whether every item of v passes is (cJSON_IsString, cJSON_IsObject). */
static int
all_items(const cJSON *v, cJSON_bool (*is)(const cJSON *))
{
	const cJSON	*x;

	cJSON_ArrayForEach(x, v) {
		if (!is(x))
			return 0;
	}
	return 1;
}

/* Whether v is of the type (and within the bounds) arg asks for. */
static int
arg_fits(const struct cmd_arg *arg, cJSON *v)
{
	switch (arg->type) {
	case ARG_STRING:
		return cJSON_IsString(v);
	case ARG_BOOL:
		return cJSON_IsBool(v);
	case ARG_INT:
		return whole_within(arg, v);
	case ARG_INT_OR_STRING:
		return cJSON_IsString(v) || whole_within(arg, v);
	case ARG_STRINGS:
		return cJSON_IsArray(v) && cJSON_GetArraySize(v) >= arg->min &&
		    all_items(v, cJSON_IsString);
	case ARG_STRING_MAP:
		return cJSON_IsObject(v) && all_items(v, cJSON_IsString);
	case ARG_OBJECTS:
		return cJSON_IsArray(v) && all_items(v, cJSON_IsObject);
	}
	return 0;
}

static const char *
arg_expected(const struct cmd_arg *arg, char *buf, size_t size)
{
	switch (arg->type) {
	case ARG_STRING:
		return "a string";
	case ARG_BOOL:
		return "true or false";
	case ARG_INT:
		snprintf(buf, size, "a whole number from %.0f to %.0f",
		    arg->min, arg->max);
		return buf;
	case ARG_INT_OR_STRING:
		snprintf(buf, size, "a whole number from %.0f to %.0f, or a "
		    "string", arg->min, arg->max);
		return buf;
	case ARG_STRINGS:
		return arg->min > 0 ? "a non-empty array of strings" :
		    "an array of strings";
	case ARG_STRING_MAP:
		return "an object whose values are strings";
	case ARG_OBJECTS:
		return "an array of objects";
	}
	return "?";
}

/*
 * Every field ce names is absent or of its type; else the error reply.
 * The control socket checks each request so before the command runs.
 */
cJSON *
cmd_args_check(const struct cmd_entry *ce, cJSON *req)
{
	const struct cmd_arg	*arg;
	cJSON			*v;
	char			 buf[96];

	for (arg = ce->args; arg != NULL && arg->field != NULL; arg++) {
		v = cJSON_GetObjectItemCaseSensitive(req, arg->field);
		if (v == NULL && !arg->required)
			continue;
		if (v == NULL || !arg_fits(arg, v))
			return reply_error(PMD_E_ARGS, "field \"%s\": %s%s",
			    arg->field, v == NULL ? "missing: expected " :
			    "expected ", arg_expected(arg, buf, sizeof buf));
	}
	return NULL;
}

/* {"ok":true,"workers":[...]}: what a command that changed things answers. */
cJSON *
cmd_reply_list(struct client *c)
{
	client_rows(c);
	return reply_ok();
}

struct rows_out {
	struct text	 t;
	int		 first;		/* no comma before this row */
};

static void
list_row(struct worker *w, void *arg)
{
	struct rows_out	*o = arg;
	cJSON		*row = cmd_worker_json(w, 0);
	char		*s = utf8_fix(cJSON_PrintUnformatted(row));

	cJSON_Delete(row);
	text_put(&o->t, "%s%s", o->first ? "" : ",", s);
	o->first = 0;
	free(s);
}

/*
 * The rows of the table after *at, at most max of them, each worker sampled
 * as its row is made: ",{...},{...}" (no comma before the very first) in
 * *out. Returns 1 once the last row is made.
 */
int
cmd_list_rows(struct rows_at *at, unsigned max, char **out, size_t *outlen)
{
	struct rows_out	 o = { { NULL, 0, 0 }, at->rows == 0 };
	int		 done = app_walk(at, max, list_row, &o);

	*out = o.t.s;
	*outlen = o.t.len;
	return done;
}

/*
 * How long a start (restart, reset, scale) watches for a crash: its reply
 * comes no sooner than this after the command (or min_uptime if shorter),
 * unless every worker proved itself first (it listens, or sent READY=1).
 */
#define START_WATCH	0.5	/* seconds */

static ev_timer	watch_w;

static void
watch_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop; (void)t; (void)revents;
	daemon_dirty();		/* the waiters look again */
}

/* Wake the waiters at mono_now() time at, or sooner. */
static void
watch_until(double at)
{
	double	in = at - mono_now();

	if (in < 0.001)
		in = 0.001;
	if (ev_is_active(&watch_w) &&
	    ev_timer_remaining(pmd_loop, &watch_w) <= in)
		return;
	ev_timer_stop(pmd_loop, &watch_w);
	ev_timer_init(&watch_w, watch_cb, in, 0);
	ev_timer_start(pmd_loop, &watch_w);
}

/* Whether w is known to serve: it listens, or it told pmd it is ready. */
static int
proven(const struct worker *w)
{
	return w->sm.state == W_ONLINE && (w->proven || w->app->cfg->wait_ready);
}

/*
 * The last max lines of w's stderr tail that have text, each cut at 160
 * bytes, indented, for a message; "" when there are none.
 */
static char *
tail_text(const struct worker *w, unsigned max)
{
	char		**lines = tail_lines(w->tail);
	struct text	  out = { NULL, 0, 0 };
	size_t		  n = argv_count(lines), i, k, first = n;

	/* From the end back, until max lines with text are in. */
	for (i = n, k = 0; i > 0 && k < max; i--) {
		if (lines[i - 1][0] != '\0') {
			first = i - 1;
			k++;
		}
	}
	for (i = first; i < n; i++) {
		if (lines[i][0] != '\0')
			text_put(&out, "\n  %.160s", lines[i]);
	}
	argv_free(lines);
	return out.s != NULL ? out.s : xstrdup("");
}

/*
 * Whether w stopped as it was meant to: an exit code in stop_exit_codes,
 * or 0 with autorestart off (a job that is done).
 */
static int
ended_well(const struct worker *w)
{
	return w->sm.state == W_STOPPED && (w->sm.reason == R_EXIT_CODE ||
	    (w->sm.reason == R_NO_RESTART && w->have_status &&
	    WIFEXITED(w->last_status) && WEXITSTATUS(w->last_status) == 0));
}

/*
 * Why the start of t (a command that began at since) did not take: the
 * first worker that exited within min_uptime since then, with its exit and
 * the end of its stderr; else the first that gave up. NULL if neither.
 */
static char *
start_failure(const struct target *t, double since)
{
	struct app	*a;
	struct worker	*w;
	unsigned	 i;
	char		*how, *tail, *s, *within, *head;
	const char	*hint;

	TAILQ_FOREACH(a, &apps, entry) {
		if (!target_has(t, a))
			continue;
		if (a->listen_error != NULL)
			return xprintf("%s: %s", a->name, a->listen_error);
		for (i = 0; i < a->nworkers; i++) {
			w = a->workers[i];
			if ((t->instance >= 0 && (unsigned)t->instance != i) ||
			    (w->crash_at < since && w->sm.state != W_ERRORED) ||
			    ended_well(w))
				continue;
			how = w->have_status ? status_string(w->last_status) :
			    xstrdup("did not start");
			if (w->exec_error != NULL) {	/* why, from the child */
				s = xprintf("%s: %s", how, w->exec_error);
				free(how);
				how = s;
			}
			tail = tail_text(w, 8);
			within = w->exit_reason != NULL ?
			    xprintf(" (%s)", w->exit_reason) :
			    xprintf(", within min_uptime (%llums)",
			    (unsigned long long)a->cfg->min_uptime);
			hint = strstr(tail, "EADDRINUSE") != NULL ||
			    strstr(tail, "ddress already in use") != NULL ?
			    "\nThe address is taken: if the app's instances "
			    "each bind it, give the app listen = tcp://HOST:PORT "
			    "(or keep listen_share on) so that they share it" :
			    "";
			/* What happened, then what it said. */
			if (w->sm.state == W_ERRORED)
				head = xprintf("%s:%u errored: %s; it %s%s",
				    a->name, i, sm_reason_name(w->sm.reason),
				    how, w->exit_reason != NULL ? within : "");
			else if (w->sm.state == W_STOPPED)
				head = xprintf("%s:%u %s after %llums%s, and was "
				    "not restarted (%s)", a->name, i, how,
				    (unsigned long long)w->crash_uptime,
				    within, w->sm.reason == R_NO_RESTART ?
				    "autorestart = false" :
				    sm_reason_name(w->sm.reason));
			else
				head = xprintf("%s:%u %s after %llums%s, and is "
				    "being restarted (unstable start %u of "
				    "max_restarts %u)", a->name, i, how,
				    (unsigned long long)w->crash_uptime,
				    within, w->sm.unstable,
				    a->cfg->max_restarts);
			s = xprintf("%s; its stderr %s%s%s", head,
			    *tail ? "ends:" : "was empty", tail, hint);
			free(head);
			free(within);
			free(how);
			free(tail);
			return s;
		}
	}
	return NULL;
}

/* Whether the workers of t need watching longer for a crash. */
static int
watching(const struct target *t, double since)
{
	struct app	*a;
	struct worker	*w;
	unsigned	 i;
	double		 now = mono_now(), span;

	TAILQ_FOREACH(a, &apps, entry) {
		if (!target_has(t, a))
			continue;
		span = a->cfg->min_uptime / 1000.0;
		if (span > START_WATCH)
			span = START_WATCH;
		for (i = 0; i < a->nworkers; i++) {
			w = a->workers[i];
			if ((t->instance >= 0 && (unsigned)t->instance != i) ||
			    w->pid <= 0 || proven(w) || now - since >= span ||
			    now - w->started >= span)
				continue;
			watch_until(since + span);
			return 1;
		}
	}
	return 0;
}

/* What a command waits for: its target's workers, up or down. */
struct awaited {
	struct target	 t;
	int		 down;
};

static void
awaited_free(void *arg)
{
	struct awaited	*w = arg;

	target_clear(&w->t);
	free(w);
}

static int
wait_settled(struct client *c, void *arg, cJSON **reply)
{
	struct awaited	*w = arg;
	struct target	*t = &w->t;
	double		 since = client_since(c);
	char		*cause;

	if (!app_settled(t, w->down))
		return 0;
	/* A start that crashed, gave up, or has no sockets: failed. */
	if (!w->down) {
		if ((cause = start_failure(t, since)) != NULL) {
			*reply = reply_error(PMD_E_FAILED, "%s", cause);
			free(cause);
			return 1;
		}
		if (watching(t, since))
			return 0;
	}
	*reply = cmd_reply_list(c);
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
	struct awaited	*w = xmalloc(sizeof *w);

	w->t = *t;
	w->down = down;
	t->name = NULL;
	t->names = NULL;
	client_wait(c, wait_settled, w, awaited_free);
	return NULL;
}

/*
 * Set the keys of the JSON object keys ({"NAME": "VALUE"}) on cfg, an
 * ad-hoc app's (paths from its cwd); the first that fails is *cause,
 * named as where names it ("keys.min_uptime: ...").
 */
int
appcfg_set_keys(struct app_config *cfg, cJSON *keys, const char *where,
    char **cause)
{
	const struct app_key	*k;
	cJSON			*v;
	char			*why;

	cJSON_ArrayForEach(v, keys) {
		k = key_find(v->string);
		if (k == NULL || k->type == K_COMMAND ||
		    strcmp(k->name, "cwd") == 0) {
			*cause = xprintf("%s%s: not a key an ad-hoc app takes",
			    where, v->string);
			return -1;
		}
		if (!cJSON_IsString(v)) {
			*cause = xprintf("%s%s: expected a string", where,
			    v->string);
			return -1;
		}
		if (key_set(k, cfg, v->valuestring, cfg->cwd, &why) == -1) {
			*cause = xprintf("%s%s: %s", where, k->name, why);
			free(why);
			return -1;
		}
	}
	return 0;
}

/* The keys of an ad-hoc app that are not their defaults, as JSON. */
cJSON *
appcfg_keys_json(const struct app_config *cfg)
{
	struct app_config	*def = appcfg_new("default");
	cJSON			*o = cJSON_CreateObject();
	char			*t, *d;
	size_t			 i;

	for (i = 0; i < napp_keys; i++) {
		if (app_keys[i].type == K_COMMAND || app_keys[i].type == K_USER ||
		    app_keys[i].type == K_GROUP ||
		    strcmp(app_keys[i].name, "cwd") == 0 ||
		    strcmp(app_keys[i].name, "instances") == 0)
			continue;
		t = key_text(&app_keys[i], cfg);
		d = key_text(&app_keys[i], def);
		if (t != NULL && (d == NULL || strcmp(t, d) != 0))
			cJSON_AddStringToObject(o, app_keys[i].name, t);
		free(t);
		free(d);
	}
	appcfg_unref(def);
	return o;
}

/*
 * The pids (what = "pids") or ids ("ids") of the workers of req's target
 * (every app without one), in app and instance order; a slot with no
 * process has no pid.
 */
cJSON *
cmd_worker_numbers(cJSON *req, const char *what)
{
	struct target	 t = { .instance = -1 };
	struct app	*a;
	struct worker	*w;
	cJSON		*reply, *list;
	unsigned	 i;
	int		 ids = strcmp(what, "ids") == 0;

	if (json_string(req, "target") != NULL &&
	    cmd_get_target(req, &t, &reply) == -1)
		return reply;
	reply = reply_ok();
	list = cJSON_AddArrayToObject(reply, what);
	TAILQ_FOREACH(a, &apps, entry) {
		if (a->want == APP_GONE || !target_has(&t, a))
			continue;
		for (i = 0; i < a->nworkers; i++) {
			w = a->workers[i];
			if ((t.instance >= 0 && i != (unsigned)t.instance) ||
			    w->sm.want == WANT_GONE)
				continue;
			if (ids)
				cJSON_AddItemToArray(list,
				    cJSON_CreateNumber(w->pm_id));
			else if (w->pid > 0)
				cJSON_AddItemToArray(list,
				    cJSON_CreateNumber(w->pid));
		}
	}
	target_clear(&t);
	return reply;
}

/*
 * restart and reload --update-env: the apps of t run their workers with
 * env (the caller's environment) from now on. A peer with less privilege
 * than pmd may do that only to apps that run as itself (else its variables,
 * LD_PRELOAD among them, would run as another user); the error reply, or
 * NULL.
 */
cJSON *
cmd_update_env(struct client *c, const struct target *t, cJSON *env)
{
	struct app	*a;
	cJSON		*v;
	char		**e;
	size_t		 n;

	if (env == NULL)
		return NULL;
	TAILQ_FOREACH(a, &apps, entry) {
		if (a->want != APP_GONE && target_has(t, a) &&
		    client_unprivileged(c) && (a->cfg->user == NULL ||
		    a->cfg->uid != client_peer(c)->uid))
			return reply_error(PMD_E_PERM, "--update-env: uid %ld "
			    "may not set the environment of %s, which does "
			    "not run as it", (long)client_peer(c)->uid,
			    a->name);
	}
	TAILQ_FOREACH(a, &apps, entry) {
		if (a->want == APP_GONE || !target_has(t, a))
			continue;
		e = xcalloc(cJSON_GetArraySize(env) + 1, sizeof *e);
		n = 0;
		cJSON_ArrayForEach(v, env) {
			if (env_name_valid(v->string))
				e[n++] = xprintf("%s=%s", v->string,
				    v->valuestring);
		}
		argv_free(a->base_env);
		a->base_env = e;
	}
	return NULL;
}
