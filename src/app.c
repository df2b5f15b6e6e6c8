/*
 * The registry of apps: each app's config, its instance slots, its log
 * files and what the user wants of it. Commands act on apps through
 * app_apply(); slots being scaled away and apps being deleted are freed by
 * app_settle_all() once their processes are gone, outside any callback.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"

extern char **environ;

struct app_list apps = TAILQ_HEAD_INITIALIZER(apps);
char *log_dir;

struct app *
app_find(const char *name)
{
	struct app	*a;

	TAILQ_FOREACH(a, &apps, entry) {
		if (strcmp(a->name, name) == 0)
			return a;
	}
	return NULL;
}

static ev_tstamp
cron_when(ev_periodic *p, ev_tstamp now)
{
	struct app	*a = container_of(p, struct app, cron_w);
	time_t		 t = cron_next(&a->cfg->cron, (time_t)now);

	return t == (time_t)-1 ? now + 1e9 : (ev_tstamp)t;
}

/*
 * cron_restart and watch: the same rolling replacement as pmctl reload,
 * with the config the app runs. Instances that gave up (errored) start
 * again: the change may be their fix. While a reload runs, this one
 * waits for it to end (app_settle_all).
 */
void
app_rolling(struct app *a, const char *what)
{
	char		*why;
	unsigned	 i;

	if (daemon_stopping || a->deleting)
		return;
	if (a->reload != NULL) {
		if (a->rolling == NULL)
			log_info("%s: %s: restarting after the running reload",
			    a->name, what);
		free(a->rolling);
		a->rolling = xstrdup(what);
		return;
	}
	log_info("%s: %s: restarting", a->name, what);
	if (reload_begin(a, a->cfg, -1, &why) == -1) {
		log_warn("%s: %s: %s", a->name, what, why);
		free(why);
		return;
	}
	/* Spawned after the reload began, these are not replaced again. */
	for (i = 0; i < a->nworkers; i++) {
		if (!a->workers[i]->leaving &&
		    a->workers[i]->sm.state == W_ERRORED)
			worker_event(a->workers[i], E_RESET);
	}
}

static void
cron_cb(struct ev_loop *loop, ev_periodic *p, int revents)
{
	struct app	*a = container_of(p, struct app, cron_w);
	char		*what;

	(void)loop; (void)revents;
	what = xprintf("cron_restart \"%s\"", a->cfg->cron_text);
	app_rolling(a, what);
	free(what);
}

/*
 * max_memory_restart: a worker over the limit is replaced. With listen,
 * the new one is online before the old one stops (one at a time); other
 * apps' workers are restarted.
 */
static void
memory_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct app	*a = container_of(t, struct app, memory_w);
	struct worker	*w;
	struct pstat	 ps;
	unsigned	 i;
	char		*why;

	(void)loop; (void)revents;
	for (i = 0; i < a->nworkers && !daemon_stopping; i++) {
		w = a->workers[i];
		if (w->leaving || w->pid <= 0 || w->sm.state != W_ONLINE ||
		    proc_stat(w->pid, &ps) == -1 || ps.rss <= a->cfg->max_memory)
			continue;
		if (a->cfg->listen != NULL && a->reload != NULL)
			return;		/* one at a time; the next check */
		log_warn("%s:%u: pid %ld uses %.1fM, over max_memory_restart "
		    "(%.1fM): replacing it", a->name, i, (long)w->pid,
		    ps.rss / 1048576.0, a->cfg->max_memory / 1048576.0);
		if (a->cfg->listen == NULL) {
			worker_event(w, E_RESTART);
			continue;
		}
		if (reload_begin(a, a->cfg, (int)i, &why) == -1) {
			log_warn("%s:%u: %s", a->name, i, why);
			free(why);
		}
		return;
	}
}

/* Arm the timers a->cfg asks for, and only those: none, idle. */
static void
app_timers(struct app *a)
{
	struct app_config	*cfg = a->cfg;
	double			 every = cfg->memory_interval / 1000.0;

	a->timers_cfg = cfg;
	ev_periodic_stop(EV_DEFAULT, &a->cron_w);
	ev_timer_stop(EV_DEFAULT, &a->memory_w);
	watch_free(a->watch);
	a->watch = NULL;
	if (a->deleting || daemon_stopping)
		return;
	a->watch = watch_new(a);
	if (cfg->cron_text != NULL) {
		ev_periodic_set(&a->cron_w, 0, 0, cron_when);
		ev_periodic_start(EV_DEFAULT, &a->cron_w);
	}
	if (cfg->max_memory > 0) {
		ev_timer_set(&a->memory_w, every, every);
		ev_timer_start(EV_DEFAULT, &a->memory_w);
	}
}

/*
 * Create and start an app. Takes a reference to cfg, and base_env (NULL
 * for pmd's own environment); profile chooses env_PROFILE.* keys.
 */
struct app *
app_create(struct app_config *cfg, char **base_env, int adhoc,
    const char *profile)
{
	return app_restore(cfg, base_env, adhoc, profile,
	    instances_resolve(cfg->instances, daemon_ncpu()), NULL);
}

/*
 * The same with n instances, those i with held[i] set left stopped as
 * `pmctl stop` leaves them (resurrect brings back a saved set so).
 */
struct app *
app_restore(struct app_config *cfg, char **base_env, int adhoc,
    const char *profile, unsigned n, const char *held)
{
	struct app	*a = xcalloc(1, sizeof *a);
	unsigned	 i;

	appcfg_ref(cfg);
	a->cfg = cfg;
	a->name = xstrdup(cfg->name);
	a->base_env = base_env;
	a->adhoc = adhoc;
	a->profile = profile != NULL ? xstrdup(profile) : NULL;
	TAILQ_INSERT_TAIL(&apps, a, entry);
	app_listen(a);
	ev_periodic_init(&a->cron_w, cron_cb, 0, 0, cron_when);
	ev_init(&a->memory_w, memory_cb);
	app_timers(a);
	a->workers = xcalloc(n, sizeof *a->workers);
	for (i = 0; i < n; i++) {
		a->workers[i] = worker_new(a, i);
		if (held != NULL && held[i])
			a->workers[i]->sm.reason = R_USER;
	}
	a->nworkers = n;
	app_scale(a, n);
	return a;
}

/*
 * Bind the app's sockets unless it holds them. On failure the app's
 * workers cannot start: listen_error says why, and each start retries.
 */
int
app_listen(struct app *a)
{
	char	*cause;

	if (a->cfg->listen == NULL || a->nlisten > 0)
		return 0;
	if (listen_open(a->cfg, &a->listen_fds, &a->nlisten, &cause) == -1) {
		log_warn("%s: %s", a->name, cause);
		free(a->listen_error);
		a->listen_error = cause;
		return -1;
	}
	free(a->listen_error);
	a->listen_error = NULL;
	return 0;
}

static void
app_free(struct app *a)
{
	unsigned	i;

	TAILQ_REMOVE(&apps, a, entry);
	ev_periodic_stop(EV_DEFAULT, &a->cron_w);
	ev_timer_stop(EV_DEFAULT, &a->memory_w);
	watch_free(a->watch);
	free(a->rolling);
	for (i = 0; i < a->nworkers; i++)
		worker_free(a->workers[i]);
	free(a->workers);
	reload_free(a);
	listen_close(a->cfg, a->listen_fds, a->nlisten);
	free(a->listen_error);
	free(a->reload_error);
	appcfg_unref(a->successor);
	appcfg_unref(a->cfg);
	argv_free(a->base_env);
	free(a->profile);
	free(a->name);
	free(a);
}

/* Feed ev to one instance (or all, instance -1) of a. */
void
app_apply(struct app *a, enum wevent ev, int instance)
{
	unsigned	i;

	if ((ev == E_START || ev == E_RESTART || ev == E_RESET) &&
	    app_listen(a) == -1)
		return;
	for (i = 0; i < a->nworkers; i++) {
		if (instance >= 0 && (unsigned)instance != i)
			continue;
		if (a->workers[i]->leaving)
			continue;
		worker_event(a->workers[i], ev);
	}
}

/*
 * Grow to n slots (new ones start at once) or mark the slots from n up as
 * leaving: they stop, and app_settle_all() frees them.
 */
void
app_scale(struct app *a, unsigned n)
{
	unsigned	i;

	if (n > a->nworkers) {
		a->workers = xrealloc(a->workers, n * sizeof *a->workers);
		for (i = a->nworkers; i < n; i++)
			a->workers[i] = worker_new(a, i);
		a->nworkers = n;
	}
	for (i = 0; i < a->nworkers; i++) {
		if (i < n && a->workers[i]->leaving) {
			a->workers[i]->leaving = 0;
			worker_event(a->workers[i], E_START);
		} else if (i < n && a->workers[i]->sm.state == W_STOPPED &&
		    a->workers[i]->sm.reason == R_NONE &&
		    a->listen_error == NULL)
			worker_event(a->workers[i], E_START);	/* new slot */
		else if (i >= n && !a->workers[i]->leaving) {
			a->workers[i]->leaving = 1;
			worker_event(a->workers[i], E_STOP);
		}
	}
}

void
app_delete(struct app *a)
{
	a->deleting = 1;
	app_timers(a);
	reload_abort(a);
	app_apply(a, E_STOP, -1);
	daemon_dirty();
}

/* a has stopped for good: free it, or start its successor in its place. */
static void
app_gone(struct app *a)
{
	struct app_config	*next = a->successor;
	char			*profile = a->profile;

	a->successor = NULL;
	a->profile = NULL;
	if (!daemon_stopping && next == NULL)
		log_info("%s: deleted", a->name);
	app_free(a);
	if (next != NULL && !daemon_stopping) {
		log_info("%s: starting again from %s:%d", next->name,
		    next->file, next->line);
		app_create(next, NULL, 0, profile);
	}
	appcfg_unref(next);
	free(profile);
}

void
app_settle_all(void)
{
	struct app	*a, *next;
	unsigned	 i;
	int		 idle;

	for (a = TAILQ_FIRST(&apps); a != NULL; a = next) {
		next = TAILQ_NEXT(a, entry);
		reload_settle(a);
		if (a->timers_cfg != a->cfg)
			app_timers(a);	/* reloaded: the new cron, limit */
		if (a->rolling != NULL && a->reload == NULL) {
			char	*what = a->rolling;

			a->rolling = NULL;
			app_rolling(a, what);
			free(what);
		}
		while (a->nworkers > 0 &&
		    a->workers[a->nworkers - 1]->leaving &&
		    worker_idle(a->workers[a->nworkers - 1]))
			worker_free(a->workers[--a->nworkers]);
		if (!a->deleting)
			continue;
		idle = a->reload == NULL;
		for (i = 0; i < a->nworkers; i++)
			idle = idle && worker_idle(a->workers[i]);
		if (idle)
			app_gone(a);
	}
}

int
app_all_stopped(void)
{
	struct app	*a;
	unsigned	 i;

	TAILQ_FOREACH(a, &apps, entry) {
		if (!reload_idle(a))
			return 0;
		for (i = 0; i < a->nworkers; i++) {
			if (!worker_idle(a->workers[i]))
				return 0;
		}
	}
	return 1;
}

/*
 * Whether the workers a command acted on have done what it asked: with
 * down, no process is left; otherwise none is starting or stopping (and
 * a scale has finished). An app that is gone has settled.
 */
int
app_settled(const struct target *t, int down)
{
	struct app	*a;
	struct worker	*w;
	unsigned	 i;

	TAILQ_FOREACH(a, &apps, entry) {
		if (!target_has(t, a))
			continue;
		for (i = 0; i < a->nworkers; i++) {
			w = a->workers[i];
			if (t->instance >= 0 && (unsigned)t->instance != i)
				continue;
			if (down ? !worker_idle(w) : worker_busy(w) || w->leaving)
				return 0;
		}
	}
	return 1;
}

/* "NAME", "NAME:INSTANCE" or "all". */
int
target_parse(const char *s, struct target *t, char **cause)
{
	const char	*colon = strrchr(s, ':');
	unsigned long	 n;
	char		*why;

	t->name = NULL;
	t->names = NULL;
	t->instance = -1;
	if (strcmp(s, "all") == 0)
		return 0;
	if (colon != NULL) {
		if (parse_uint(colon + 1, 4095, &n, &why) == -1) {
			*cause = xprintf("\"%s\": the instance after ':' must be "
			    "a number", s);
			free(why);
			return -1;
		}
		t->instance = (int)n;
		t->name = xstrndup(s, colon - s);
	} else
		t->name = xstrdup(s);
	if (!app_name_valid(t->name)) {
		*cause = xprintf("\"%s\" is not a valid app name", t->name);
		target_clear(t);
		return -1;
	}
	return 0;
}

void
target_clear(struct target *t)
{
	free(t->name);
	t->name = NULL;
	argv_free(t->names);
	t->names = NULL;
}

/* Whether t names a (every app, for "all"). */
int
target_has(const struct target *t, const struct app *a)
{
	if (t->names != NULL)
		return strv_has(t->names, a->name);
	return t->name == NULL || strcmp(t->name, a->name) == 0;
}

struct policy
app_policy(const struct app *a)
{
	struct policy	p;

	p.autorestart = a->cfg->autorestart;
	p.min_uptime = a->cfg->min_uptime;
	p.max_restarts = a->cfg->max_restarts;
	p.restart_delay = a->cfg->restart_delay;
	p.exp_backoff = a->cfg->exp_backoff;
	p.stop_exit_codes = a->cfg->stop_exit_codes;
	return p;
}

/* Variables pmd's own environment must not pass on to workers. */
static const char *const unset_vars[] = {
	"NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
	"PMD_READY_FD",
};

/* Set key=value in *envp; returns the entry. */
static char **
env_set(char ***envp, size_t *n, const char *key, const char *value)
{
	size_t	i, klen = strlen(key);

	for (i = 0; i < *n; i++) {
		if (strncmp((*envp)[i], key, klen) == 0 &&
		    (*envp)[i][klen] == '=') {
			free((*envp)[i]);
			(*envp)[i] = xprintf("%s=%s", key, value);
			return &(*envp)[i];
		}
	}
	*envp = xrealloc(*envp, (*n + 2) * sizeof **envp);
	(*envp)[(*n)++] = xprintf("%s=%s", key, value);
	(*envp)[*n] = NULL;
	return &(*envp)[*n - 1];
}

/*
 * The environment of a new process of w: base, app env, profile, ours.
 * With listening sockets, *pid_slot points where LISTEN_PID's value goes
 * (the child writes its own pid there); notify is the NOTIFY_SOCKET.
 */
char **
app_environ(struct app *a, struct worker *w, const char *notify,
    char **pid_slot)
{
	struct app_config	*cfg = a->cfg;
	char			**base = a->base_env ? a->base_env : environ;
	char			**envp = NULL, buf[32];
	size_t			 n = 0, i, j;

	envp = xcalloc(1, sizeof *envp);
	for (i = 0; base[i] != NULL; i++) {
		for (j = 0; j < nitems(unset_vars); j++) {
			size_t l = strlen(unset_vars[j]);
			if (strncmp(base[i], unset_vars[j], l) == 0 &&
			    base[i][l] == '=')
				break;
		}
		if (j < nitems(unset_vars) || strchr(base[i], '=') == NULL)
			continue;
		envp = xrealloc(envp, (n + 2) * sizeof *envp);
		envp[n++] = xstrdup(base[i]);
		envp[n] = NULL;
	}
	if (cfg->user != NULL && geteuid() == 0) {
		env_set(&envp, &n, "USER", cfg->user);
		env_set(&envp, &n, "LOGNAME", cfg->user);
	}
	for (i = 0; i < cfg->nenv; i++) {
		if (cfg->env[i].profile == NULL)
			env_set(&envp, &n, cfg->env[i].key, cfg->env[i].value);
	}
	for (i = 0; a->profile != NULL && i < cfg->nenv; i++) {
		if (cfg->env[i].profile != NULL &&
		    strcmp(cfg->env[i].profile, a->profile) == 0)
			env_set(&envp, &n, cfg->env[i].key, cfg->env[i].value);
	}
	env_set(&envp, &n, "PMD_APP", a->name);
	snprintf(buf, sizeof buf, "%u", w->instance);
	env_set(&envp, &n, "PMD_INSTANCE", buf);
	env_set(&envp, &n, "NODE_APP_INSTANCE", buf);
	snprintf(buf, sizeof buf, "%u", w->id);
	env_set(&envp, &n, "PMD_WORKER_ID", buf);
	if (notify != NULL)
		env_set(&envp, &n, "NOTIFY_SOCKET", notify);
	*pid_slot = NULL;
	if (a->nlisten > 0) {
		char *names = xcalloc(a->nlisten, strlen(a->name) + 1), **e;
		for (i = 0; i < a->nlisten; i++) {
			if (i > 0)
				strcat(names, ":");
			strcat(names, a->name);
		}
		env_set(&envp, &n, "LISTEN_FDNAMES", names);
		free(names);
		snprintf(buf, sizeof buf, "%zu", a->nlisten);
		env_set(&envp, &n, "LISTEN_FDS", buf);
		/* Room for the pid, which only the child knows. */
		e = env_set(&envp, &n, "LISTEN_PID", "");
		*e = xrealloc(*e, sizeof "LISTEN_PID=" + PID_SLOT_SIZE);
		*pid_slot = *e + sizeof "LISTEN_PID=" - 1;
	}
	return envp;
}

/* The rows of `list`, for one app or (name NULL) all of them. */
cJSON *
app_list_json(const char *name)
{
	cJSON		*rows = cJSON_CreateArray();
	struct app	*a;
	unsigned	 i;

	TAILQ_FOREACH(a, &apps, entry) {
		if (name != NULL && strcmp(name, a->name) != 0)
			continue;
		for (i = 0; i < a->nworkers; i++)
			cJSON_AddItemToArray(rows, worker_json(a->workers[i],
			    0));
	}
	return rows;
}

/*
 * Where instance's stream goes: LOG_DIR/NAME.out.log, or NAME-N.out.log
 * with merge_logs off; out_file and err_file replace the default, with -N
 * before their extension when each instance has its own.
 */
char *
app_log_path(const struct app *a, unsigned instance, int stream)
{
	const char	*file = stream == LOG_ERR ? a->cfg->err_file :
			    a->cfg->out_file;
	const char	*what = stream == LOG_ERR ? "err" : "out";
	const char	*dot, *slash;

	if (file == NULL) {
		if (a->cfg->merge_logs)
			return xprintf("%s/%s.%s.log", log_dir, a->name, what);
		return xprintf("%s/%s-%u.%s.log", log_dir, a->name, instance,
		    what);
	}
	if (a->cfg->merge_logs || strcmp(file, "/dev/null") == 0)
		return xstrdup(file);
	dot = strrchr(file, '.');
	slash = strrchr(file, '/');
	if (dot == NULL || (slash != NULL && dot < slash))
		return xprintf("%s-%u", file, instance);
	return xprintf("%.*s-%u%s", (int)(dot - file), file, instance, dot);
}
