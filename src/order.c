/*
 * Start order across apps (the after key): an app's workers start only
 * once every worker of each app it follows is online, and a stack comes
 * down in reverse. A held app says what it waits for (list, show and an
 * event), and the settle step after each loop turn starts it as soon as
 * that is online: nothing polls. Only starts are held, and only the
 * stops of stop all, kill and pmd's own shutdown are ordered; a restart or
 * reload of one app never ripples to another.
 */
#include <stdlib.h>
#include <string.h>

#include "pmd.h"

/* Whether every worker of the app named name is online. */
static int
dep_online(const char *name)
{
	struct app	*d = app_find(name);
	unsigned	 i;

	if (d == NULL || d->want == APP_GONE)
		return 0;
	for (i = 0; i < d->nworkers; i++) {
		if (d->workers[i]->sm.want != WANT_GONE &&
		    d->workers[i]->sm.state != W_ONLINE)
			return 0;
	}
	return 1;
}

/* The first app a follows that is not online, or NULL. */
static const char *
unmet(const struct app *a)
{
	char *const	*n;

	for (n = a->cfg->after; n != NULL && *n != NULL; n++) {
		if (!dep_online(*n))
			return *n;
	}
	return NULL;
}

/*
 * A start of a (instance, or -1) is to wait for the apps it follows:
 * held, said once per app waited for. Returns 1 if held.
 */
int
order_hold(struct app *a, int instance)
{
	const char	*dep;

	if ((dep = unmet(a)) == NULL)
		return 0;
	if (!a->held)
		a->held_instance = instance;
	else if (a->held_instance != instance)
		a->held_instance = -1;
	a->held = 1;
	if (a->held_for == NULL || strcmp(a->held_for, dep) != 0) {
		free(a->held_for);
		a->held_for = xstrdup(dep);
		log_info("%s: waiting for %s (after)", a->name, dep);
		event_emit(a, NULL, "waiting", NULL, "waiting for %s", dep);
	}
	return 1;
}

/* a is not to start after all (stopped, deleted): no longer held. */
void
order_release(struct app *a)
{
	a->held = 0;
	free(a->held_for);
	a->held_for = NULL;
}

/* What a held a waits for, or NULL. */
const char *
order_waiting_for(const struct app *a)
{
	return a->held ? a->held_for : NULL;
}

/* order_blocked, at most depth apps down the chain. */
static int
blocked(const struct app *a, int depth)
{
	const struct app	*d;
	unsigned		 i;

	if (!a->held || a->held_for == NULL || depth > 64)
		return 0;
	if ((d = app_find(a->held_for)) == NULL || d->want == APP_GONE)
		return 1;
	for (i = 0; i < d->nworkers; i++) {
		if (worker_busy(d->workers[i]) ||
		    d->workers[i]->sm.state == W_WAITING ||
		    (d->held && !blocked(d, depth + 1)))
			return 0;
	}
	return 1;
}

/*
 * Whether a held a can only wait for a command: an app it follows is
 * gone, or has no worker that is starting or will restart.
 */
int
order_blocked(const struct app *a)
{
	return blocked(a, 0);
}

/* Whether any app that follows a still has a process or is to stop. */
static int
followed_by_running(const struct app *a)
{
	const struct app	*f;
	unsigned		 i;

	TAILQ_FOREACH(f, &apps, entry) {
		if (f == a || !strv_has(f->cfg->after, a->name))
			continue;
		if (f->stop_pending)
			return 1;
		for (i = 0; i < f->nworkers; i++) {
			if (!worker_idle(f->workers[i]))
				return 1;
		}
	}
	return 0;
}

/*
 * Stop every app of t (NULL: all) in reverse order: each once no app that
 * follows it runs. Those that nothing running follows stop now.
 */
void
order_stop(const struct target *t)
{
	struct app	*a;

	TAILQ_FOREACH(a, &apps, entry) {
		if (t == NULL || target_has(t, a)) {
			order_release(a);
			a->stop_pending = 1;
		}
	}
	order_settle_stops();
}

/* The ordered stops whose followers are down now go ahead. */
void
order_settle_stops(void)
{
	struct app	*a;
	int		 again;

	do {
		again = 0;
		TAILQ_FOREACH(a, &apps, entry) {
			if (!a->stop_pending || followed_by_running(a))
				continue;
			a->stop_pending = 0;
			app_apply(a, E_STOP, -1);
			again = 1;
		}
	} while (again);
}

/* A held a whose apps are all online now starts (app_settle_all). */
void
order_settle(struct app *a)
{
	int	instance;

	if (!a->held || daemon_stopping || a->want == APP_GONE ||
	    unmet(a) != NULL)
		return;
	instance = a->held_instance;
	log_info("%s: %s is online: starting", a->name, a->held_for);
	order_release(a);
	app_apply(a, E_START, instance);
}

/*
 * pmctl start NAME of an app that follows others: those that do not run
 * start too, each after its own (started, never restarted). A peer with
 * less privilege (owner, else OWNER_NONE) starts only apps that run as
 * itself. -1 with *cause if one is no app or not the peer's to start.
 */
int
order_start_deps(struct app *a, uid_t owner, int depth, char **cause)
{
	struct app_config	*cfg;
	struct app		*d;
	char *const		*n;
	unsigned		 i;

	for (n = a->cfg->after; depth < 64 && n != NULL && *n != NULL; n++) {
		d = app_find(*n);
		if (d != NULL && d->want == APP_GONE)
			d = NULL;
		cfg = d != NULL ? d->cfg : config_find(config, *n);
		if (cfg == NULL) {
			*cause = xprintf("%s runs after %s, which is no app",
			    a->name, *n);
			return -1;
		}
		for (i = 0; d != NULL && i < d->nworkers; i++) {
			if (d->workers[i]->sm.want != WANT_UP)
				break;
		}
		if (d != NULL && i == d->nworkers)
			continue;		/* it runs, or is coming */
		if (owner != OWNER_NONE && cfg->owner != owner) {
			*cause = xprintf("%s runs after %s, which does not run, "
			    "and only its owner may start it", a->name, *n);
			return -1;
		}
		if (d == NULL) {
			app_create_fitting(cfg, "start");
			if ((d = app_find(*n)) == NULL) {
				*cause = xprintf("%s runs after %s, which does "
				    "not fit in pmd's fd budget (see the log)",
				    a->name, *n);
				return -1;
			}
		} else
			app_apply(d, E_START, -1);
		if (order_start_deps(d, owner, depth + 1, cause) == -1)
			return -1;
	}
	return 0;
}

/*
 * The config of the app named name: in cfg, else (with other) in other or
 * the running app's, or NULL.
 */
static const struct app_config *
find(struct config *cfg, struct config *other, const char *name)
{
	const struct app_config	*a = config_find(cfg, name);
	const struct app	*r;

	if (a != NULL || other == NULL)
		return a;
	if ((a = config_find(other, name)) != NULL)
		return a;
	return (r = app_find(name)) != NULL ? r->cfg : NULL;
}

/* Whether name is reached from a along after (a cycle, with a's name). */
static int
reaches(struct config *cfg, struct config *other, const struct app_config *a,
    const char *name, int depth)
{
	const struct app_config	*d;
	char *const		*n;

	for (n = a->after; depth < 256 && n != NULL && *n != NULL; n++) {
		if (strcmp(*n, name) == 0)
			return 1;
		if ((d = find(cfg, other, *n)) != NULL &&
		    reaches(cfg, other, d, name, depth + 1))
			return 1;
	}
	return 0;
}

/* Why an after key of a is wrong, or NULL. */
static char *
check_one(struct config *cfg, struct config *other, struct app_config *a)
{
	char *const	*n;

	for (n = a->after; n != NULL && *n != NULL; n++) {
		if (strcmp(*n, a->name) == 0)
			return xprintf("after: [app:%s] cannot run after itself",
			    a->name);
		if (find(cfg, other, *n) == NULL)
			return xprintf("after: \"%s\" is no app", *n);
	}
	if (reaches(cfg, other, a, a->name, 0))
		return xprintf("after: [app:%s] comes back to itself through "
		    "the apps it follows (a cycle)", a->name);
	return NULL;
}

/*
 * The after keys of cfg's apps: none names its own app, each names an app
 * of cfg (or, with other, of other or one that runs: a file given to
 * pmctl start, apps started as commands), and none comes back to itself.
 * NULL, or the error, after the file and line where the app has one.
 */
char *
order_check(struct config *cfg, struct config *other)
{
	struct app_config	*a;
	char			*why, *msg;

	TAILQ_FOREACH(a, &cfg->apps, entry) {
		if ((why = check_one(cfg, other, a)) == NULL)
			continue;
		if (a->file == NULL)
			return why;
		msg = xprintf("%s:%d: %s", a->file, a->after_line, why);
		free(why);
		return msg;
	}
	return NULL;
}

/*
 * The apps of one start of commands (an ecosystem file's, or one), which
 * may follow each other, configured apps or running ones.
 */
char *
order_check_adhoc(struct app_config **cfgs, size_t n)
{
	struct config	*batch = config_empty();
	char		*why;
	size_t		 i;

	for (i = 0; i < n; i++)
		TAILQ_INSERT_TAIL(&batch->apps, cfgs[i], entry);
	why = order_check(batch, config);
	for (i = 0; i < n; i++)
		TAILQ_REMOVE(&batch->apps, cfgs[i], entry);
	config_free(batch);
	return why;
}
