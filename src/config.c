/*
 * The configuration: INI files read with inih into a list of app configs,
 * every value checked as it is read. Errors name file:line and the key.
 * inih is fed by our own reader so that we know the physical line of each
 * key, can join indented continuation lines, and can refuse a line longer
 * than inih's fixed buffer instead of letting it be cut silently.
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

#include <ini.h>

#include "pmd.h"

#define INIH_LINE_MAX	200	/* INI_MAX_LINE in Debian's libinih */
#define KEYCHARS	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"

struct parse {
	struct config		*cfg;
	const char		*file;
	char			*dir;		/* of file, for relative paths */
	int			 main;		/* the main file, not an include */
	const char		*text;		/* the file, read whole */
	size_t			 textlen;
	size_t			 textoff;
	int			 line;
	int			 continued;	/* this line continues a value */
	int			 long_line;	/* first line too long to split */
	char			*buf;		/* the physical line */
	size_t			 bufsize;
	int			 fed;		/* lines given to inih ... */
	int			*linemap;	/* ... and their physical lines */
	char			*pend;		/* the rest of a long line */
	size_t			 pendoff;
	enum { CHUNK_NONE, CHUNK_FIRST, CHUNK_MORE, CHUNK_LAST } chunk;
	char			*acc;		/* a long value, glued back */
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
	"client_idle_timeout",
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
	free(a->fingerprint);
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

static void begin_section(struct parse *, const char *);

/*
 * The last place at most max bytes into s between two non-blanks, where the
 * piece after it does not start with ; or # (inih would take it for a
 * comment), or 0.
 */
static size_t
cut_point(const char *s, size_t max)
{
	size_t	i;

	for (i = max; i > 0; i--) {
		if (s[i] != '\0' && !isspace((unsigned char)s[i - 1]) &&
		    !isspace((unsigned char)s[i]) && s[i] != ';' && s[i] != '#')
			return i;
	}
	return 0;
}

/* A line inih cannot take: given as a blank line, reported as an error. */
static char *
too_long(struct parse *p, char *str)
{
	if (p->long_line == 0)
		p->long_line = p->line;
	strcpy(str, "\n");
	return str;
}

/* The next line of the file into p->buf (with its newline); its length. */
static ssize_t
next_line(struct parse *p)
{
	const char	*start = p->text + p->textoff, *nl;
	size_t		 len;

	if (p->textoff >= p->textlen)
		return -1;
	nl = memchr(start, '\n', p->textlen - p->textoff);
	len = nl != NULL ? (size_t)(nl - start) + 1 : p->textlen - p->textoff;
	if (len + 1 > p->bufsize) {
		p->bufsize = len + 1;
		p->buf = xrealloc(p->buf, p->bufsize);
	}
	memcpy(p->buf, start, len);
	p->buf[len] = '\0';
	p->textoff += len;
	return (ssize_t)len;
}

/*
 * inih's reader. Reads one physical line per call (so we know each key's
 * line), un-indents lines that are keys or sections (inih would take them
 * as continuations), notes sections as they start, and feeds a line longer
 * than inih's buffer as pieces that inih sees as continuation lines: each
 * piece is cut between two non-blanks so inih's trimming loses nothing, and
 * the handler glues them back before it uses the value.
 */
static char *
reader(char *str, int num, void *stream)
{
	struct parse	*p = stream;
	char		*line, *lead, *end, *name, *eq;
	size_t		 len, cut;
	ssize_t		 n;

	p->fed++;
	p->linemap = xrealloc(p->linemap, (p->fed + 1) * sizeof *p->linemap);
	p->continued = 0;
	if (p->pend != NULL) {
		len = strlen(p->pend + p->pendoff);
		cut = len + 4 <= (size_t)num ? len :
		    cut_point(p->pend + p->pendoff, num - 4);
		if (cut == 0)
			cut = num - 4;	/* blanks only: nothing to lose */
		snprintf(str, num, "  %.*s\n", (int)cut, p->pend + p->pendoff);
		p->pendoff += cut;
		p->chunk = p->pend[p->pendoff] == '\0' ? CHUNK_LAST : CHUNK_MORE;
		if (p->chunk == CHUNK_LAST) {
			free(p->pend);
			p->pend = NULL;
		}
		p->linemap[p->fed] = p->line;
		return str;
	}
	p->chunk = CHUNK_NONE;
	if ((n = next_line(p)) == -1)
		return NULL;
	p->line++;
	p->linemap[p->fed] = p->line;
	line = p->buf;
	if (strlen(line) != (size_t)n) {
		perror_at(p, p->line, "the line holds a NUL byte");
		strcpy(str, "\n");
		return str;
	}
	/* A byte-order mark, as some editors write, starts no key. */
	if (p->line == 1 && strncmp(line, "\xef\xbb\xbf", 3) == 0) {
		memmove(line, line + 3, n - 2);
		n -= 3;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	lead = line + strspn(line, " \t");
	if (lead != line && (*lead == '[' || lead[strspn(lead, KEYCHARS) +
	    strspn(lead + strspn(lead, KEYCHARS), " \t")] == '=')) {
		/* An indented "key = value" or [section] is not a continuation. */
		line = lead;
	}
	p->continued = lead != line && *lead != '\0' && *lead != ';' &&
	    *lead != '#';
	if (*lead == '[' && (end = strchr(lead, ']')) != NULL) {
		name = xstrndup(lead + 1, end - lead - 1);
		begin_section(p, name);
		end += 1 + strspn(end + 1, " \t");
		if (*end != '\0' && *end != ';' && *end != '#')
			perror_at(p, p->line, "[%s]: text after the section "
			    "header: \"%.40s\"", name, end);
		free(name);
	}
	if (strlen(line) + 2 <= (size_t)num) {
		snprintf(str, num, "%s\n", line);
		return str;
	}
	if (*lead == ';' || *lead == '#') {
		strcpy(str, "\n");
		return str;
	}
	if (p->continued || (eq = strchr(line, '=')) == NULL)
		return too_long(p, str);
	/* Drop an inline comment here: inih would see only part of it. */
	for (end = eq; (end = strchr(end, ';')) != NULL; end++) {
		if (isspace((unsigned char)end[-1])) {
			*end = '\0';
			break;
		}
	}
	len = strlen(line);
	while (len > 0 && isspace((unsigned char)line[len - 1]))
		line[--len] = '\0';
	if (len + 2 <= (size_t)num) {
		snprintf(str, num, "%s\n", line);
		return str;
	}
	cut = cut_point(line, num - 2);
	if (cut <= (size_t)(eq - line) + 1 + strspn(eq + 1, " \t"))
		return too_long(p, str);
	snprintf(str, num, "%.*s\n", (int)cut, line);
	p->pend = xstrdup(line + cut);
	p->pendoff = 0;
	p->chunk = CHUNK_FIRST;
	return str;
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
		    "64 of A-Z a-z 0-9 . _ - (and not \"all\")", section, name);
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
	free(*slot);
	*slot = path_join(p->dir, value);
	if (slot == &p->cfg->log_dir && stat(*slot, &st) == 0 &&
	    !S_ISDIR(st.st_mode))
		perror_at(p, p->line, "log_dir: %s exists and is not a "
		    "directory", *slot);
}

/* The app's keys as written (but instances), to tell a changed app. */
static void
remember(struct app_config *a, const char *key, const char *value)
{
	char	*s;

	if (strcmp(key, "instances") == 0)
		return;
	s = xprintf("%s%s=%s\n", a->fingerprint ? a->fingerprint : "", key,
	    value);
	free(a->fingerprint);
	a->fingerprint = s;
}

static void
app_key(struct parse *p, const char *key, const char *value)
{
	const struct app_key	*k;
	struct app_config	*a = p->app;
	const char		*names[64];
	char			*cause;
	size_t			 i, n = 0;

	remember(a, key, value);
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

static int
handler(void *user, const char *section, const char *key, const char *value)
{
	struct parse	*p = user;
	char		*joined;

	if (p->error != NULL)
		return 1;
	if (p->chunk != CHUNK_NONE) {
		/* A piece of a long line: glue, and go on with the whole. */
		joined = xprintf("%s%s", p->chunk == CHUNK_FIRST ? "" :
		    p->acc, value);
		free(p->acc);
		p->acc = joined;
		if (p->chunk != CHUNK_LAST)
			return 1;
		value = p->acc;
	}
	if (p->continued && strcmp(key, p->lastkey) == 0) {
		/* An indented line continues the value before it. */
		if (p->section == S_APP && strcmp(key, "command") == 0) {
			joined = xprintf("%s %s", p->app->command, value);
			app_key(p, key, joined);
			free(joined);
			return 1;
		}
		perror_at(p, p->line, "%s: only command may continue on an "
		    "indented line", key);
		return 1;
	}
	if (p->section == S_NONE) {
		perror_at(p, p->line, "%s: key outside a section: start with "
		    "[daemon] or [app:NAME]", key);
		return 1;
	}
	snprintf(p->lastkey, sizeof p->lastkey, "%s", key);
	if (p->section == S_BAD)
		return 1;
	if (seen_key(p, key)) {
		perror_at(p, p->line, "%s: set twice in [%s]", key, section);
		return 1;
	}
	if (p->section == S_DAEMON)
		daemon_key(p, key, value);
	else
		app_key(p, key, value);
	return 1;
}

static int parse_file(struct config *, const char *, int, char **);

static int
parse_includes(struct parse *p, char **cause)
{
	struct stat	 st;
	glob_t		 g;
	size_t		 i, j;
	int		 rc, line;

	for (i = 0; p->includes != NULL && p->includes[i] != NULL; i++) {
		line = p->include_lines[i];
		rc = glob(p->includes[i], GLOB_ERR, NULL, &g);
		if (rc == GLOB_NOMATCH) {
			/* A pattern may match nothing; a plain path must be. */
			if (strpbrk(p->includes[i], "*?[") != NULL)
				continue;
			*cause = xprintf("%s:%d: include: %s: no such file",
			    p->file, line, p->includes[i]);
			return -1;
		}
		if (rc != 0) {
			*cause = xprintf("%s:%d: include: cannot read \"%s\"",
			    p->file, line, p->includes[i]);
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
	}
	return 0;
}

static int
parse_file(struct config *cfg, const char *file, int main, char **cause)
{
	struct parse	 p;
	int		 rc;

	char		*text;

	memset(&p, 0, sizeof p);
	p.cfg = cfg;
	p.file = file;
	p.main = main;
	if (file_read(file, CONFIG_MAX, &text, &p.textlen, cause) == -1)
		return -1;
	p.text = text;
	p.dir = path_dirname(file);
	rc = ini_parse_stream(reader, &p, handler, &p);
	free(text);
	strv_add(&cfg->files, file);
	/* perror_at keeps the earliest: ours, inih's syntax error, a long line. */
	if (rc > 0)
		perror_at(&p, p.linemap[rc], "syntax error: expected [section], "
		    "key = value, or a comment");
	if (p.long_line != 0)
		perror_at(&p, p.long_line, "line too long to read: a "
		    "continuation line or a key of over %d characters",
		    INIH_LINE_MAX - 4);
	if (rc < 0 && p.error == NULL)
		p.error = xprintf("%s: out of memory", file);
	if (p.error == NULL && main)
		rc = parse_includes(&p, &p.error);
	free(p.dir);
	free(p.seen);
	free(p.buf);
	free(p.linemap);
	free(p.pend);
	free(p.acc);
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
