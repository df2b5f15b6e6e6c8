/*
 * The configuration: INI files (read by ini.c) into a list of app configs,
 * every value checked as it is read (keys.c for [app:NAME]). Errors name
 * file:line and the key. An indented line continues command only.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmd.h"


struct parse {
	struct config		*cfg;
	const char		*file;
	char			*dir;		/* of file, for relative paths */
	int			 main;		/* the main file, not an include */
	int			 line;		/* of what is being read */
	char			*error;		/* first error, "file:line: ..." */
	int			 error_line;

	enum { S_NONE, S_DAEMON, S_APP, S_BAD } section;
	struct app_config	*app;
	char			 lastkey[128];
	char			**includes;
	int			*include_lines;
	int			 daemon_line;	/* where [daemon] began */
	char			*seen;		/* "\nkey\n" per key of section */
};

#define CONFIG_MAX	(4 * 1024 * 1024)	/* bytes in one config file */

static const char *const daemon_keys[] = {
	"include", "log_dir", "socket", "dump_file", "max_clients",
	"client_idle_timeout", "exit_when_failed", "container",
	"container_format", "hook_exited", "hook_restarted", "hook_errored",
	"hook_online", "hook_reload_failed", "hook_watchdog", "hook_timeout",
	"metrics",
};

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

static void
perror_at(struct parse *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
perror_at(struct parse *p, int line, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	if (p->error != NULL && p->error_line <= line)
		return;
	free(p->error);
	p->error_line = line;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	p->error = xprintf("%s:%d: %s", p->file, line, msg ? msg : "error");
	free(msg);
}

/* Whether key was set before in this section; remembers it if not. */
static int
seen_key(struct parse *p, const char *key)
{
	char	*needle = xprintf("\n%s\n", key);
	int	 found = p->seen != NULL && strstr(p->seen, needle) != NULL;
	char	*grown;

	if (!found) {
		grown = xprintf("%s%s\n", p->seen ? p->seen : "\n", key);
		free(p->seen);
		p->seen = grown;
	}
	free(needle);
	return found;
}

static void
begin_section(struct parse *p, const char *section)
{
	struct app_config	*a;
	const char		*name;

	free(p->seen);
	p->seen = NULL;
	p->app = NULL;
	p->section = S_BAD;
	if (strcmp(section, "daemon") == 0) {
		if (!p->main) {
			perror_at(p, p->line, "[daemon] is only allowed in the "
			    "main config file");
			return;
		}
		if (p->daemon_line != 0) {
			perror_at(p, p->line, "[daemon] appears twice (first at "
			    "line %d): keep one", p->daemon_line);
			return;
		}
		p->daemon_line = p->line;
		p->section = S_DAEMON;
		return;
	}
	if (strncmp(section, "app:", 4) != 0) {
		perror_at(p, p->line, "unknown section [%s]: expected [daemon] "
		    "or [app:NAME]", section);
		return;
	}
	name = section + 4;
	if (!app_name_valid(name)) {
		perror_at(p, p->line, "[%s]: invalid app name \"%s\": use 1 to "
		    "64 of A-Z a-z 0-9 . _ - (not \"all\", not all digits: "
		    "those are worker ids)", section, name);
		return;
	}
	if ((a = config_find(p->cfg, name)) != NULL) {
		perror_at(p, p->line, "[%s]: app \"%s\" is already defined at "
		    "%s:%d", section, name, a->file, a->line);
		return;
	}
	a = appcfg_new(name);
	a->file = xstrdup(p->file);
	a->line = p->line;
	a->cwd = xstrdup(p->dir);
	TAILQ_INSERT_TAIL(&p->cfg->apps, a, entry);
	p->app = a;
	p->section = S_APP;
}

static void
set_env(struct parse *p, struct app_config *a, const char *key,
    const char *value)
{
	const char	*dot = strchr(key, '.'), *var = dot + 1;
	char		*profile = NULL;
	size_t		 i;

	if (strncmp(key, "env_", 4) == 0) {
		profile = xstrndup(key + 4, dot - (key + 4));
		if (*profile == '\0' || strspn(profile, "abcdefghijklmnopqrstuv"
		    "wxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
		    strlen(profile)) {
			perror_at(p, p->line, "%s: invalid profile name \"%s\"",
			    key, profile);
			free(profile);
			return;
		}
	}
	if (!env_name_valid(var)) {
		perror_at(p, p->line, "%s: invalid environment variable name "
		    "\"%s\"", key, var);
		free(profile);
		return;
	}
	i = a->nenv++;
	a->env = xrealloc(a->env, a->nenv * sizeof *a->env);
	a->env[i].profile = profile;
	a->env[i].key = xstrdup(var);
	a->env[i].value = xstrdup(value);
}

static void
unknown_key(struct parse *p, const char *key, const char *const *keys,
    size_t nkeys, const char *where)
{
	const char	*close = suggest(key, keys, nkeys);

	if (close != NULL)
		perror_at(p, p->line, "%s: unknown key in %s (did you mean "
		    "\"%s\"?)", key, where, close);
	else
		perror_at(p, p->line, "%s: unknown key in %s", key, where);
}

static void
daemon_key(struct parse *p, const char *key, const char *value)
{
	char		**slot = NULL, *cause = NULL;
	struct stat	  st;

	if (strcmp(key, "include") == 0) {
		size_t n = argv_count(p->includes);

		p->includes = xrealloc(p->includes, (n + 2) *
		    sizeof *p->includes);
		p->includes[n] = path_join(p->dir, value);
		p->includes[n + 1] = NULL;
		p->include_lines = xrealloc(p->include_lines, (n + 1) *
		    sizeof *p->include_lines);
		p->include_lines[n] = p->line;
		return;
	}
	if (strncmp(key, "hook_", 5) == 0) {
		const struct app_key *k = key_find(key);
		char **argv;
		int h;
		for (h = 0; k != NULL && h < HOOK_COUNT; h++) {
			if (k->off == offsetof(struct app_config, hooks[h]))
				break;
		}
		if (k != NULL && h < HOOK_COUNT) {
			if (split_command(value, &argv, &cause) == -1) {
				perror_at(p, p->line, "%s: %s", key, cause);
				free(cause);
				return;
			}
			argv_free(argv);
			free(p->cfg->hooks[h]);
			p->cfg->hooks[h] = xstrdup(value);
			return;
		}
	}
	if (strcmp(key, "max_clients") == 0) {
		unsigned long n;
		if (parse_uint(value, 100000, &n, &cause) == -1 || n == 0) {
			perror_at(p, p->line, "%s: %s", key, cause ? cause :
			    "expected at least 1");
			free(cause);
			return;
		}
		p->cfg->max_clients = (unsigned)n;
		return;
	}
	if (strcmp(key, "container_format") == 0) {
		if (strcmp(value, "text") == 0 || strcmp(value, "json") == 0)
			p->cfg->container_json = value[0] == 'j';
		else
			perror_at(p, p->line, "%s: expected text or json, got "
			    "\"%s\"", key, value);
		return;
	}
	if (strcmp(key, "exit_when_failed") == 0 ||
	    strcmp(key, "container") == 0) {
		int *flag = key[0] == 'e' ? &p->cfg->exit_when_failed :
		    &p->cfg->container;
		if (parse_bool(value, flag, &cause) == -1) {
			perror_at(p, p->line, "%s: %s", key, cause);
			free(cause);
		}
		p->cfg->exit_when_failed_set |= key[0] == 'e';
		return;
	}
	if (strcmp(key, "metrics") == 0) {
		if (url_check(value, &cause) == -1) {
			perror_at(p, p->line, "%s: %s", key, cause);
			free(cause);
			return;
		}
		free(p->cfg->metrics);
		p->cfg->metrics = xstrdup(value);
		return;
	}
	if (strcmp(key, "hook_timeout") == 0) {
		if (parse_duration(value, &p->cfg->hook_timeout_ms,
		    &cause) == -1 || p->cfg->hook_timeout_ms == 0) {
			perror_at(p, p->line, "%s: %s", key, cause ? cause :
			    "expected more than 0");
			free(cause);
		}
		return;
	}
	if (strcmp(key, "client_idle_timeout") == 0) {
		if (parse_duration(value, &p->cfg->client_idle_ms,
		    &cause) == -1) {
			perror_at(p, p->line, "%s: %s", key, cause);
			free(cause);
			return;
		}
		p->cfg->client_idle_set = 1;
		return;
	}
	if (strcmp(key, "log_dir") == 0)
		slot = &p->cfg->log_dir;
	else if (strcmp(key, "socket") == 0)
		slot = &p->cfg->socket;
	else if (strcmp(key, "dump_file") == 0)
		slot = &p->cfg->dump_file;
	else {
		unknown_key(p, key, daemon_keys, nitems(daemon_keys),
		    "[daemon]");
		return;
	}
	if (*value == '\0') {
		perror_at(p, p->line, "%s: expected a path", key);
		return;
	}
	/* The control socket is a unix socket: a path, or unix:PATH. */
	if (slot == &p->cfg->socket && strncmp(value, "unix:", 5) == 0)
		value += 5;
	if (slot == &p->cfg->socket && (*value == '\0' ||
	    strstr(value, "://") != NULL)) {
		perror_at(p, p->line, "socket: expected a path or unix:PATH "
		    "(the control socket is a unix socket), got \"%s\"",
		    value);
		return;
	}
	free(*slot);
	*slot = path_join(p->dir, value);
	if (slot == &p->cfg->log_dir && stat(*slot, &st) == 0 &&
	    !S_ISDIR(st.st_mode))
		perror_at(p, p->line, "log_dir: %s exists and is not a "
		    "directory", *slot);
}

static void
app_key(struct parse *p, const char *key, const char *value)
{
	const struct app_key	*k;
	struct app_config	*a = p->app;
	const char		*names[64];
	char			*cause;
	size_t			 i, n = 0;

	if ((strncmp(key, "env.", 4) == 0 || strncmp(key, "env_", 4) == 0) &&
	    strchr(key, '.') != NULL) {
		set_env(p, a, key, value);
		return;
	}
	if ((k = key_find(key)) != NULL) {
		if (key_set(k, a, value, p->dir, &cause) == -1) {
			perror_at(p, p->line, "%s: %s", key, cause);
			free(cause);
		}
		return;
	}
	for (i = 0; i < napp_keys && n < nitems(names) - 2; i++)
		names[n++] = app_keys[i].name;
	names[n++] = "env.NAME";
	names[n++] = "env_PROFILE.NAME";
	unknown_key(p, key, names, n, "[app:NAME]");
}

/* A key of the file (ini.c), at line; continued: on an indented line. */
static void
on_key(void *arg, int line, const char *section, const char *key,
    const char *value, int continued)
{
	struct parse	*p = arg;
	char		*joined;

	p->line = line;
	if (p->error != NULL)
		return;
	if (continued && strcmp(key, p->lastkey) == 0) {
		/* An indented line continues the value before it. */
		if (p->section == S_APP && strcmp(key, "command") == 0) {
			joined = xprintf("%s %s", p->app->command, value);
			app_key(p, key, joined);
			free(joined);
			return;
		}
		perror_at(p, p->line, "%s: only command may continue on an "
		    "indented line", key);
		return;
	}
	if (p->section == S_NONE) {
		perror_at(p, p->line, "%s: key outside a section: start with "
		    "[daemon] or [app:NAME]", key);
		return;
	}
	snprintf(p->lastkey, sizeof p->lastkey, "%s", key);
	if (p->section == S_BAD)
		return;
	if (seen_key(p, key)) {
		perror_at(p, p->line, "%s: set twice in [%s]", key, section);
		return;
	}
	if (p->section == S_DAEMON)
		daemon_key(p, key, value);
	else
		app_key(p, key, value);
}

static void
on_section(void *arg, int line, const char *name, const char *rest)
{
	struct parse	*p = arg;

	p->line = line;
	begin_section(p, name);
	if (*rest != '\0')
		perror_at(p, line, "[%s]: text after the section header: "
		    "\"%.40s\"", name, rest);
}

static void
on_error(void *arg, int line, const char *msg)
{
	struct parse	*p = arg;

	if (line == 0 && p->error == NULL)
		p->error = xprintf("%s: %s", p->file, msg);
	else if (line > 0)
		perror_at(p, line, "%s", msg);
}

static int parse_file(struct config *, const char *, int, char **);

static int	glob_errno;

/*
 * A directory an include pattern goes through is missing: it matches
 * nothing, as a pattern may. Any other error stops the glob.
 */
static int
glob_error(const char *path, int e)
{
	(void)path;
	if (e == ENOENT || e == ENOTDIR)
		return 0;
	glob_errno = e;
	return 1;
}

static int
parse_includes(struct parse *p, char **cause)
{
	struct stat	 st;
	glob_t		 g;
	size_t		 i, j;
	int		 rc, line;

	for (i = 0; p->includes != NULL && p->includes[i] != NULL; i++) {
		line = p->include_lines[i];
		glob_errno = 0;
		rc = glob(p->includes[i], 0, glob_error, &g);
		if (rc == GLOB_NOMATCH) {
			/* A pattern may match nothing; a plain path must be. */
			if (strpbrk(p->includes[i], "*?[") != NULL)
				continue;
			*cause = xprintf("%s:%d: include: %s: no such file",
			    p->file, line, p->includes[i]);
			return -1;
		}
		if (rc != 0) {
			*cause = xprintf("%s:%d: include: cannot read \"%s\"%s%s",
			    p->file, line, p->includes[i], glob_errno ? ": " : "",
			    glob_errno ? strerror(glob_errno) : "");
			globfree(&g);
			return -1;
		}
		for (j = 0; j < g.gl_pathc; j++) {
			if (stat(g.gl_pathv[j], &st) == 0 &&
			    S_ISDIR(st.st_mode)) {
				*cause = xprintf("%s:%d: include: %s is a "
				    "directory (include %s/*.conf for its "
				    "files)", p->file, line, g.gl_pathv[j],
				    g.gl_pathv[j]);
				globfree(&g);
				return -1;
			}
			if (parse_file(p->cfg, g.gl_pathv[j], 0, cause) == -1) {
				globfree(&g);
				return -1;
			}
		}
		globfree(&g);
	}
	return 0;
}

/* Whether a listens on a unix socket. */
static int
unix_listen(const struct app_config *a)
{
	size_t	i;

	for (i = 0; a->listen != NULL && a->listen[i] != NULL; i++) {
		if (strncmp(a->listen[i], "unix:", 5) == 0)
			return 1;
	}
	return 0;
}

static int
check_apps(struct config *cfg, char **cause)
{
	struct app_config	*a;

	TAILQ_FOREACH(a, &cfg->apps, entry) {
		if (a->argv == NULL) {
			*cause = xprintf("%s:%d: [app:%s]: command: required "
			    "key missing", a->file, a->line, a->name);
			return -1;
		}
		if (a->listen_balance == LISTEN_STICKY &&
		    unix_listen(a)) {
			*cause = xprintf("%s:%d: [app:%s]: listen_balance = "
			    "sticky takes tcp:// addresses only (a unix socket "
			    "has no SO_REUSEPORT group to pick from)", a->file,
			    a->line, a->name);
			return -1;
		}
	}
	return 0;
}

static int
parse_file(struct config *cfg, const char *file, int main, char **cause)
{
	static const struct ini_handler h = { on_section, on_key, on_error };
	struct parse	 p;
	char		*text;
	size_t		 len;

	memset(&p, 0, sizeof p);
	p.cfg = cfg;
	p.file = file;
	p.main = main;
	if (file_read(file, CONFIG_MAX, &text, &len, cause) == -1)
		return -1;
	p.dir = path_dirname(file);
	/* on_error keeps the earliest: a key's, a syntax error, a long line. */
	ini_read(text, len, &h, &p);
	free(text);
	strv_add(&cfg->files, file);
	if (p.error == NULL && main)
		parse_includes(&p, &p.error);
	free(p.dir);
	free(p.seen);
	argv_free(p.includes);
	free(p.include_lines);
	if (p.error != NULL) {
		*cause = p.error;
		return -1;
	}
	return 0;
}

/*
 * Load file and its includes. With an owner (a peer with less privilege
 * than pmd started it), every file is read with the owner's permissions,
 * so pmd reads nothing for it that it could not read itself, and every app
 * is confined to run as the owner.
 */
int
config_load(const char *file, uid_t owner, struct config **cfgp,
    char **cause)
{
	struct config		*cfg = config_empty();
	struct app_config	*a;
	char			 abs[PATH_MAX];
	int			 rc = -1;

	if (owner != OWNER_NONE && fs_become(owner, cause) == -1) {
		config_free(cfg);
		return -1;
	}
	if (realpath(file, abs) == NULL)
		*cause = xprintf("%s: %s", file, strerror(errno));
	else {
		cfg->file = xstrdup(abs);
		rc = parse_file(cfg, abs, 1, cause);
	}
	if (owner != OWNER_NONE)
		fs_restore();
	if (rc == 0)
		rc = check_apps(cfg, cause);
	TAILQ_FOREACH(a, &cfg->apps, entry) {
		if (rc == 0)
			rc = appcfg_confine(a, owner, cause);
	}
	if (rc == -1) {
		config_free(cfg);
		return -1;
	}
	*cfgp = cfg;
	return 0;
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
