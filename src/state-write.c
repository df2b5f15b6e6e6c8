/*
 * Writing the state (state-read.c reads it). What pmctl update carries from one pmd to the next in the same process
 * (update.c runs the exec): every app with its config as it runs, every
 * worker slot with its process, counters and timers, the event ring, the
 * daemon's own sockets, and the fds all of these hold, named by number
 * (the exec keeps them open). It is JSON with a version (STATE_VERSION;
 * ARCHITECTURE.md gives the rule for changing it).
 *
 * Reading is two steps: state_check() parses and checks all of it (a
 * truncated or garbage text, an fd that is not what it is said to be),
 * changing nothing, so that a pmd that cannot take over can still hand
 * back to the binary before it; state_apply() then builds the apps and
 * workers, which start nothing and bind nothing.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "state.h"

/* The fds a state names, while it is written or checked. */
struct fdset {
	int	*fds;
	size_t	 n;
	size_t	 cap;
};

/* fd, named by the state: kept open across the exec (-1: none). */
static int
fds_add(struct fdset *s, int fd)
{
	if (fd < 0)
		return -1;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->fds = xrealloc(s->fds, s->cap * sizeof *s->fds);
	}
	s->fds[s->n++] = fd;
	return fd;
}

static void
add_str(cJSON *o, const char *k, const char *v)
{
	if (v != NULL)
		cJSON_AddStringToObject(o, k, v);
}

static cJSON *
strv_json(char *const *v)
{
	cJSON	*a = cJSON_CreateArray();

	for (; v != NULL && *v != NULL; v++)
		cJSON_AddItemToArray(a, cJSON_CreateString(*v));
	return a;
}

static cJSON *
fd_json(struct fdset *s, int fd)
{
	return cJSON_CreateNumber(fds_add(s, fd));
}

/* An app's config whole: every key as text, read back with key_set. */
static cJSON *
cfg_json(const struct app_config *cfg)
{
	cJSON	*o = cJSON_CreateObject(), *keys, *env, *e;
	char	*t;
	size_t	 i;

	add_str(o, "name", cfg->name);
	add_str(o, "file", cfg->file);
	cJSON_AddNumberToObject(o, "line", cfg->line);
	add_str(o, "command", cfg->command);
	cJSON_AddItemToObject(o, "argv", strv_json(cfg->argv));
	add_str(o, "cwd", cfg->cwd);
	cJSON_AddNumberToObject(o, "owner", cfg->owner == OWNER_NONE ? -1 :
	    (double)cfg->owner);
	cJSON_AddNumberToObject(o, "after_line", cfg->after_line);
	env = cJSON_AddArrayToObject(o, "env");
	for (i = 0; i < cfg->nenv; i++) {
		e = cJSON_CreateObject();
		add_str(e, "profile", cfg->env[i].profile);
		add_str(e, "key", cfg->env[i].key);
		add_str(e, "value", cfg->env[i].value);
		cJSON_AddItemToArray(env, e);
	}
	keys = cJSON_AddObjectToObject(o, "keys");
	for (i = 0; i < napp_keys; i++) {
		if (app_keys[i].type == K_COMMAND ||
		    strcmp(app_keys[i].name, "cwd") == 0)
			continue;
		if ((t = key_text(&app_keys[i], cfg)) != NULL)
			cJSON_AddStringToObject(keys, app_keys[i].name, t);
		free(t);
	}
	return o;
}

static double
remaining(ev_timer *t)
{
	return ev_is_active(t) ? ev_timer_remaining(pmd_loop, t) : -1;
}

static int
pipe_fd(struct fdset *s, const struct logpipe *lp, const char **partial,
    size_t *plen)
{
	*partial = NULL;
	*plen = 0;
	if (lp == NULL)
		return -1;
	return fds_add(s, logpipe_carry(lp, partial, plen));
}

/* A text item of a worker's array: JSON-quoted, or null. */
static void
text_item(struct text *t, const char *v)
{
	cJSON	*j;
	char	*q;

	if (v == NULL) {
		text_put(t, ",null");
		return;
	}
	j = cJSON_CreateString(v);
	q = cJSON_PrintUnformatted(j);
	text_put(t, ",%s", q);
	free(q);
	cJSON_Delete(j);
}

static void
hex_item(struct text *t, const char *p, size_t n)
{
	char	*h = hex_encode(p, n);

	text_put(t, ",\"%s\"", h);
	free(h);
}

/*
 * A worker as an array (include/state.h), printed directly: with 1000s
 * of workers a tree of their items would be most of the update's pause.
 */
static cJSON *
worker_json(struct fdset *s, struct worker *w)
{
	double		 v[WF_NUMBERS];
	struct text	 t = { NULL, 0, 0 };
	cJSON		*m, *raw;
	const char	*op, *ep;
	char		*q;
	size_t		 olen, elen, i;

	v[WF_INSTANCE] = w->instance;
	v[WF_ID] = w->id;
	v[WF_PM_ID] = w->pm_id;
	v[WF_PID] = w->pid;
	v[WF_LAST_PID] = w->last_pid;
	v[WF_PIDFD] = w->pid > 0 ? fds_add(s, child_pidfd(&w->child)) : -1;
	v[WF_STATE] = w->sm.state;
	v[WF_WANT] = w->sm.want;
	v[WF_REASON] = w->sm.reason;
	v[WF_UNSTABLE] = w->sm.unstable;
	v[WF_RESTARTS] = w->sm.restarts;
	v[WF_BACKOFF] = (double)w->sm.backoff;
	v[WF_DELAY] = (double)w->sm.delay;
	v[WF_SPAWN_BACKOFF] = (double)w->sm.spawn_backoff;
	v[WF_STARTED] = w->started;
	v[WF_TRACKED] = (double)w->tracked;
	v[WF_LAST_STATUS] = w->last_status;
	v[WF_HAVE_STATUS] = w->have_status;
	v[WF_CRASH_AT] = w->crash_at;
	v[WF_CRASH_UPTIME] = (double)w->crash_uptime;
	v[WF_AWAIT_LISTEN] = w->await_listen;
	v[WF_PROVEN] = w->proven;
	v[WF_STOP_PHASE] = w->stop_phase;
	v[WF_WATCHDOG_FIRED] = w->watchdog_fired;
	v[WF_TIMER] = remaining(&w->timer_w);
	v[WF_WATCHDOG] = remaining(&w->watchdog_w);
	v[WF_NOTIFY] = fds_add(s, w->notify_w.fd);
	v[WF_OUT] = pipe_fd(s, w->out, &op, &olen);
	v[WF_ERR] = pipe_fd(s, w->err, &ep, &elen);
	v[WF_IPC] = fds_add(s, w->ipc.r.fd);
	v[WF_IPC_SKIP] = w->ipc.skip;
	v[WF_IPC_BAD] = w->ipc.bad;
	v[WF_IPC_DROPPED] = w->ipc.dropped_out;
	for (i = 0; i < WF_NUMBERS; i++) {
		if (v[i] == (double)(long long)v[i])
			text_put(&t, "%c%lld", i ? ',' : '[', (long long)v[i]);
		else
			text_put(&t, "%c%.17g", i ? ',' : '[', v[i]);
	}
	text_item(&t, w->exec_error);
	text_item(&t, w->status_text);
	text_item(&t, w->exit_reason);
	hex_item(&t, op, olen);
	hex_item(&t, ep, elen);
	hex_item(&t, w->tail != NULL ? w->tail->buf : NULL, w->tail != NULL ?
	    w->tail->len : 0);
	hex_item(&t, w->ipc.in, w->ipc.inlen);
	hex_item(&t, w->ipc.out + w->ipc.outoff, w->ipc.outlen -
	    w->ipc.outoff);
	m = cJSON_CreateObject();
	for (i = 0; i < w->ipc.nmetrics; i++)
		cJSON_AddNumberToObject(m, w->ipc.metrics[i].name,
		    w->ipc.metrics[i].value);
	q = cJSON_PrintUnformatted(m);
	cJSON_Delete(m);
	text_put(&t, ",%s]", q);
	free(q);
	raw = cJSON_CreateRaw(t.s);
	free(t.s);
	return raw;
}

static cJSON *
fds_json(struct fdset *s, const int *fds, size_t n)
{
	cJSON	*a = cJSON_CreateArray();
	size_t	 i;

	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(a, fd_json(s, fds[i]));
	return a;
}

static cJSON *
app_json(struct fdset *s, struct app *a)
{
	cJSON		*o = cJSON_CreateObject(), *slots, *out, *ws;
	unsigned	 i;

	cJSON_AddItemToObject(o, "cfg", cfg_json(a->cfg));
	add_str(o, "profile", a->profile);
	if (a->base_env != NULL)
		cJSON_AddItemToObject(o, "base_env", strv_json(a->base_env));
	cJSON_AddBoolToObject(o, "adhoc", a->adhoc);
	cJSON_AddItemToObject(o, "learned", strv_json(a->learned));
	if (a->widened != NULL)
		cJSON_AddItemToObject(o, "widened", strv_json(a->widened));
	cJSON_AddNumberToObject(o, "nlisten", (double)a->nlisten);
	cJSON_AddItemToObject(o, "listen_fds", fds_json(s, a->listen_fds,
	    a->listen_fds != NULL ? a->nlisten : 0));
	slots = cJSON_AddArrayToObject(o, "slots");
	out = cJSON_AddArrayToObject(o, "slot_out");
	for (i = 0; i < a->nslot_fds; i++) {
		cJSON_AddItemToArray(slots, a->slot_fds[i] == NULL ?
		    cJSON_CreateNull() : fds_json(s, a->slot_fds[i], a->nlisten));
		cJSON_AddItemToArray(out, cJSON_CreateNumber(a->slot_out[i]));
	}
	add_str(o, "listen_error", a->listen_error);
	add_str(o, "reload_error", a->reload_error);
	cJSON_AddNumberToObject(o, "reloads", a->reloads);
	cJSON_AddNumberToObject(o, "reloads_failed", a->reloads_failed);
	cJSON_AddBoolToObject(o, "held", a->held);
	cJSON_AddNumberToObject(o, "held_instance", a->held_instance);
	add_str(o, "held_for", a->held_for);
	cJSON_AddBoolToObject(o, "stop_pending", a->stop_pending);
	ws = cJSON_AddArrayToObject(o, "workers");
	for (i = 0; i < a->nworkers; i++)
		cJSON_AddItemToArray(ws, worker_json(s, a->workers[i]));
	return o;
}

struct hooks_out {
	cJSON		*list;
	struct fdset	*s;
};

/*
 * A hook still running: its pid, pidfd, output pipe, time and line. One
 * without a pidfd (pmd without them) is not carried: reaped as an orphan.
 */
static void
hook_one(const struct hook_state *st, void *arg)
{
	struct hooks_out	*out = arg;
	cJSON			*o;
	char			*hex;

	if (st->pidfd == -1)
		return;		/* no pidfd to name it: left, as an orphan */
	o = cJSON_CreateObject();
	hex = hex_encode(st->line, st->len);
	cJSON_AddStringToObject(o, "what", st->what);
	cJSON_AddNumberToObject(o, "pid", st->pid);
	cJSON_AddItemToObject(o, "pidfd", fd_json(out->s, st->pidfd));
	cJSON_AddItemToObject(o, "out", fd_json(out->s, st->out));
	cJSON_AddNumberToObject(o, "left", st->left);
	cJSON_AddStringToObject(o, "line", hex);
	free(hex);
	cJSON_AddItemToArray(out->list, o);
}

static void
event_one(const struct event *e, void *arg)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "time", e->time);
	add_str(o, "app", e->app);
	cJSON_AddNumberToObject(o, "instance", e->instance);
	cJSON_AddNumberToObject(o, "pid", e->pid);
	add_str(o, "type", e->type);
	add_str(o, "text", e->text);
	add_str(o, "data", e->data);
	cJSON_AddItemToArray(arg, o);
}

/*
 * The state of this pmd as JSON text, with the daemon's part (d) and the
 * fds it names in *fds (*nfds of them), which must stay open for the next.
 */
char *
state_write(const struct state_daemon *d, int **fds, size_t *nfds)
{
	struct fdset	 s = { NULL, 0, 0 };
	struct hooks_out hooks;
	cJSON		*root = cJSON_CreateObject(), *o, *list;
	struct app	*a;
	char		*text, **f;
	size_t		 i;

	cJSON_AddNumberToObject(root, "version", STATE_VERSION);
	cJSON_AddStringToObject(root, "pmd", PMD_VERSION);
	cJSON_AddNumberToObject(root, "written", mono_now());
	o = cJSON_AddObjectToObject(root, "daemon");
	cJSON_AddItemToObject(o, "lock", fd_json(&s, d->lock));
	cJSON_AddItemToObject(o, "control", fd_json(&s, d->control));
	cJSON_AddItemToObject(o, "http", fd_json(&s, d->http));
	add_str(o, "http_url", d->http_url);
	cJSON_AddItemToObject(o, "handoff", fd_json(&s, d->handoff));
	add_str(o, "handoff_name", d->handoff_name);
	cJSON_AddItemToObject(o, "client", fd_json(&s, d->client));
	cJSON_AddNumberToObject(o, "client_uid", d->client_uid);
	cJSON_AddNumberToObject(o, "client_gid", d->client_gid);
	cJSON_AddNumberToObject(o, "client_pid", d->client_pid);
	cJSON_AddNumberToObject(o, "fd_base", d->fd_base);
	cJSON_AddNumberToObject(o, "nofile", d->nofile.rlim_cur ==
	    RLIM_INFINITY ? -1 : (double)d->nofile.rlim_cur);
	cJSON_AddNumberToObject(o, "nofile_max", d->nofile.rlim_max ==
	    RLIM_INFINITY ? -1 : (double)d->nofile.rlim_max);
	cJSON_AddBoolToObject(o, "booting", d->booting);
	cJSON_AddNumberToObject(o, "worker_last_id", worker_last_id);
	list = cJSON_AddArrayToObject(o, "followers");
	for (i = 0; i < d->nfollowers; i++) {
		const struct follower *f = &d->followers[i];
		cJSON *e = cJSON_CreateObject();
		cJSON_AddItemToObject(e, "fd", fd_json(&s, f->fd));
		cJSON_AddBoolToObject(e, "events", f->events);
		add_str(e, "app", f->app);
		cJSON_AddBoolToObject(e, "ns", f->ns);
		cJSON_AddNumberToObject(e, "mask", f->mask);
		cJSON_AddNumberToObject(e, "uid", f->uid);
		cJSON_AddNumberToObject(e, "gid", f->gid);
		cJSON_AddNumberToObject(e, "pid", f->pid);
		cJSON_AddItemToArray(list, e);
	}
	list = cJSON_AddArrayToObject(o, "extra");
	for (f = config->extra; f != NULL && *f != NULL; f++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "file", *f);
		cJSON_AddNumberToObject(e, "owner",
		    config->extra_owner[f - config->extra]);
		cJSON_AddItemToArray(list, e);
	}
	list = cJSON_AddArrayToObject(root, "events");
	events_each(NULL, SIZE_MAX, event_one, list);
	hooks.list = cJSON_AddArrayToObject(root, "hooks");
	hooks.s = &s;
	hooks_each(hook_one, &hooks);
	list = cJSON_AddArrayToObject(root, "apps");
	TAILQ_FOREACH(a, &apps, entry)
		cJSON_AddItemToArray(list, app_json(&s, a));
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	*fds = s.fds;
	*nfds = s.n;
	return text;
}

