/*
 * The triggers of a rolling reload besides pmctl reload: cron_restart,
 * max_memory_restart and (in watch.c) watch. Each arms only when its key
 * is set, so an app without them costs no wake-up.
 */
#include <stdlib.h>

#include "pmd.h"

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
 * waits for it to end (settle_queued_roll in app.c).
 */
void
trigger_roll(struct app *a, const char *what)
{
	char		*why;
	unsigned	 i;

	if (daemon_stopping || a->want == APP_GONE)
		return;
	if (a->roll != NULL) {
		if (a->queued_roll == NULL)
			log_info("%s: %s: restarting after the running reload",
			    a->name, what);
		free(a->queued_roll);
		a->queued_roll = xstrdup(what);
		return;
	}
	log_info("%s: %s: restarting", a->name, what);
	event_emit(a, NULL, "trigger", NULL, "%s: restarting", what);
	if (rolling_begin(a, a->cfg, -1, &why) == -1) {
		log_warn("%s: %s: %s", a->name, what, why);
		free(why);
		return;
	}
	/* Spawned after the reload began, these are not replaced again. */
	for (i = 0; i < a->nworkers; i++) {
		if (a->workers[i]->sm.want != WANT_GONE &&
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
	trigger_roll(a, what);
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
		if (w->sm.want == WANT_GONE || w->pid <= 0 ||
		    w->sm.state != W_ONLINE ||
		    proc_stat(w->pid, &ps) == -1 || ps.rss <= a->cfg->max_memory)
			continue;
		if (listen_urls(a) != NULL && a->roll != NULL)
			return;		/* one at a time; the next check */
		log_warn("%s:%u: pid %ld uses %.1fM, over max_memory_restart "
		    "(%.1fM): replacing it", a->name, i, (long)w->pid,
		    ps.rss / 1048576.0, a->cfg->max_memory / 1048576.0);
		if (listen_urls(a) == NULL) {
			worker_event(w, E_RESTART);
			continue;
		}
		if (rolling_begin(a, a->cfg, (int)i, &why) == -1) {
			log_warn("%s:%u: %s", a->name, i, why);
			free(why);
		}
		return;
	}
}

/* Arm the timers a->cfg asks for, and only those: none, idle. */
void
trigger_arm(struct app *a)
{
	struct app_config	*cfg = a->cfg;
	double			 every = cfg->memory_interval / 1000.0;

	a->timers_cfg = cfg;
	ev_periodic_stop(pmd_loop, &a->cron_w);
	ev_timer_stop(pmd_loop, &a->memory_w);
	watch_free(a->watch);
	a->watch = NULL;
	if (a->want == APP_GONE || daemon_stopping)
		return;
	a->watch = watch_new(a);
	if (cfg->cron_text != NULL) {
		ev_periodic_set(&a->cron_w, 0, 0, cron_when);
		ev_periodic_start(pmd_loop, &a->cron_w);
	}
	if (cfg->max_memory > 0) {
		ev_timer_set(&a->memory_w, every, every);
		ev_timer_start(pmd_loop, &a->memory_w);
	}
}

void
trigger_init(struct app *a)
{
	ev_periodic_init(&a->cron_w, cron_cb, 0, 0, cron_when);
	ev_init(&a->memory_w, memory_cb);
	trigger_arm(a);
}

void
trigger_free(struct app *a)
{
	ev_periodic_stop(pmd_loop, &a->cron_w);
	ev_timer_stop(pmd_loop, &a->memory_w);
	watch_free(a->watch);
	a->watch = NULL;
	free(a->queued_roll);
	a->queued_roll = NULL;
}
