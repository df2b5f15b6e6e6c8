/*
 * reload-config and SIGHUP: read every config file again (the main file
 * with its includes, and the files given to `pmctl start FILE`) and apply
 * the difference. An app that is new starts; one that is gone is deleted;
 * one whose keys changed gets a rolling reload (or, if its listen changed,
 * is stopped and started again on the new sockets); one whose instances
 * alone changed is scaled; the others are not touched. If any file fails
 * to load, nothing changes and the error (file:line: key: ...) is the
 * answer. One runs at a time; it ends when every app it touched has
 * settled, and only then does pmd tell systemd READY=1 again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmd.h"

const char *const reconfig_changes[RECONFIG_NCHANGES] = {
	"unchanged", "added", "removed", "reloaded", "restarted", "scaled"
};

struct reconf {
	unsigned		 gen;
	char			**names;	/* the apps it acted on */
	size_t			 n;
	struct reconfig_result	*result;
};

static struct reconf		*running;
static unsigned			 generation;
static struct reconfig_result	*last_result;	/* of generation, once done */

/* Whether a reload-config runs now (pmctl update waits for its end). */
int
reconfig_busy(void)
{
	return running != NULL;
}

static void
result_free(struct reconfig_result *res)
{
	int	i;

	if (res == NULL)
		return;
	for (i = 0; i < RECONFIG_NCHANGES; i++)
		argv_free(res->apps[i]);
	argv_free(res->errors);
	free(res);
}

/* Add the apps of the files added with pmctl start FILE to fresh. */
static int
read_extra(struct config *fresh, char **cause)
{
	struct config		*loaded;
	struct app_config	*cfg, *dup;
	char			**f;
	size_t			 i;
	uid_t			 owner;

	for (f = config->extra; f != NULL && *f != NULL; f++) {
		owner = config->extra_owner[f - config->extra];
		if (strv_has(fresh->files, *f))
			continue;
		if (access(*f, F_OK) == -1 && errno == ENOENT) {
			log_info("reload-config: %s is gone: its apps are "
			    "removed", *f);
			continue;
		}
		if (config_load(*f, owner, &loaded, cause) == -1)
			return -1;
		TAILQ_FOREACH(cfg, &loaded->apps, entry) {
			if ((dup = config_find(fresh, cfg->name)) != NULL) {
				*cause = xprintf("%s:%d: [app:%s]: already "
				    "defined at %s:%d", cfg->file, cfg->line,
				    cfg->name, dup->file, dup->line);
				config_free(loaded);
				return -1;
			}
		}
		while ((cfg = TAILQ_FIRST(&loaded->apps)) != NULL) {
			TAILQ_REMOVE(&loaded->apps, cfg, entry);
			TAILQ_INSERT_TAIL(&fresh->apps, cfg, entry);
		}
		for (i = 0; loaded->files != NULL && loaded->files[i]; i++)
			strv_add(&fresh->files, loaded->files[i]);
		config_add_extra(fresh, *f, owner);
		config_free(loaded);
	}
	return 0;
}

static int
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* What to do with the app that cfg (NULL: removed) defines now. */
static enum change
compare(struct app_config *old, struct app_config *cfg)
{
	if (old == NULL)
		return C_ADD;
	if (cfg == NULL)
		return C_REMOVE;
	if (!appcfg_same(old, cfg))
		return listen_same(old, cfg) ? C_CHANGE : C_LISTEN;
	return old->instances != cfg->instances ? C_SCALE : C_SAME;
}

/* The config an app runs with now, or NULL if none runs by that name. */
static struct app_config *
current(const char *name, struct app **ap)
{
	struct app	*a = app_find(name);

	*ap = a != NULL && a->want != APP_GONE && !a->adhoc ? a : NULL;
	if (*ap != NULL)
		return a->cfg;
	return config_find(config, name);
}

/* Refuse what cannot be done before anything is done. */
static int
check(struct config *fresh, char **cause)
{
	struct app_config	*cfg;
	struct app		*a;

	TAILQ_FOREACH(cfg, &fresh->apps, entry) {
		a = app_find(cfg->name);
		if (a != NULL && a->adhoc && a->want != APP_GONE) {
			*cause = xprintf("%s:%d: [app:%s]: an app started "
			    "with pmctl start -- CMD has that name; delete "
			    "it first", cfg->file, cfg->line, cfg->name);
			return -1;
		}
		if (current(cfg->name, &a) != NULL && a != NULL &&
		    a->roll != NULL &&
		    compare(a->cfg, cfg) != C_SAME) {
			*cause = xprintf("a reload of \"%s\" is running; "
			    "try again when it has ended", cfg->name);
			return -1;
		}
	}
	TAILQ_FOREACH(cfg, &config->apps, entry) {
		if (config_find(fresh, cfg->name) == NULL &&
		    (a = app_find(cfg->name)) != NULL && a->roll != NULL) {
			*cause = xprintf("a reload of \"%s\" is running; "
			    "try again when it has ended", cfg->name);
			return -1;
		}
	}
	return 0;
}

static void
note(struct reconf *r, enum change c, const char *name)
{
	strv_add(&r->result->apps[c], name);
	if (c == C_SAME)
		return;
	r->names = xrealloc(r->names, (r->n + 1) * sizeof *r->names);
	r->names[r->n++] = xstrdup(name);
}

/* a runs with cfg from now on (its workers as they are). */
static void
use(struct app *a, struct app_config *cfg)
{
	appcfg_ref(cfg);
	appcfg_unref(a->cfg);
	a->cfg = cfg;
}

/* Stop a and start it again from cfg, on cfg's sockets. */
static void
replace(struct app *a, struct app_config *cfg)
{
	appcfg_ref(cfg);
	appcfg_unref(a->successor);
	a->successor = cfg;
	if (a->want != APP_GONE)
		app_delete(a);
}

static void
apply(struct reconf *r, struct config *fresh)
{
	struct app_config	*cfg, *old;
	struct app		*a, *any;
	enum change		 c;
	char			*why;

	TAILQ_FOREACH(cfg, &config->apps, entry) {
		if (config_find(fresh, cfg->name) != NULL)
			continue;
		note(r, C_REMOVE, cfg->name);
		a = app_find(cfg->name);
		if (a != NULL && !a->adhoc && a->want != APP_GONE)
			app_delete(a);
	}
	TAILQ_FOREACH(cfg, &fresh->apps, entry) {
		old = current(cfg->name, &a);
		c = compare(old, cfg);
		note(r, c, cfg->name);
		if (a == NULL) {
			/* Not running: a new app starts, a deleted one not. */
			if (c != C_ADD)
				continue;
			if ((any = app_find(cfg->name)) == NULL)
				app_create_fitting(cfg, "reload-config");
			else
				replace(any, cfg);	/* being deleted */
			continue;
		}
		switch (c) {
		case C_SAME:
			if (a->roll == NULL)
				use(a, cfg);
			break;
		case C_LISTEN:
			replace(a, cfg);
			break;
		case C_CHANGE:
			if (rolling_begin(a, cfg, -1, &why) == -1) {
				free(a->reload_error);
				a->reload_error = why;
				break;
			}
			if (old->instances != cfg->instances)
				app_scale(a, instances_resolve(cfg->instances,
				    daemon_ncpu()));
			break;
		case C_SCALE:
			use(a, cfg);
			app_scale(a, instances_resolve(cfg->instances,
			    daemon_ncpu()));
			break;
		default:
			break;
		}
	}
}

/* The [daemon] paths are fixed at start: keep them, and say so. */
static void
keep_paths(struct config *fresh)
{
	char	**mine[] = { &fresh->log_dir, &fresh->socket,
		    &fresh->dump_file };
	char	*ours[] = { config->log_dir, config->socket,
		    config->dump_file };
	const char *keys[] = { "log_dir", "socket", "dump_file" };
	size_t	 i;

	for (i = 0; i < nitems(mine); i++) {
		if (!same_str(*mine[i], ours[i]))
			log_warn("reload-config: [daemon] %s has changed; it "
			    "takes effect when pmd is restarted", keys[i]);
		free(*mine[i]);
		*mine[i] = ours[i] != NULL ? xstrdup(ours[i]) : NULL;
	}
}

/*
 * Begin; returns the generation to wait for with reconfig_result(), or 0
 * with *cause if nothing changed because something was wrong.
 */
unsigned
reconfig_begin(char **cause)
{
	struct config	*fresh;
	struct reconf	*r;
	char		*why;

	if (running != NULL) {
		*cause = xstrdup("a config reload is already running");
		return 0;
	}
	if (daemon_read_config(&fresh, cause) == -1)
		return 0;
	if (read_extra(fresh, cause) == -1 || check(fresh, cause) == -1) {
		config_free(fresh);
		return 0;
	}
	daemon_notify("RELOADING=1");
	r = xcalloc(1, sizeof *r);
	r->gen = ++generation;
	r->result = xcalloc(1, sizeof *r->result);
	keep_paths(fresh);
	apply(r, fresh);
	free(fresh->file);
	fresh->file = config->file ? xstrdup(config->file) : NULL;
	config_free(config);
	config = fresh;
	control_apply_config(config);
	if (metrics_listen(config->metrics, -1, &why) == -1) {
		log_warn("reload-config: %s; /metrics is not served", why);
		strv_add(&r->result->errors, why);
		free(why);
	}
	running = r;
	log_info("reload-config: %d added, %d removed, %d reloaded, "
	    "%d restarted, %d scaled, %d unchanged",
	    (int)argv_count(r->result->apps[C_ADD]),
	    (int)argv_count(r->result->apps[C_REMOVE]),
	    (int)argv_count(r->result->apps[C_CHANGE]),
	    (int)argv_count(r->result->apps[C_LISTEN]),
	    (int)argv_count(r->result->apps[C_SCALE]),
	    (int)argv_count(r->result->apps[C_SAME]));
	daemon_dirty();
	return r->gen;
}

static int
settled(const char *name)
{
	struct app	*a = app_find(name);
	struct target	 t = { .name = (char *)name, .instance = -1 };

	if (a == NULL)
		return 1;
	if (a->want == APP_GONE || a->roll != NULL)
		return 0;
	return app_settled(&t, 0);
}

/* From the settle pass: end the running reload once all has settled. */
void
reconfig_check(void)
{
	struct reconf	*r = running;
	struct app	*a;
	size_t		 i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++) {
		if (!settled(r->names[i]))
			return;
	}
	for (i = 0; i < r->n; i++) {
		char *e = NULL;

		a = app_find(r->names[i]);
		free(r->names[i]);
		if (a == NULL)
			continue;
		if (a->listen_error != NULL)
			e = xprintf("%s: %s", a->name, a->listen_error);
		else if (a->reload_error != NULL)
			e = xprintf("reload %s: %s", a->name,
			    a->reload_error);
		if (e != NULL) {
			log_warn("reload-config: %s", e);
			strv_add(&r->result->errors, e);
			free(e);
		}
	}
	log_info("reload-config: done");
	event_emit(NULL, NULL, "reload-config", NULL, "done");
	daemon_notify("READY=1");
	result_free(last_result);
	last_result = r->result;
	free(r->names);
	free(r);
	running = NULL;
}

/* The result of generation gen once it has ended, else NULL. */
const struct reconfig_result *
reconfig_result(unsigned gen)
{
	if (running != NULL && running->gen == gen)
		return NULL;
	return gen == generation ? last_result : NULL;
}

void
reconfig_free(void)
{
	size_t	i;

	if (running != NULL) {
		for (i = 0; i < running->n; i++)
			free(running->names[i]);
		free(running->names);
		result_free(running->result);
		free(running);
		running = NULL;
	}
	result_free(last_result);
	last_result = NULL;
}
