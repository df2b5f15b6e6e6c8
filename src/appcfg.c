/*
 * App configs and the config as objects: made (from a file's section or
 * an ad-hoc command), shared by reference between the config and the
 * running app, confined to a peer's rights, compared (does a change need
 * a restart?), merged and freed. config.c reads them from INI files.
 */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmd.h"

struct app_config *
appcfg_new(const char *name)
{
	struct app_config	*a = xcalloc(1, sizeof *a);

	a->refs = 1;
	a->name = xstrdup(name);
	a->uid = (uid_t)-1;
	a->gid = (gid_t)-1;
	a->watch = -1;
	a->owner = OWNER_NONE;
	keys_default(a);
	return a;
}

/*
 * The config of an app started as a command (pmctl start -- CMD): takes
 * argv; command is argv joined, for show.
 */
struct app_config *
appcfg_adhoc(const char *name, char **argv, const char *cwd, int instances)
{
	struct app_config	*a = appcfg_new(name);
	size_t			 i;
	char			*s;

	a->argv = argv;
	a->instances = instances;
	a->cwd = xstrdup(cwd);
	a->command = xstrdup(argv[0]);
	for (i = 1; argv[i] != NULL; i++) {
		s = xprintf("%s %s", a->command, argv[i]);
		free(a->command);
		a->command = s;
	}
	return a;
}

void
appcfg_ref(struct app_config *a)
{
	a->refs++;
}

void
appcfg_unref(struct app_config *a)
{
	size_t	i;

	if (a == NULL || --a->refs > 0)
		return;
	for (i = 0; i < a->nenv; i++) {
		free(a->env[i].profile);
		free(a->env[i].key);
		free(a->env[i].value);
	}
	free(a->env);
	free(a->name);
	free(a->file);
	keys_free(a);
	free(a);
}

struct config *
config_empty(void)
{
	struct config	*cfg = xcalloc(1, sizeof *cfg);

	TAILQ_INIT(&cfg->apps);
	return cfg;
}

void
config_free(struct config *cfg)
{
	struct app_config	*a;
	int			 i;

	if (cfg == NULL)
		return;
	while ((a = TAILQ_FIRST(&cfg->apps)) != NULL) {
		TAILQ_REMOVE(&cfg->apps, a, entry);
		appcfg_unref(a);
	}
	free(cfg->file);
	free(cfg->log_dir);
	free(cfg->socket);
	free(cfg->dump_file);
	free(cfg->metrics);
	free(cfg->http_tls_cert);
	free(cfg->http_tls_key);
	for (i = 0; i < HOOK_COUNT; i++)
		free(cfg->hooks[i]);
	argv_free(cfg->files);
	argv_free(cfg->extra);
	free(cfg->extra_owner);
	free(cfg);
}

struct app_config *
config_find(struct config *cfg, const char *name)
{
	struct app_config	*a;

	TAILQ_FOREACH(a, &cfg->apps, entry) {
		if (strcmp(a->name, name) == 0)
			return a;
	}
	return NULL;
}

static int
in_groups(const struct passwd *pw, gid_t gid)
{
	gid_t	groups[256];
	int	n = nitems(groups), i;

	if (gid == pw->pw_gid)
		return 1;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) == -1)
		return 0;
	for (i = 0; i < n; i++) {
		if (groups[i] == gid)
			return 1;
	}
	return 0;
}

/* Where a's errors point: "FILE:LINE: " or "". */
static char *
appcfg_where(const struct app_config *a)
{
	return a->file != NULL ? xprintf("%s:%d: [app:%s]: ", a->file,
	    a->line, a->name) : xstrdup("");
}

/*
 * Make a run as owner, or say why it cannot: a peer with less privilege
 * than pmd gets none of pmd's through it. It may not run an app as
 * someone else, choose the files pmd writes logs to, or have pmd bind a
 * unix socket path or a privileged port.
 */
int
appcfg_confine(struct app_config *a, uid_t owner, char **cause)
{
	struct passwd	*pw;
	const char	*port;
	char		*where, *why = NULL;
	size_t		 i;

	if (owner == OWNER_NONE)
		return 0;
	if ((pw = getpwuid(owner)) == NULL) {
		*cause = xprintf("uid %ld has no entry in the user database; "
		    "pmd runs what it starts as that user", (long)owner);
		return -1;
	}
	if (a->user != NULL && a->uid != owner)
		why = xprintf("user: uid %ld may start apps only as itself "
		    "(%s)", (long)owner, pw->pw_name);
	else if (a->group != NULL && !in_groups(pw, a->gid))
		why = xprintf("group: %s is not a group of %s", a->group,
		    pw->pw_name);
	else if (a->out_file != NULL || a->err_file != NULL)
		why = xprintf("%s: only root chooses the log files of a root "
		    "pmd; apps of %s log to its log_dir", a->out_file ?
		    "out_file" : "err_file", pw->pw_name);
	for (i = 0; why == NULL && a->listen != NULL && a->listen[i]; i++) {
		port = strrchr(a->listen[i], ':');
		if (strncmp(a->listen[i], "unix:", 5) == 0)
			why = xprintf("listen: %s: only root may have a root "
			    "pmd bind a unix socket path", a->listen[i]);
		else if (port != NULL && atoi(port + 1) < 1024)
			why = xprintf("listen: %s: only root may bind a port "
			    "below 1024", a->listen[i]);
	}
	if (why != NULL) {
		where = appcfg_where(a);
		*cause = xprintf("%s%s", where, why);
		free(where);
		free(why);
		return -1;
	}
	free(a->user);
	a->user = xstrdup(pw->pw_name);
	a->uid = owner;
	if (a->group == NULL)
		a->gid = pw->pw_gid;
	a->owner = owner;
	return 0;
}

static int
env_has(const struct app_config *a, const struct envvar *e)
{
	size_t	i;

	for (i = 0; i < a->nenv; i++) {
		if (strcmp(a->env[i].key, e->key) == 0 &&
		    strcmp(a->env[i].value, e->value) == 0 &&
		    ((a->env[i].profile == NULL && e->profile == NULL) ||
		    (a->env[i].profile != NULL && e->profile != NULL &&
		    strcmp(a->env[i].profile, e->profile) == 0)))
			return 1;
	}
	return 0;
}

/*
 * Whether a and b run the same way: every key (but instances, which only
 * scales) and the environment hold the same values, however written.
 */
int
appcfg_same(const struct app_config *a, const struct app_config *b)
{
	size_t	i;

	if (!keys_equal(a, b, "instances") || a->nenv != b->nenv)
		return 0;
	for (i = 0; i < a->nenv; i++) {
		if (!env_has(b, &a->env[i]))
			return 0;
	}
	return 1;
}

/*
 * Add a (taken off its own list) to cfg's apps. An app of that name there
 * is replaced in its place, unless keep: then a is dropped and the one
 * there returned.
 */
struct app_config *
config_merge(struct config *cfg, struct app_config *a, int keep)
{
	struct app_config	*known = config_find(cfg, a->name);

	if (known == NULL) {
		TAILQ_INSERT_TAIL(&cfg->apps, a, entry);
		return a;
	}
	if (keep) {
		appcfg_unref(a);
		return known;
	}
	TAILQ_INSERT_BEFORE(known, a, entry);
	TAILQ_REMOVE(&cfg->apps, known, entry);
	appcfg_unref(known);
	return a;
}

/* Remember file, added by pmctl start FILE (of owner), for reload-config. */
void
config_add_extra(struct config *cfg, const char *file, uid_t owner)
{
	size_t	n = argv_count(cfg->extra);

	if (strv_has(cfg->extra, file))
		return;
	strv_add(&cfg->extra, file);
	cfg->extra_owner = xrealloc(cfg->extra_owner, (n + 1) *
	    sizeof *cfg->extra_owner);
	cfg->extra_owner[n] = owner;
}
