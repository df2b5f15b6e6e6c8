/*
 * The configuration: INI files (read by ini.c) into a list of app configs,
 * every value checked as it is read (keys.c for [app:NAME]). Errors name
 * file:line and the key. An indented line continues command only.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
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

/*
 * [daemon] keys, as rows as the app keys are (keytab.c): each sets its
 * field of struct config from the value, or says what is wrong with it.
 */
struct daemon_key;
typedef int daemon_key_fn(struct parse *, const struct daemon_key *,
    const char *, char **);

static daemon_key_fn dk_include, dk_path, dk_socket, dk_uint, dk_bool;
static daemon_key_fn dk_format, dk_url, dk_duration, dk_hook;

static const struct daemon_key {
	const char	*name;
	daemon_key_fn	*set;
	size_t		 off;		/* the field in struct config */
	int		 arg;		/* a hook's event; 1: more than 0 */
} daemon_keys[] = {
	{ "include", dk_include, 0, 0 },
	{ "log_dir", dk_path, offsetof(struct config, log_dir), 0 },
	{ "socket", dk_socket, offsetof(struct config, socket), 0 },
	{ "dump_file", dk_path, offsetof(struct config, dump_file), 0 },
	{ "max_clients", dk_uint, offsetof(struct config, max_clients), 0 },
	{ "client_idle_timeout", dk_duration,
	    offsetof(struct config, client_idle_ms), 0 },
	{ "exit_when_failed", dk_bool,
	    offsetof(struct config, exit_when_failed), 0 },
	{ "container", dk_bool, offsetof(struct config, container), 0 },
	{ "container_format", dk_format,
	    offsetof(struct config, container_json), 0 },
	{ "hook_exited", dk_hook, 0, HOOK_EXITED },
	{ "hook_restarted", dk_hook, 0, HOOK_RESTARTED },
	{ "hook_errored", dk_hook, 0, HOOK_ERRORED },
	{ "hook_online", dk_hook, 0, HOOK_ONLINE },
	{ "hook_reload_failed", dk_hook, 0, HOOK_RELOAD_FAILED },
	{ "hook_watchdog", dk_hook, 0, HOOK_WATCHDOG },
	{ "hook_timeout", dk_duration, offsetof(struct config, hook_timeout_ms),
	    1 },
	{ "metrics", dk_url, offsetof(struct config, metrics), 0 },
	{ "http", dk_url, offsetof(struct config, metrics), 0 },
	{ "http_plain_api", dk_bool, offsetof(struct config, http_plain_api),
	    0 },
	{ "http_tls_cert", dk_path, offsetof(struct config, http_tls_cert), 0 },
	{ "http_tls_key", dk_path, offsetof(struct config, http_tls_key), 0 },
};

#define DKEY_FIELD(p, k, type)	((type *)((char *)(p)->cfg + (k)->off))

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

/* include = FILE: read once this file is done, relative to its folder. */
static int
dk_include(struct parse *p, const struct daemon_key *k, const char *value,
    char **cause)
{
	size_t	n = argv_count(p->includes);

	(void)k;
	(void)cause;
	p->includes = xrealloc(p->includes, (n + 2) * sizeof *p->includes);
	p->includes[n] = path_join(p->dir, value);
	p->includes[n + 1] = NULL;
	p->include_lines = xrealloc(p->include_lines, (n + 1) *
	    sizeof *p->include_lines);
	p->include_lines[n] = p->line;
	return 0;
}

/* A path, relative to the file's folder. */
static int
dk_path(struct parse *p, const struct daemon_key *k, const char *value,
    char **cause)
{
	char		**slot = DKEY_FIELD(p, k, char *);
	struct stat	  st;

	if (*value == '\0') {
		*cause = xstrdup("expected a path");
		return -1;
	}
	free(*slot);
	*slot = path_join(p->dir, value);
	if (slot == &p->cfg->log_dir && stat(*slot, &st) == 0 &&
	    !S_ISDIR(st.st_mode)) {
		*cause = xprintf("%s exists and is not a directory", *slot);
		return -1;
	}
	return 0;
}

/* The control socket is a unix socket: a path, or unix:PATH. */
static int
dk_socket(struct parse *p, const struct daemon_key *k, const char *value,
    char **cause)
{
	const char	*path = value;

	if (strncmp(path, "unix:", 5) == 0)
		path += 5;
	if (*value != '\0' && (*path == '\0' || strstr(path, "://") != NULL)) {
		*cause = xprintf("expected a path or unix:PATH (the control "
		    "socket is a unix socket), got \"%s\"", value);
		return -1;
	}
	return dk_path(p, k, path, cause);
}

static int
dk_uint(struct parse *p, const struct daemon_key *k, const char *value,
    char **cause)
{
	unsigned long	n;

	if (parse_uint(value, 100000, &n, cause) == -1)
		return -1;
	if (n == 0) {
		*cause = xstrdup("expected at least 1");
		return -1;
	}
	*DKEY_FIELD(p, k, unsigned) = (unsigned)n;
	return 0;
}

static int
dk_bool(struct parse *p, const struct daemon_key *k, const char *value,
    char **cause)
{
	if (parse_bool(value, DKEY_FIELD(p, k, int), cause) == -1)
		return -1;
	if (DKEY_FIELD(p, k, int) == &p->cfg->exit_when_failed)
		p->cfg->exit_when_failed_set = 1;
	return 0;
}

/* container_format = text | json. */
static int
dk_format(struct parse *p, const struct daemon_key *k, const char *value,
    char **cause)
{
	if (strcmp(value, "text") != 0 && strcmp(value, "json") != 0) {
		*cause = xprintf("expected text or json, got \"%s\"", value);
		return -1;
	}
	*DKEY_FIELD(p, k, int) = value[0] == 'j';
	return 0;
}

static int
dk_url(struct parse *p, const struct daemon_key *k, const char *value,
    char **cause)
{
	char	**slot = DKEY_FIELD(p, k, char *);

	if (url_check(value, cause) == -1)
		return -1;
	free(*slot);
	*slot = xstrdup(value);
	return 0;
}

/* A duration; arg 1: more than 0. client_idle_timeout is set even if 0. */
static int
dk_duration(struct parse *p, const struct daemon_key *k, const char *value,
    char **cause)
{
	uint64_t	*ms = DKEY_FIELD(p, k, uint64_t);

	if (parse_duration(value, ms, cause) == -1)
		return -1;
	if (k->arg && *ms == 0) {
		*cause = xstrdup("expected more than 0");
		return -1;
	}
	if (ms == &p->cfg->client_idle_ms)
		p->cfg->client_idle_set = 1;
	return 0;
}

/* hook_EVENT = COMMAND, for every app: split as the command key is. */
static int
dk_hook(struct parse *p, const struct daemon_key *k, const char *value,
    char **cause)
{
	char	**argv;

	if (split_command(value, &argv, cause) == -1)
		return -1;
	argv_free(argv);
	free(p->cfg->hooks[k->arg]);
	p->cfg->hooks[k->arg] = xstrdup(value);
	return 0;
}

static void
daemon_key(struct parse *p, const char *key, const char *value)
{
	const char	*names[nitems(daemon_keys)];
	char		*cause = NULL;
	size_t		 i;

	for (i = 0; i < nitems(daemon_keys); i++) {
		names[i] = daemon_keys[i].name;
		if (strcmp(key, daemon_keys[i].name) != 0)
			continue;
		if (daemon_keys[i].set(p, &daemon_keys[i], value, &cause) == -1) {
			perror_at(p, p->line, "%s: %s", key, cause);
			free(cause);
		}
		return;
	}
	unknown_key(p, key, names, nitems(names), "[daemon]");
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
		} else if (k->off == offsetof(struct app_config, after))
			a->after_line = p->line;	/* for order_check */
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
