/*
 * Reading the state (state-write.c writes it, state-check.c checks it).
 * What pmctl update carries from one pmd to the next in the same process
 * (update.c runs the exec): every app with its config as it runs, every
 * worker slot with its process, counters and timers, the event ring, the
 * hooks still running, the daemon's own sockets, and the fds all of these
 * hold, named by number (the exec keeps them open). It is JSON with a
 * version (STATE_VERSION; ARCHITECTURE.md gives the rule for changing
 * it). state_apply() builds the apps and workers of a checked state,
 * which start nothing and bind nothing.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
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

/* Applying: the tree was checked, so only a key's value can still fail. */
static char **
strings_of(const cJSON *a)
{
	const cJSON	*v;
	char		**out = NULL;

	cJSON_ArrayForEach(v, a)
		strv_add(&out, v->valuestring);
	return out;
}

static int
cfg_keys(struct app_config *cfg, const cJSON *keys, char **cause)
{
	const struct app_key	*k;
	const cJSON		*v;
	char			*why;

	cJSON_ArrayForEach(v, keys) {
		if ((k = key_find(v->string)) == NULL || !cJSON_IsString(v)) {
			*cause = xprintf("app %s: key %s: not one this pmd knows",
			    cfg->name, v->string);
			return -1;
		}
		if (key_set(k, cfg, v->valuestring, cfg->cwd, &why) == -1) {
			*cause = xprintf("app %s: %s: %s", cfg->name, k->name,
			    why);
			free(why);
			return -1;
		}
	}
	return 0;
}

/* An app's config as it ran: NULL with *cause naming the key. */
static struct app_config *
cfg_read(const cJSON *o, char **cause)
{
	struct app_config	*cfg;
	const cJSON		*v;
	const char		*s;
	struct envvar		*e;

	cfg = appcfg_adhoc(str_of(o, "name"), strings_of(
	    cJSON_GetObjectItemCaseSensitive(o, "argv")), str_of(o, "cwd"), 1);
	if ((s = str_of(o, "file")) != NULL)
		cfg->file = xstrdup(s);
	cfg->line = (int)num_of(o, "line");
	if ((s = str_of(o, "command")) != NULL) {
		free(cfg->command);
		cfg->command = xstrdup(s);
	}
	cfg->owner = num_of(o, "owner") < 0 ? OWNER_NONE :
	    (uid_t)num_of(o, "owner");
	cfg->after_line = (int)num_of(o, "after_line");
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(o, "env")) {
		if (str_of(v, "key") == NULL || str_of(v, "value") == NULL)
			continue;
		cfg->env = xrealloc(cfg->env, (cfg->nenv + 1) * sizeof *e);
		e = &cfg->env[cfg->nenv++];
		e->profile = (s = str_of(v, "profile")) ? xstrdup(s) : NULL;
		e->key = xstrdup(str_of(v, "key"));
		e->value = xstrdup(str_of(v, "value"));
	}
	if (cfg_keys(cfg, cJSON_GetObjectItemCaseSensitive(o, "keys"),
	    cause) == -1) {
		appcfg_unref(cfg);
		return NULL;
	}
	return cfg;
}

static int *
fds_of(const cJSON *a, size_t *n)
{
	const cJSON	*v;
	int		*fds;

	*n = (size_t)cJSON_GetArraySize(a);
	if (*n == 0)
		return NULL;
	fds = xcalloc(*n, sizeof *fds);
	*n = 0;
	cJSON_ArrayForEach(v, a)
		fds[(*n)++] = (int)v->valuedouble;
	return fds;
}

static void
metrics_read(struct worker *w, const cJSON *m)
{
	const cJSON	*v;
	size_t		 n = (size_t)cJSON_GetArraySize(m);

	if (n == 0)
		return;
	w->ipc.metrics = xcalloc(n, sizeof *w->ipc.metrics);
	cJSON_ArrayForEach(v, m) {
		if (!cJSON_IsNumber(v))
			continue;
		w->ipc.metrics[w->ipc.nmetrics].name = xstrdup(v->string);
		w->ipc.metrics[w->ipc.nmetrics++].value = v->valuedouble;
	}
}

/* A copy of v's text, or NULL (v is not a string). */
static char *
text_of(const cJSON *v)
{
	return cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
}

static char *
dup_of(const cJSON *o, const char *k)
{
	return text_of(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* The fields of a slot, then its process's fds and timers (worker.c). */
static void
worker_read(struct worker *w, const cJSON *o)
{
	const cJSON		*it[WF_COUNT];
	double			 v[WF_NUMBERS];
	struct worker_carry	 c;
	char			*tail, *in, *out;
	size_t			 n, inlen, outlen, i;

	worker_items(o, it);	/* checked */
	for (i = 0; i < WF_NUMBERS; i++)
		v[i] = it[i]->valuedouble;
	w->id = (unsigned)v[WF_ID];
	w->pid = (pid_t)v[WF_PID];
	w->last_pid = (pid_t)v[WF_LAST_PID];
	w->sm.state = (enum wstate)v[WF_STATE];
	w->sm.want = (enum want)v[WF_WANT];
	w->sm.reason = (enum wreason)v[WF_REASON];
	w->sm.unstable = (unsigned)v[WF_UNSTABLE];
	w->sm.restarts = (unsigned)v[WF_RESTARTS];
	w->sm.backoff = (uint64_t)v[WF_BACKOFF];
	w->sm.delay = (uint64_t)v[WF_DELAY];
	w->sm.spawn_backoff = (uint64_t)v[WF_SPAWN_BACKOFF];
	w->started = v[WF_STARTED];
	w->tracked = (unsigned long long)v[WF_TRACKED];
	w->last_status = (int)v[WF_LAST_STATUS];
	w->have_status = v[WF_HAVE_STATUS] != 0;
	w->crash_at = v[WF_CRASH_AT];
	w->crash_uptime = (uint64_t)v[WF_CRASH_UPTIME];
	w->await_listen = v[WF_AWAIT_LISTEN] != 0;
	w->proven = v[WF_PROVEN] != 0;
	/* Not in the state: one that runs may accept on the app's sockets. */
	w->handed = w->pid > 0;
	w->stop_phase = (int)v[WF_STOP_PHASE];
	w->watchdog_fired = v[WF_WATCHDOG_FIRED] != 0;
	w->exec_error = text_of(it[WF_EXEC_ERROR]);
	w->status_text = text_of(it[WF_STATUS_TEXT]);
	w->exit_reason = text_of(it[WF_EXIT_REASON]);
	if (hex_bytes(it[WF_TAIL], &tail, &n) == 0 && n > 0) {
		tail_append(&w->tail, tail, n);
		free(tail);
	}
	w->ipc.bad = (unsigned long)v[WF_IPC_BAD];
	w->ipc.dropped_out = (unsigned long)v[WF_IPC_DROPPED];
	metrics_read(w, it[WF_METRICS]);

	memset(&c, 0, sizeof c);
	c.pidfd = (int)v[WF_PIDFD];
	c.out_fd = (int)v[WF_OUT];
	c.err_fd = (int)v[WF_ERR];
	hex_bytes(it[WF_OUT_PARTIAL], &c.out_partial, &c.out_plen);
	hex_bytes(it[WF_ERR_PARTIAL], &c.err_partial, &c.err_plen);
	c.notify_fd = (int)v[WF_NOTIFY];
	c.timer = v[WF_TIMER];
	c.watchdog = v[WF_WATCHDOG];
	worker_adopt(w, &c);
	free(c.out_partial);
	free(c.err_partial);
	if ((c.ipc_fd = (int)v[WF_IPC]) != -1) {
		hex_bytes(it[WF_IPC_IN], &in, &inlen);
		hex_bytes(it[WF_IPC_OUT], &out, &outlen);
		ipc_adopt(w, c.ipc_fd, in, inlen, (int)v[WF_IPC_SKIP], out,
		    outlen);
	}
}

static int
app_read(const cJSON *o, char **cause)
{
	const cJSON	*ws = cJSON_GetObjectItemCaseSensitive(o, "workers");
	const cJSON	*slots = cJSON_GetObjectItemCaseSensitive(o, "slots");
	const cJSON	*v, *out;
	struct app_config *cfg;
	struct app	*a;
	unsigned	 n = (unsigned)cJSON_GetArraySize(ws), i = 0, *ids;
	int		**slot_fds = NULL;
	unsigned char	*slot_out = NULL;
	size_t		 ns = (size_t)cJSON_GetArraySize(slots), nl, k;
	int		*fds;

	if ((cfg = cfg_read(cJSON_GetObjectItemCaseSensitive(o, "cfg"),
	    cause)) == NULL)
		return -1;
	ids = xcalloc(n + 1, sizeof *ids);
	cJSON_ArrayForEach(v, ws)
		ids[i++] = (unsigned)cJSON_GetArrayItem(v, WF_PM_ID)->valuedouble;
	a = app_adopt(cfg, strings_of(cJSON_GetObjectItemCaseSensitive(o,
	    "base_env")), cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o,
	    "adhoc")), str_of(o, "profile"), n, ids);
	appcfg_unref(cfg);
	free(ids);
	if (ns > 0) {
		slot_fds = xcalloc(ns, sizeof *slot_fds);
		slot_out = xcalloc(ns, 1);
	}
	out = cJSON_GetObjectItemCaseSensitive(o, "slot_out")->child;
	k = 0;
	cJSON_ArrayForEach(v, slots) {
		slot_fds[k] = cJSON_IsNull(v) ? NULL : fds_of(v, &nl);
		slot_out[k++] = (unsigned char)cJSON_GetNumberValue(out);
		out = out->next;
	}
	fds = fds_of(cJSON_GetObjectItemCaseSensitive(o, "listen_fds"), &nl);
	listen_adopt(a, fds, (size_t)num_of(o, "nlisten"), slot_fds, slot_out,
	    (unsigned)ns, strings_of(cJSON_GetObjectItemCaseSensitive(o,
	    "learned")));
	a->widened = strings_of(cJSON_GetObjectItemCaseSensitive(o,
	    "widened"));
	if (argv_count(a->widened) != argv_count(a->cfg->listen)) {
		argv_free(a->widened);	/* not this config's: as bound */
		a->widened = NULL;
	}
	a->listen_error = dup_of(o, "listen_error");
	a->reload_error = dup_of(o, "reload_error");
	a->reloads = (unsigned long)num_of(o, "reloads");
	a->reloads_failed = (unsigned long)num_of(o, "reloads_failed");
	a->held = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "held"));
	a->held_instance = (int)num_of(o, "held_instance");
	a->held_for = dup_of(o, "held_for");
	a->stop_pending = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o,
	    "stop_pending"));
	i = 0;
	cJSON_ArrayForEach(v, ws)
		worker_read(a->workers[i++], v);
	return 0;
}

static void
events_read(const cJSON *list)
{
	const cJSON	*v;
	struct event	 e;

	cJSON_ArrayForEach(v, list) {
		if (str_of(v, "type") == NULL || str_of(v, "text") == NULL)
			continue;
		e.time = num_of(v, "time");
		e.app = (char *)str_of(v, "app");
		e.instance = (int)num_of(v, "instance");
		e.pid = (long)num_of(v, "pid");
		e.type = (char *)str_of(v, "type");
		e.text = (char *)str_of(v, "text");
		e.data = (char *)str_of(v, "data");
		event_restore(&e);
	}
}

/* The hooks of a checked state, taken over. */
static void
hooks_read(const cJSON *list)
{
	const cJSON		*v;
	struct hook_state	 st;
	char			*line;

	cJSON_ArrayForEach(v, list) {
		if (hex_bytes(cJSON_GetObjectItemCaseSensitive(v, "line"),
		    &line, &st.len) == -1)
			continue;	/* (checked) */
		st.what = str_of(v, "what");
		st.pid = (pid_t)num_of(v, "pid");
		st.pidfd = (int)num_of(v, "pidfd");
		st.out = (int)num_of(v, "out");
		st.left = num_of(v, "left");
		st.line = line;
		hooks_adopt(&st);
		free(line);
	}
}

/* The followers of a checked state (*list, strings in root): n of them. */
size_t
state_followers(const cJSON *root, struct follower **list)
{
	const cJSON	*d = cJSON_GetObjectItemCaseSensitive(root, "daemon");
	const cJSON	*v;
	struct follower	*f;
	size_t		 n = 0;

	*list = NULL;
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(d,
	    "followers")) {
		*list = xrealloc(*list, (n + 1) * sizeof **list);
		f = &(*list)[n++];
		f->fd = (int)num_of(v, "fd");
		f->events = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v,
		    "events"));
		f->app = str_of(v, "app");
		f->ns = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "ns"));
		f->mask = (int)num_of(v, "mask");
		f->uid = (uid_t)num_of(v, "uid");
		f->gid = (gid_t)num_of(v, "gid");
		f->pid = (pid_t)num_of(v, "pid");
	}
	return n;
}

/* The daemon's part of a checked state. */
void
state_daemon(const cJSON *root, struct state_daemon *d)
{
	const cJSON	*o = cJSON_GetObjectItemCaseSensitive(root, "daemon");

	memset(d, 0, sizeof *d);
	d->lock = (int)num_of(o, "lock");
	d->control = (int)num_of(o, "control");
	d->http = (int)num_of(o, "http");
	d->http_url = str_of(o, "http_url");
	d->handoff = (int)num_of(o, "handoff");
	d->handoff_name = str_of(o, "handoff_name");
	d->client = (int)num_of(o, "client");
	d->client_uid = (uid_t)num_of(o, "client_uid");
	d->client_gid = (gid_t)num_of(o, "client_gid");
	d->client_pid = (pid_t)num_of(o, "client_pid");
	d->fd_base = (unsigned)num_of(o, "fd_base");
	d->nofile.rlim_cur = num_of(o, "nofile") < 0 ? RLIM_INFINITY :
	    (rlim_t)num_of(o, "nofile");
	d->nofile.rlim_max = num_of(o, "nofile_max") < 0 ? RLIM_INFINITY :
	    (rlim_t)num_of(o, "nofile_max");
	d->booting = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o,
	    "booting"));
	d->written = num_of(root, "written");
	d->version = str_of(root, "pmd");
}

/*
 * Build the apps and workers of a checked state, the event ring and the
 * extra config files; -1 with *cause if an app's config does not load
 * (then the apps before it exist: the caller hands back, never runs on).
 */
int
state_apply(const cJSON *root, char **cause)
{
	const cJSON	*o = cJSON_GetObjectItemCaseSensitive(root, "daemon");
	const cJSON	*v;

	worker_last_id = (unsigned)num_of(o, "worker_last_id");
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(o, "extra")) {
		if (str_of(v, "file") != NULL && !strv_has(config->extra,
		    str_of(v, "file")))
			config_add_extra(config, str_of(v, "file"),
			    (uid_t)num_of(v, "owner"));
	}
	events_read(cJSON_GetObjectItemCaseSensitive(root, "events"));
	hooks_read(cJSON_GetObjectItemCaseSensitive(root, "hooks"));
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(root, "apps")) {
		if (app_read(v, cause) == -1)
			return -1;
	}
	return 0;
}
