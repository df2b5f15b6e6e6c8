/*
 * Rolling reload: each running instance of an app in turn gets a new
 * worker, started from the app's config as it is on disk now. Start-first
 * (the default with listen, whose sockets the old and new workers share):
 * only when the new one is online (READY=1 with wait_ready, else alive
 * for min_uptime) is the old one stopped. Stop-first (the default without
 * listen, where the new worker would find the old one's port or socket
 * taken): the old one stops, then the new one starts in its place. Then
 * the next instance begins. A new worker that exits or is not ready in
 * time ends the reload: it is stopped, the app keeps its old config, and
 * the old workers go on serving (stop-first: the one stopped for it
 * starts again).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "pmd.h"

struct rolling {
	struct app		*app;
	struct app_config	*oldcfg;	/* back to this if it fails */
	unsigned		 next;		/* instance to replace next */
	struct worker		*fresh;		/* on trial, or NULL */
	struct worker		**gone;		/* replaced or failed: stopping */
	size_t			 ngone;
	unsigned		 replaced;
	int			 stepping;	/* instances left to do */
	unsigned		 end;		/* instances next to end - 1 */
	unsigned		 first_id;	/* later spawns run the new config */
	int			 stop_first;	/* the old worker goes first */
	struct worker		*held;		/* stop-first: the old, stopped */
	char			*error;
	ev_timer		 up_w;		/* min_uptime of fresh */
};

static void	reload_next(struct rolling *);
static void	trial(struct worker *, int);
static void	start_fresh(struct rolling *, struct worker *);

static void
retire(struct rolling *r, struct worker *w)
{
	r->gone = xrealloc(r->gone, (r->ngone + 1) * sizeof *r->gone);
	r->gone[r->ngone++] = w;
	w->trial = NULL;
	worker_event(w, E_REMOVE);
}

static void
fail(struct rolling *r, char *why)
{
	struct app	*a = r->app;

	ev_timer_stop(pmd_loop, &r->up_w);
	log_warn("%s: reload failed: %s; the old workers keep serving",
	    a->name, why);
	event_emit(a, NULL, "reload-failed", NULL, "%s", why);
	a->reloads++;
	a->reloads_failed++;
	r->error = why;
	r->stepping = 0;
	if (r->fresh != NULL) {
		retire(r, r->fresh);
		r->fresh = NULL;
	}
	/* Restarts from now on use the config that worked. */
	appcfg_unref(a->cfg);
	a->cfg = r->oldcfg;
	r->oldcfg = NULL;
	/* Stop-first: the worker stopped for the new one serves again. */
	if (r->held != NULL) {
		r->held->trial = NULL;
		if (r->held->sm.want == WANT_DOWN && !daemon_stopping &&
		    a->want != APP_GONE)
			worker_event(r->held, E_START);
		r->held = NULL;
	}
	daemon_dirty();
}

/* fresh is online: it takes the slot, and the old worker stops. */
static void
promote(struct rolling *r)
{
	struct app	*a = r->app;
	struct worker	*fresh = r->fresh, *old = a->workers[fresh->instance];

	ev_timer_stop(pmd_loop, &r->up_w);
	r->fresh = NULL;
	r->held = NULL;
	fresh->trial = NULL;
	a->workers[fresh->instance] = fresh;
	/* Stop-first, the old worker is gone already: no pid to name. */
	if (old->pid > 0)
		log_info("%s:%u: pid %ld replaces pid %ld", a->name,
		    fresh->instance, (long)fresh->pid, (long)old->pid);
	else
		log_info("%s:%u: pid %ld takes the place of worker %u, which "
		    "has stopped", a->name, fresh->instance, (long)fresh->pid,
		    old->id);
	retire(r, old);
	r->replaced++;
	r->next = fresh->instance + 1;
	reload_next(r);
}

static void
up_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct rolling	*r = container_of(t, struct rolling, up_w);

	(void)loop; (void)revents;
	if (r->fresh != NULL && r->fresh->sm.state == W_ONLINE)
		promote(r);
}

/* Start the new worker of the next running instance, or end the steps. */
static void
reload_next(struct rolling *r)
{
	struct app	*a = r->app;
	struct worker	*old = NULL;

	for (; r->next < r->end && r->next < a->nworkers; r->next++) {
		old = a->workers[r->next];
		if (old->sm.want != WANT_GONE && old->id <= r->first_id &&
		    (old->sm.state == W_ONLINE || old->sm.state == W_STARTING))
			break;
	}
	if (r->next >= r->end || r->next >= a->nworkers) {
		r->stepping = 0;
		daemon_dirty();
		return;
	}
	if (!r->stop_first) {
		start_fresh(r, old);
		return;
	}
	/* Stop-first: the new worker starts once this one has exited. */
	r->held = old;
	old->trial = trial;
	log_info("%s:%u: stopping pid %ld before its replacement starts",
	    a->name, old->instance, (long)old->pid);
	worker_event(old, E_STOP);
}

static void
start_fresh(struct rolling *r, struct worker *old)
{
	r->fresh = worker_new(r->app, old->instance, old->pm_id);
	r->fresh->trial = trial;
	/* A replacement for one instance (over its memory) is a restart. */
	sm_succeed(&r->fresh->sm, &old->sm, r->end != UINT_MAX);
	worker_event(r->fresh, E_START);
}

/*
 * The trial worker's hook: w has become online, or has exited (not_ready:
 * killed for want of READY=1). Either may happen inside
 * worker_event(E_START).
 */
static void
trial(struct worker *w, int not_ready)
{
	struct rolling	*r = w->app->roll;
	char		*how;

	if (r != NULL && r->held == w && r->fresh == NULL) {
		/* Stop-first: the old worker has exited; its turn is over. */
		if (w->pid == 0 && w->sm.state == W_STOPPED)
			start_fresh(r, w);
		return;
	}
	if (r == NULL || r->fresh != w)
		return;
	if (w->pid == 0) {
		how = w->exec_error != NULL ? xstrdup(w->exec_error) :
		    status_string(w->last_status);
		if (not_ready)
			fail(r, xprintf("instance %u: no READY=1 within "
			    "listen_timeout (%llu ms)", w->instance,
			    (unsigned long long)r->app->cfg->listen_timeout));
		else
			fail(r, xprintf("instance %u: the new worker %s "
			    "before it was online", w->instance, how));
		free(how);
		return;
	}
	if (w->app->cfg->wait_ready || w->app->cfg->min_uptime == 0 ||
	    w->proven) {
		promote(r);
		return;
	}
	ev_timer_set(&r->up_w, w->app->cfg->min_uptime / 1000.0, 0);
	ev_timer_start(pmd_loop, &r->up_w);
}

/*
 * Begin reloading a with cfg, or (NULL) its definition as its file gives
 * it now: every instance, or (instance >= 0) that one alone. Returns -1
 * with *cause if it cannot begin: another reload runs, or the file no
 * longer gives a config for it.
 */
int
rolling_begin(struct app *a, struct app_config *cfg, int instance,
    char **cause)
{
	struct rolling		*r;
	struct config		*loaded;
	int			 stop_first;

	if (a->roll != NULL) {
		*cause = xprintf("a reload of \"%s\" is already running",
		    a->name);
		return -1;
	}
	if (a->want == APP_GONE) {
		*cause = xprintf("app \"%s\" is being deleted", a->name);
		return -1;
	}
	if (cfg != NULL)
		appcfg_ref(cfg);
	else if (a->adhoc)
		appcfg_ref(cfg = a->cfg);
	else {
		if (config_load(a->cfg->file, a->cfg->owner, &loaded, cause) == -1)
			return -1;
		cfg = config_find(loaded, a->name);
		if (cfg == NULL) {
			*cause = xprintf("%s no longer defines [app:%s]",
			    a->cfg->file, a->name);
			config_free(loaded);
			return -1;
		}
		appcfg_ref(cfg);
		config_free(loaded);
	}
	if (!listen_same(cfg, a->cfg)) {
		*cause = xprintf("%s:%d: listen has changed; a reload keeps the "
		    "app's sockets (delete and start the app to bind new "
		    "ones)", cfg->file, cfg->line);
		appcfg_unref(cfg);
		return -1;
	}
	stop_first = cfg->reload_order == RELOAD_STOP_FIRST ||
	    (cfg->reload_order == RELOAD_AUTO && cfg->listen == NULL &&
	    a->learned == NULL);
	/* The new worker runs beside the old one: its fds must fit. */
	if (!stop_first && budget_admit(budget_worker_fds(cfg, NULL, 0), 0,
	    "reload", cfg, 1, cause) == -1) {
		appcfg_unref(cfg);
		return -1;
	}
	r = xcalloc(1, sizeof *r);
	r->app = a;
	r->oldcfg = a->cfg;
	a->cfg = cfg;
	r->stepping = 1;
	r->first_id = worker_last_id;
	r->stop_first = stop_first;
	r->next = instance >= 0 ? (unsigned)instance : 0;
	r->end = instance >= 0 ? (unsigned)instance + 1 : UINT_MAX;
	ev_init(&r->up_w, up_cb);
	a->roll = r;
	free(a->reload_error);
	a->reload_error = NULL;
	if (instance >= 0)
		log_info("%s:%d: replacing the worker", a->name, instance);
	else
		log_info("%s: reload: replacing its workers one at a time, "
		    "%s", a->name, r->stop_first ? "each stopped before its "
		    "replacement starts" : "each replacement online before "
		    "the old one stops");
	event_emit(a, NULL, "reload", NULL, "begins (%s)", r->stop_first ?
	    "stop-first" : "start-first");
	reload_next(r);
	return 0;
}

/* Stop it where it is (the app is deleted, or pmd stops). */
void
rolling_abort(struct app *a)
{
	if (a->roll != NULL && a->roll->stepping)
		fail(a->roll, xprintf("stopped: app %s",
		    daemon_stopping ? "pmd is stopping" : "deleted"));
}

/* No process of a reload is left (the app's own workers aside). */
int
rolling_idle(const struct app *a)
{
	struct rolling	*r = a->roll;
	size_t		 i;

	if (r == NULL)
		return 1;
	if (r->stepping || r->fresh != NULL)
		return 0;
	for (i = 0; i < r->ngone; i++) {
		if (!worker_idle(r->gone[i]))
			return 0;
	}
	return 1;
}

/* From app_settle_all(): end a reload whose processes are all done. */
void
rolling_settle(struct app *a)
{
	struct rolling		*r = a->roll;
	struct app_config	*known;

	if (r == NULL || !rolling_idle(a))
		return;
	if (r->error == NULL) {
		log_info("%s: reload done: %u worker%s replaced", a->name,
		    r->replaced, r->replaced == 1 ? "" : "s");
		event_emit(a, NULL, "reload", NULL, "done: %u worker%s "
		    "replaced", r->replaced, r->replaced == 1 ? "" : "s");
		a->reloads++;
		/* The daemon's config holds the new definition from now. */
		known = a->adhoc ? NULL : config_find(config, a->name);
		if (known != NULL && known != a->cfg) {
			appcfg_ref(a->cfg);
			config_merge(config, a->cfg, 0);
		}
	}
	a->reload_error = r->error;
	r->error = NULL;
	rolling_free(a);
}

void
rolling_free(struct app *a)
{
	struct rolling	*r = a->roll;
	size_t		 i;

	if (r == NULL)
		return;
	ev_timer_stop(pmd_loop, &r->up_w);
	for (i = 0; i < r->ngone; i++)
		worker_free(r->gone[i]);
	if (r->fresh != NULL)
		worker_free(r->fresh);
	free(r->gone);
	appcfg_unref(r->oldcfg);
	free(r->error);
	free(r);
	a->roll = NULL;
}

/* The workers of a reload, for signals at shutdown. */
void
rolling_signal(struct app *a, int sig)
{
	struct rolling	*r = a->roll;
	size_t		 i;

	if (r == NULL)
		return;
	for (i = 0; i < r->ngone; i++)
		worker_signal(r->gone[i], sig);
	if (r->fresh != NULL)
		worker_signal(r->fresh, sig);
}

/* The new worker on trial in a's reload, or NULL. */
struct worker *
rolling_fresh(const struct app *a)
{
	return a->roll != NULL ? a->roll->fresh : NULL;
}

/*
 * Begin reloading every app of t (pmctl reload, SIGUSR2), none if one of
 * them is being reloaded: then *cause. An app that cannot begin keeps why
 * in its reload_error.
 */
int
rolling_begin_all(const struct target *t, char **cause)
{
	struct app	*a;
	char		*why;

	*cause = NULL;
	TAILQ_FOREACH(a, &apps, entry) {
		if (a->want != APP_GONE && target_has(t, a) && a->roll != NULL) {
			*cause = xprintf("a reload of \"%s\" is already "
			    "running; wait for it to end", a->name);
			return -1;
		}
	}
	TAILQ_FOREACH(a, &apps, entry) {
		if (a->want == APP_GONE || !target_has(t, a))
			continue;
		free(a->reload_error);
		a->reload_error = NULL;
		if (rolling_begin(a, NULL, -1, &why) == -1)
			a->reload_error = why;
	}
	return 0;
}
