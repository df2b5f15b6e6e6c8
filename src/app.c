/*
 * The registry of apps: each app's config, its instance slots, its log
 * files and what the user wants of it. Commands act on apps through
 * app_apply(); slots being scaled away and apps being deleted are freed by
 * app_settle_all() once their processes are gone, outside any callback.
 */
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmd.h"

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

/*
 * Create and start an app. Takes a reference to cfg, and base_env (NULL
 * for pmd's own environment); profile chooses env_PROFILE.* keys.
 */
struct app *
app_create(struct app_config *cfg, char **base_env, int adhoc,
    const char *profile)
{
	return app_restore(cfg, base_env, adhoc, profile,
	    instances_resolve(cfg->instances, daemon_ncpu()), NULL, NULL);
}

/*
 * fn(w, arg) for at most max more workers from at, in app order. Apps are
 * in the list with a rising serial, so the cursor holds across apps
 * deleted or added between two batches: no worker comes twice, and none
 * whose app stays through the walk is left out. Returns 1 once past the
 * last app.
 */
int
app_walk(struct rows_at *at, unsigned max, void (*fn)(struct worker *, void *),
    void *arg)
{
	struct app	*a;
	unsigned	 made = 0;

	TAILQ_FOREACH(a, &apps, entry) {
		if (a->serial < at->serial)
			continue;
		if (a->serial > at->serial) {
			at->serial = a->serial;
			at->index = 0;
		}
		for (; at->index < a->nworkers; at->index++) {
			if (made++ == max)
				return 0;
			fn(a->workers[at->index], arg);
			at->rows++;
		}
	}
	at->serial = UINT64_MAX;	/* past every app, now and later */
	return 1;
}

/*
 * The same with n instances, those i with held[i] set left stopped as
 * `pmctl stop` leaves them (resurrect brings back a saved set so).
 */
struct app *
app_restore(struct app_config *cfg, char **base_env, int adhoc,
    const char *profile, unsigned n, const char *held, const unsigned *ids)
{
	static uint64_t	 serial;
	struct app	*a = xcalloc(1, sizeof *a);
	unsigned	 i;

	appcfg_ref(cfg);
	a->serial = ++serial;
	a->cfg = cfg;
	a->name = xstrdup(cfg->name);
	a->base_env = base_env;
	a->adhoc = adhoc;
	a->profile = profile != NULL ? xstrdup(profile) : NULL;
	TAILQ_INSERT_TAIL(&apps, a, entry);
	app_listen(a);
	trigger_init(a);
	a->workers = xcalloc(n, sizeof *a->workers);
	for (i = 0; i < n; i++) {
		/* A saved id another slot has taken since gets a new one. */
		a->workers[i] = worker_new(a, i, ids != NULL &&
		    worker_by_id(ids[i]) == NULL ? ids[i] : 0);
		if (held != NULL && held[i])
			worker_event(a->workers[i], E_STOP);	/* held */
	}
	a->nworkers = n;
	app_scale(a, n);
	return a;
}

/*
 * The addresses of the app's sockets: its listen, else those its workers
 * bound first (listen_share); NULL: none.
 */
char *const *
app_urls(const struct app *a)
{
	return a->cfg->listen != NULL ? a->cfg->listen : a->learned;
}

/*
 * Whether the app's sockets are one per instance. Addresses its workers
 * bound (listen_share) are shared unless listen_balance says balanced or
 * sticky: instances may bind different ones (increment_var), and an
 * instance's member of a group it never accepts from would hold
 * connections nobody takes.
 */
static int
app_balanced(const struct app *a)
{
	if (a->cfg->listen == NULL && a->cfg->listen_balance == LISTEN_AUTO)
		return 0;
	return listen_balanced_urls(a->cfg, app_urls(a));
}

/*
 * listen_balance = sticky: (re)attach the filter that hashes clients over
 * the instances' sockets of each address, for as many as are open now.
 */
static int
sticky_attach(struct app *a, char **cause)
{
	unsigned	i, n = 0, first = 0;
	size_t		j;

	if (a->cfg->listen_balance != LISTEN_STICKY)
		return 0;
	for (i = 0; i < a->nslot_fds; i++) {
		if (a->slot_fds[i] != NULL && n++ == 0)
			first = i;
	}
	for (j = 0; n > 0 && j < a->nlisten; j++) {
		if (listen_sticky(a->slot_fds[first][j], n, cause) == -1)
			return -1;
	}
	return 0;
}

static int
listen_failed(struct app *a, char *cause)
{
	int	e = errno;

	log_warn("%s: %s", a->name, cause);
	free(a->listen_error);
	a->listen_error = cause;
	errno = e;
	return -1;
}

/*
 * Bind the app's sockets unless it holds them. On failure the app's
 * workers cannot start: listen_error says why, and each start retries.
 */
int
app_listen(struct app *a)
{
	char	*cause;

	if (app_urls(a) == NULL || a->nlisten > 0 || app_balanced(a))
		return 0;	/* balanced: each instance's, at its start */
	if (listen_open(a->cfg, app_urls(a), &a->listen_fds, &a->nlisten, 0,
	    &cause) == -1)
		return listen_failed(a, cause);
	free(a->listen_error);
	a->listen_error = NULL;
	return 0;
}

/*
 * listen_balance = balanced: instance i's own sockets, SO_REUSEPORT on the
 * app's addresses, bound when its first worker starts and kept across its
 * restarts and reloads (old and new worker share them), closed when the
 * instance is scaled away. The kernel spreads new connections over the
 * group. -1 with listen_error as app_listen.
 */
int
app_listen_slot(struct app *a, unsigned instance)
{
	char *const	*urls = app_urls(a);
	size_t		 i, n = argv_count(urls);
	char		*cause;
	int		*fds;

	if (!app_balanced(a) || n == 0)
		return app_listen(a);
	if (instance < a->nslot_fds && a->slot_fds[instance] != NULL) {
		if (a->slot_out[instance] == SLOT_OUT &&
		    listen_resume(a->cfg, urls, a->slot_fds[instance],
		    a->nlisten, &cause) == -1)
			return listen_failed(a, cause);
		a->slot_out[instance] = SLOT_IN;
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (strncmp(urls[i], "unix:", 5) == 0)
			return listen_failed(a, xprintf("listen %s: "
			    "listen_balance = %s takes tcp:// addresses "
			    "(a unix socket has no SO_REUSEPORT)", urls[i],
			    a->cfg->listen_balance == LISTEN_STICKY ?
			    "sticky" : "balanced"));
	}
	for (i = 0; i < a->nslot_fds && a->slot_fds[i] == NULL; i++)
		;
	if (listen_open(a->cfg, urls, &fds, &n, i == a->nslot_fds,
	    &cause) == -1)
		return listen_failed(a, cause);
	if (instance >= a->nslot_fds) {
		a->slot_fds = xrealloc(a->slot_fds, (instance + 1) *
		    sizeof *a->slot_fds);
		memset(a->slot_fds + a->nslot_fds, 0, (instance + 1 -
		    a->nslot_fds) * sizeof *a->slot_fds);
		a->slot_out = xrealloc(a->slot_out, instance + 1);
		memset(a->slot_out + a->nslot_fds, SLOT_IN, instance + 1 -
		    a->nslot_fds);
		a->nslot_fds = instance + 1;
	}
	a->slot_fds[instance] = fds;
	a->nlisten = n;
	if (sticky_attach(a, &cause) == -1) {
		listen_close(urls, fds, n);
		a->slot_fds[instance] = NULL;
		return listen_failed(a, cause);
	}
	free(a->listen_error);
	a->listen_error = NULL;
	return 0;
}

/* The sockets a worker of instance gets: the app's, or its own. */
const int *
app_sockets(const struct app *a, unsigned instance)
{
	if (app_balanced(a) &&
	    instance < a->nslot_fds && a->slot_fds[instance] != NULL)
		return a->slot_fds[instance];
	return a->listen_fds;
}

/*
 * listen_share: whether a's workers bind through pmd what they bind
 * first, so that its instances share it as with listen. Decided at each
 * spawn: several instances, no listen of its own.
 */
int
app_shares_binds(const struct app *a)
{
	return a->cfg->listen == NULL && a->cfg->listen_share &&
	    a->cfg->listen_preload && (a->nworkers > 1 || a->learned != NULL);
}

/* The fds n addresses learned by a cost (listen_share): budget.c. */
unsigned
app_learned_fds(const struct app *a, size_t n)
{
	return (unsigned)n * (app_balanced(a) ? a->nworkers : 1);
}

/* Append one socket for url to *fds, an array of n. */
static int
open_more(struct app *a, const char *url, int **fds, size_t n, int first,
    char **cause)
{
	char	*one[] = { (char *)url, NULL };
	int	*fd;
	size_t	 k;

	if (listen_open(a->cfg, one, &fd, &k, first, cause) == -1)
		return -1;
	*fds = xrealloc(*fds, (n + 1) * sizeof **fds);
	(*fds)[n] = fd[0];
	free(fd);
	return 0;
}

/*
 * A worker of a (listen_share) binds url: its index among the app's
 * addresses, learned now if it is new, with the sockets of instance open.
 * -1 with *cause and errno set (EADDRINUSE, EACCES...): the worker's bind
 * fails as its own would have.
 */
int
app_learn(struct app *a, const char *url, unsigned instance, char **cause)
{
	size_t	  i, n = argv_count(a->learned);
	unsigned  k, j;
	int	  e, first = 1, extended = 0;

	for (i = 0; i < n && strcmp(a->learned[i], url) != 0; i++)
		;
	if (i == n) {
		if (budget_admit(app_learned_fds(a, 1), 0, "listen_share",
		    a->cfg, a->nworkers, cause) == -1) {
			errno = EMFILE;
			return -1;
		}
		/* The sockets open for the others get one for url too. */
		if (a->nlisten > 0 && !app_balanced(a) && open_more(a, url,
		    &a->listen_fds, a->nlisten, 0, cause) == -1)
			return -1;
		for (k = 0; a->nlisten > 0 && k < a->nslot_fds; k++) {
			if (a->slot_fds[k] == NULL)
				continue;
			if (open_more(a, url, &a->slot_fds[k], a->nlisten,
			    first, cause) == -1) {
				e = errno;	/* the ones made go again */
				for (j = 0; j < k; j++)
					if (a->slot_fds[j] != NULL)
						close(a->slot_fds[j][a->nlisten]);
				errno = e;
				return -1;
			}
			first = 0;
		}
		strv_add(&a->learned, url);
		if ((extended = a->nlisten > 0))
			a->nlisten++;
		if (extended && sticky_attach(a, cause) == -1)
			return -1;
	}
	if (app_listen_slot(a, instance) == -1) {
		*cause = a->listen_error;
		a->listen_error = NULL;
		if (i == n && !extended) {	/* not shared after all */
			free(a->learned[n]);
			a->learned[n] = NULL;
			if (n == 0) {
				free(a->learned);
				a->learned = NULL;
			}
		}
		errno = errno ? errno : EADDRINUSE;
		return -1;
	}
	if (i == n)
		log_info("%s: its workers share %s, as with listen", a->name,
		    url);
	return (int)i;
}

/* Close the balanced sockets of instances from on (all: 0). */
static void
close_slots(struct app *a, unsigned from)
{
	char		*cause;
	unsigned	i;

	for (i = from; i < a->nslot_fds; i++) {
		if (a->slot_fds[i] != NULL)
			listen_close(app_urls(a), a->slot_fds[i], a->nlisten);
		a->slot_fds[i] = NULL;
	}
	if (from < a->nslot_fds) {
		a->nslot_fds = from;
		if (from > 0 && sticky_attach(a, &cause) == -1) {
			log_warn("%s: %s", a->name, cause);
			free(cause);
		}
	}
	if (from == 0) {
		free(a->slot_fds);
		a->slot_fds = NULL;
		free(a->slot_out);
		a->slot_out = NULL;
		if (a->listen_fds == NULL)
			a->nlisten = 0;
	}
}

static void
app_free(struct app *a)
{
	unsigned	i;

	TAILQ_REMOVE(&apps, a, entry);
	trigger_free(a);
	for (i = 0; i < a->nworkers; i++)
		worker_free(a->workers[i]);
	free(a->workers);
	rolling_free(a);
	close_slots(a, 0);
	listen_close(app_urls(a), a->listen_fds, a->nlisten);
	argv_free(a->learned);
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

	/* Without its sockets no worker can start: errored, for that. */
	if ((ev == E_START || ev == E_RESTART || ev == E_RESET) &&
	    app_listen(a) == -1)
		ev = E_NOSOCKET;
	for (i = 0; i < a->nworkers; i++) {
		if (instance >= 0 && (unsigned)instance != i)
			continue;
		if (a->workers[i]->sm.want == WANT_GONE)
			continue;
		worker_event(a->workers[i], ev);
	}
}

/*
 * Grow to n slots (new ones start at once) or mark the slots from n up as
 * gone (E_REMOVE): they stop, and app_settle_all() frees them.
 */
void
app_scale(struct app *a, unsigned n)
{
	unsigned	i;

	if (n > a->nworkers) {
		a->workers = xrealloc(a->workers, n * sizeof *a->workers);
		for (i = a->nworkers; i < n; i++)
			a->workers[i] = worker_new(a, i, 0);
		a->nworkers = n;
	}
	for (i = 0; i < a->nworkers; i++) {
		if (i < n && a->workers[i]->sm.want == WANT_GONE)
			worker_event(a->workers[i], E_START);	/* back */
		else if (i < n && a->workers[i]->sm.want == WANT_NONE)
			worker_event(a->workers[i], app_listen(a) == -1 ?
			    E_NOSOCKET : E_START);	/* a new slot */
		else if (i >= n && a->workers[i]->sm.want != WANT_GONE)
			worker_event(a->workers[i], E_REMOVE);
	}
}

void
app_delete(struct app *a)
{
	a->want = APP_GONE;
	trigger_arm(a);
	rolling_abort(a);
	app_apply(a, E_REMOVE, -1);
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

/* A reload or reload-config changed a's config: its triggers follow. */
static void
settle_triggers(struct app *a)
{
	if (a->timers_cfg != a->cfg)
		trigger_arm(a);
}

/* A roll (cron, watch) that came while a reload ran goes now. */
static void
settle_queued_roll(struct app *a)
{
	char	*what = a->queued_roll;

	if (what == NULL || a->roll != NULL)
		return;
	a->queued_roll = NULL;
	trigger_roll(a, what);
	free(what);
}

/* Slots scaled away are freed once their process is gone. */
static void
settle_scaled_down(struct app *a)
{
	while (a->nworkers > 0 &&
	    a->workers[a->nworkers - 1]->sm.want == WANT_GONE &&
	    worker_idle(a->workers[a->nworkers - 1]))
		worker_free(a->workers[--a->nworkers]);
	/* Connections queued on a balanced socket scaled away are lost,
	 * unless net.ipv4.tcp_migrate_req moves them to the others. */
	close_slots(a, a->nworkers);
}

/* Whether w serves, or will soon: then the app's sockets stay open. */
static int
serving(const struct worker *w)
{
	switch (w->sm.state) {
	case W_STARTING:
	case W_ONLINE:
	case W_WAITING:
	case W_FAILING:
		return 1;
	case W_STOPPING:
		return w->sm.want == WANT_UP;
	default:
		return 0;
	}
}

/*
 * No worker of a listen app serves or is coming (all errored, or stopped
 * by the user): close its sockets, so that clients are refused at once
 * instead of waiting in a queue nobody reads; the next start binds them
 * again. Never during a reload, whose gaps are brief.
 */
static void
settle_sockets(struct app *a)
{
	unsigned	i;

	if (a->nlisten == 0 || a->roll != NULL || a->want == APP_GONE ||
	    daemon_stopping)
		return;
	for (i = 0; i < a->nworkers; i++) {
		if (serving(a->workers[i]))
			return;
	}
	log_info("%s: no worker serves or is starting: its sockets are "
	    "closed, connections are refused until it starts", a->name);
	close_slots(a, 0);
	listen_close(app_urls(a), a->listen_fds, a->nlisten);
	a->listen_fds = NULL;
	a->nlisten = 0;
}

/*
 * Balanced: an instance left with no process (stopped, errored, waiting
 * to restart) takes its sockets out of their groups, so that new
 * connections go to the instances that serve rather than wait in a queue
 * nobody reads; its next start puts them back (app_listen_slot). Tried
 * once each time it goes down, and only while another instance serves:
 * with none, connections wait for the first one back, as with shared. A
 * socket with connections queued stays in unless the kernel moves them.
 */
static void
settle_slots(struct app *a)
{
	unsigned	i, serve = 0;

	/* Sticky: the group stays as it is, or clients would move. */
	if (a->nslot_fds == 0 || a->roll != NULL || daemon_stopping ||
	    a->cfg->listen_balance == LISTEN_STICKY)
		return;
	for (i = 0; i < a->nslot_fds && i < a->nworkers; i++)
		serve += a->slot_out[i] == SLOT_IN && a->workers[i]->pid > 0;
	if (serve == 0)
		return;
	for (i = 0; i < a->nslot_fds && i < a->nworkers; i++) {
		if (a->slot_fds[i] == NULL || a->slot_out[i] != SLOT_IN ||
		    a->workers[i]->pid > 0)
			continue;
		if (listen_pause(a->slot_fds[i], a->nlisten)) {
			a->slot_out[i] = SLOT_OUT;
			log_info("%s:%u: no process: new connections go to the "
			    "other instances until it starts", a->name, i);
		} else
			a->slot_out[i] = SLOT_KEPT;
	}
}

/* A deleted app goes once no process and no reload is left. */
static void
settle_deleted(struct app *a)
{
	unsigned	i;

	if (a->want != APP_GONE || a->roll != NULL)
		return;
	for (i = 0; i < a->nworkers; i++) {
		if (!worker_idle(a->workers[i]))
			return;
	}
	app_gone(a);
}

/*
 * After each loop turn (pmd.c's settle step), outside any callback: the
 * work that frees or replaces what callbacks may still be using. Each
 * step may depend on the ones before it for the same app.
 */
void
app_settle_all(void)
{
	struct app	*a, *next;

	for (a = TAILQ_FIRST(&apps); a != NULL; a = next) {
		next = TAILQ_NEXT(a, entry);
		rolling_settle(a);	/* a reload that ended takes its config */
		settle_triggers(a);
		settle_queued_roll(a);
		settle_scaled_down(a);
		settle_sockets(a);
		settle_slots(a);
		settle_deleted(a);	/* last: it may free a */
	}
}

/*
 * Whether every worker of every app has given up (errored), and there is
 * at least one: nothing will ever run again without a command.
 */
int
app_all_failed(void)
{
	struct app	*a;
	unsigned	 i, n = 0;

	TAILQ_FOREACH(a, &apps, entry) {
		for (i = 0; i < a->nworkers; i++) {
			if (a->workers[i]->sm.want == WANT_GONE)
				continue;
			if (a->workers[i]->sm.state != W_ERRORED)
				return 0;
			n++;
		}
	}
	return n > 0;
}

int
app_all_stopped(void)
{
	struct app	*a;
	unsigned	 i;

	TAILQ_FOREACH(a, &apps, entry) {
		if (!rolling_idle(a))
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
			if (down ? !worker_idle(w) : worker_busy(w) ||
			    w->sm.want == WANT_GONE)
				return 0;
		}
	}
	return 1;
}

/* The restart policy of w: its app's, but a reload's new worker is not
 * restarted (its exit fails the reload). */
struct policy
app_policy(const struct worker *w)
{
	const struct app	*a = w->app;
	struct policy		 p;

	p.autorestart = a->cfg->autorestart;
	p.min_uptime = a->cfg->min_uptime;
	p.max_restarts = a->cfg->max_restarts;
	p.restart_delay = a->cfg->restart_delay;
	p.exp_backoff = a->cfg->exp_backoff;
	p.stop_exit_codes = a->cfg->stop_exit_codes;
	p.timeout_online = w->await_listen || (a->cfg->wait_ready &&
	    a->cfg->not_ready == NOT_READY_ONLINE);
	if (w->trial != NULL)
		p.autorestart = 0;
	return p;
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

	/* Container mode: pmd's stdout or stderr, a prefix per worker. */
	if (daemon_container)
		return xprintf("%s:%s:%u", stream == LOG_ERR ? "stderr" :
		    "stdout", a->name, instance);
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

/*
 * A configured app that pmd starts by itself (at its start, at
 * reload-config): created if its workers fit in the fd budget, else left
 * out with a warning and an event that say why.
 */
void
app_create_fitting(struct app_config *cfg, const char *what)
{
	unsigned	 need;
	char		*cause;

	if (budget_admit_app(cfg, 0, what, &need, &cause) == 0) {
		app_create(cfg, NULL, 0, NULL);
		return;
	}
	log_warn("%s:%d: [app:%s] not started: %s", cfg->file, cfg->line,
	    cfg->name, cause);
	event_emit(NULL, NULL, "errored", NULL, "app %s not started: %s",
	    cfg->name, cause);
	free(cause);
}
