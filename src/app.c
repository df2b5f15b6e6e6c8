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
static struct app *
app_register(struct app_config *cfg, char **base_env, int adhoc,
    const char *profile)
{
	static uint64_t	 serial;
	struct app	*a = xcalloc(1, sizeof *a);

	appcfg_ref(cfg);
	a->serial = ++serial;
	a->cfg = cfg;
	a->name = xstrdup(cfg->name);
	a->base_env = base_env;
	a->adhoc = adhoc;
	a->profile = profile != NULL ? xstrdup(profile) : NULL;
	TAILQ_INSERT_TAIL(&apps, a, entry);
	return a;
}

/*
 * pmctl update: an app the pmd before this one ran, with n slots of the
 * ids given, which the caller fills (worker_adopt) and whose sockets it
 * hands over (listen_adopt): nothing is started or bound here.
 */
struct app *
app_adopt(struct app_config *cfg, char **base_env, int adhoc,
    const char *profile, unsigned n, const unsigned *ids)
{
	struct app	*a = app_register(cfg, base_env, adhoc, profile);
	unsigned	 i;

	a->workers = xcalloc(n, sizeof *a->workers);
	for (i = 0; i < n; i++)
		a->workers[i] = worker_new(a, i, ids[i]);
	a->nworkers = n;
	trigger_init(a);
	return a;
}

struct app *
app_restore(struct app_config *cfg, char **base_env, int adhoc,
    const char *profile, unsigned n, const char *held, const unsigned *ids)
{
	struct app	*a = app_register(cfg, base_env, adhoc, profile);
	unsigned	 i;

	listen_app(a);
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
	listen_app_close(a);
	argv_free(a->learned);
	argv_free(a->widened);
	free(a->listen_error);
	free(a->reload_error);
	free(a->held_for);
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

	/* A start waits for the apps it follows (after). */
	if (ev == E_START && order_hold(a, instance))
		return;
	if (ev == E_STOP || ev == E_REMOVE)
		order_release(a);
	/* Without its sockets no worker can start: errored, for that. */
	if ((ev == E_START || ev == E_RESTART || ev == E_RESET) &&
	    listen_app(a) == -1)
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
		else if (i < n && a->workers[i]->sm.want == WANT_NONE &&
		    !order_hold(a, -1))
			worker_event(a->workers[i], listen_app(a) == -1 ?
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
	listen_close_slots(a, a->nworkers);
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
		order_settle(a);	/* what it follows is online: start */
		settle_triggers(a);
		settle_queued_roll(a);
		settle_scaled_down(a);
		listen_settle(a);
		settle_deleted(a);	/* last: it may free a */
	}
	order_settle_stops();
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
		/* Held by after: settled once it can only wait for a command. */
		if (!down && a->held && !order_blocked(a))
			return 0;
		if (down && a->stop_pending)
			return 0;
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
