/*
 * PM2's ecosystem files (ecosystem.config.js, .cjs, .json), for pmctl
 * start and pmctl import. A .js file is evaluated by node, run by pmctl
 * (never by pmd); a .json file is read here. Each app becomes an object
 * of start's ad-hoc form: name, command, cwd, instances, env, keys (pmd's
 * key names, values as text), profiles (env_NAME blocks), and the keys
 * PM2 has and pmd does not are named in warnings on stderr.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmctl.h"

#define ECO_MAX		(16 * 1024 * 1024)

/* Evaluates a CommonJS (or ESM default) export and prints it as JSON. */
static const char node_eval[] =
    "const f = require('path').resolve(process.argv[1]);"
    "let m = require(f);"
    "if (m && typeof m === 'object' && 'default' in m && !('apps' in m))"
    "  m = m.default;"
    "process.stdout.write(JSON.stringify(m === undefined ? null : m));";

/*
 * One app of an ecosystem file as it is being read: where it comes from
 * and the parts of start's form that eco_app fills in.
 */
struct eco {
	const char	*file;		/* the ecosystem file, for messages */
	const char	*dir;		/* its directory */
	const char	*profile;	/* --env, or NULL */
	const cJSON	*in;		/* the app object of the file */
	char		*name;
	char		*cwd;
	const char	*interp;	/* the interpreter, or NULL */
	cJSON		*out;		/* the app in start's form */
	cJSON		*keys;		/* its "keys" */
	cJSON		*env;		/* its "env" */
	cJSON		*profiles;	/* its "profiles" */
};

/* How a PM2 key becomes pmd's: arg is the pmd key or a separator. */
typedef void eco_map_fn(struct eco *, const char *, const cJSON *,
    const char *);

static eco_map_fn map_same, map_path, map_rename, map_list, map_watch;
static eco_map_fn map_date, map_time, map_env;

/*
 * The PM2 keys pmctl maps. A NULL map is a key read by eco_app itself
 * (the command, cwd, instances...). A key not here that is a pmd key
 * passes through; any other is warned about.
 */
static const struct eco_key {
	const char	*name;
	eco_map_fn	*map;
	const char	*arg;
} eco_keys[] = {
	/* The same meaning and value syntax as pmd's key. */
	{ "max_memory_restart", map_same, NULL },
	{ "cron_restart", map_same, NULL },
	{ "autorestart", map_same, NULL },
	{ "max_restarts", map_same, NULL },
	{ "min_uptime", map_same, NULL },
	{ "restart_delay", map_same, NULL },
	{ "exp_backoff_restart_delay", map_same, NULL },
	{ "kill_timeout", map_same, NULL },
	{ "listen_timeout", map_same, NULL },
	{ "merge_logs", map_same, NULL },
	{ "namespace", map_same, NULL },
	{ "kill_signal", map_same, NULL },
	/* process.send('ready') comes over the message channel. */
	{ "wait_ready", map_same, NULL },
	/* Another name; output and error are PM2's aliases. */
	{ "out_file", map_path, "out_file" },
	{ "output", map_path, "out_file" },
	{ "error_file", map_path, "err_file" },
	{ "error", map_path, "err_file" },
	{ "combine_logs", map_rename, "merge_logs" },
	{ "uid", map_rename, "user" },
	{ "gid", map_rename, "group" },
	/* A list as pmd writes it. */
	{ "stop_exit_codes", map_list, ", " },
	{ "ignore_watch", map_list, "," },
	{ "watch", map_watch, NULL },
	{ "log_date_format", map_date, NULL },
	{ "time", map_time, NULL },
	{ "env", map_env, NULL },
	/* Read by eco_app. */
	{ "name", NULL, NULL }, { "script", NULL, NULL }, { "args", NULL, NULL },
	{ "interpreter", NULL, NULL }, { "exec_interpreter", NULL, NULL },
	{ "node_args", NULL, NULL }, { "interpreter_args", NULL, NULL },
	{ "cwd", NULL, NULL }, { "instances", NULL, NULL },
	{ "exec_mode", NULL, NULL }, { "log", NULL, NULL },
	{ "log_file", NULL, NULL }, { "filter_env", NULL, NULL },
};

/* PM2 keys that do not apply to pmd, and why (said as a warning). */
static const char *const moot_keys[][2] = {
	{ "pid_file", "pmd keeps each worker's pid itself (pmctl pid NAME)" },
	{ "vizion", "pmd reads no version control metadata" },
	{ "pmx", "pmd has no PM2 Plus agent; /metrics serves Prometheus" },
	{ "automation", "pmd has no PM2 Plus agent" },
	{ "treekill", "pmd always stops a worker's whole process group" },
	{ "source_map_support", "Node's own --enable-source-maps does that "
	    "(node_args)" },
	{ "disable_source_map_support", "pmd adds no source map support" },
	{ "force", "pmd never starts an app twice under one name" },
	{ "append_env_to_name", "pmd names workers NAME:INSTANCE" },
};

int
eco_is_file(const char *path)
{
	const char	*base = strrchr(path, '/'), *dot;

	base = base != NULL ? base + 1 : path;
	if ((dot = strrchr(base, '.')) == NULL)
		return 0;
	if (strcmp(dot, ".js") != 0 && strcmp(dot, ".cjs") != 0 &&
	    strcmp(dot, ".json") != 0 && strcmp(dot, ".mjs") != 0)
		return 0;
	return strstr(base, "ecosystem") != NULL ||
	    strstr(base, ".config.") != NULL;
}

/* The interpreter PM2 would run a script of this name with, or NULL. */
const char *
script_interpreter(const char *file)
{
	static const char *const by_ext[][2] = {
		{ ".js", "node" }, { ".mjs", "node" }, { ".cjs", "node" },
		{ ".py", "python3" }, { ".rb", "ruby" }, { ".php", "php" },
		{ ".sh", "sh" },
	};
	const char	*dot = strrchr(file, '.');
	size_t		 i;

	for (i = 0; dot != NULL && i < nitems(by_ext); i++) {
		if (strcmp(dot, by_ext[i][0]) == 0)
			return by_ext[i][1];
	}
	return NULL;
}

/* What node prints for file, or exits with the reason. */
static char *
eco_eval(const char *file)
{
	char	*buf = xmalloc(ECO_MAX + 1);
	size_t	 len = 0;
	ssize_t	 n;
	int	 p[2], status;
	pid_t	 pid;

	if (pipe(p) == -1)
		fatalx(EXIT_FAILURE, "pipe: %s", strerror(errno));
	if ((pid = fork()) == -1)
		fatalx(EXIT_FAILURE, "fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		execlp("node", "node", "-e", node_eval, file, (char *)NULL);
		fprintf(stderr, "pmctl: %s: cannot run node to read it: %s%s\n",
		    file, strerror(errno), errno == ENOENT ? " (install "
		    "Node.js, or give the apps as a .json file or as pmd "
		    "INI)" : "");
		_exit(127);
	}
	close(p[1]);
	while (len < ECO_MAX &&
	    (n = read(p[0], buf + len, ECO_MAX - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		len += n;
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fatalx(EXIT_FAILURE, "%s: node could not evaluate it (%s)",
		    file, WIFEXITED(status) && WEXITSTATUS(status) == 127 ?
		    "node not found" : "see its error above");
	buf[len] = '\0';
	return buf;
}

/* A JSON scalar as the text of a pmd key, or NULL. */
static char *
scalar(const cJSON *v)
{
	if (cJSON_IsString(v))
		return xstrdup(v->valuestring);
	if (cJSON_IsBool(v))
		return xstrdup(cJSON_IsTrue(v) ? "true" : "false");
	if (cJSON_IsNumber(v)) {
		if (v->valuedouble > -9e18 && v->valuedouble < 9e18 &&
		    v->valuedouble == (double)(long long)v->valuedouble)
			return xprintf("%lld", (long long)v->valuedouble);
		return xprintf("%g", v->valuedouble);
	}
	return NULL;
}

/* A string or an array of scalars, joined by sep; NULL if neither. */
static char *
joined(const cJSON *v, const char *sep)
{
	const cJSON	*item;
	char		*s = NULL, *t, *x;

	if (!cJSON_IsArray(v))
		return scalar(v);
	cJSON_ArrayForEach(item, v) {
		if ((x = scalar(item)) == NULL)
			continue;
		t = s == NULL ? x : xprintf("%s%s%s", s, sep, x);
		if (t != x) {
			free(s);
			free(x);
		}
		s = t;
	}
	return s;
}

/* Words of a string (split at blanks) or an array, onto argv. */
static void
add_words(cJSON *argv, const cJSON *v)
{
	const cJSON	*item;
	char		*s, *w, *save;

	if (cJSON_IsArray(v)) {
		cJSON_ArrayForEach(item, v) {
			if ((s = scalar(item)) != NULL) {
				cJSON_AddItemToArray(argv, cJSON_CreateString(s));
				free(s);
			}
		}
		return;
	}
	if ((s = scalar(v)) == NULL)
		return;
	for (w = strtok_r(s, " \t\n", &save); w != NULL;
	    w = strtok_r(NULL, " \t\n", &save))
		cJSON_AddItemToArray(argv, cJSON_CreateString(w));
	free(s);
}

/*
 * PM2's log_date_format (moment.js tokens) as strftime(3) with pmd's %L.
 * Text in [brackets] is literal; an unknown letter stays as it is.
 */
char *
eco_date_format(const char *m)
{
	static const char *const tokens[][2] = {
		{ "YYYY", "%Y" }, { "YY", "%y" }, { "MMMM", "%B" },
		{ "MMM", "%b" }, { "MM", "%m" }, { "DD", "%d" },
		{ "dddd", "%A" }, { "ddd", "%a" }, { "HH", "%H" },
		{ "hh", "%I" }, { "mm", "%M" }, { "ss", "%S" },
		{ "SSS", "%L" }, { "ZZ", "%z" }, { "Z", "%z" }, { "A", "%p" },
		{ "a", "%P" }, { "X", "%s" }, { "M", "%-m" }, { "D", "%-d" },
		{ "H", "%-H" }, { "h", "%-I" }, { "m", "%-M" }, { "s", "%-S" },
	};
	char	*out = xcalloc(1, strlen(m) * 3 + 1), *o = out;
	size_t	 i, l;

	while (*m != '\0') {
		if (*m == '[') {
			for (m++; *m != '\0' && *m != ']'; m++)
				*o++ = *m == '%' ? '%' : *m;
			if (*m == ']')
				m++;
			continue;
		}
		for (i = 0; i < nitems(tokens); i++) {
			l = strlen(tokens[i][0]);
			if (strncmp(m, tokens[i][0], l) == 0)
				break;
		}
		if (i < nitems(tokens)) {
			strcpy(o, tokens[i][1]);
			o += strlen(o);
			m += l;
		} else {
			if (*m == '%')
				*o++ = '%';
			*o++ = *m++;
		}
	}
	*o = '\0';
	return out;
}

/* Why a PM2 key does not apply to pmd, or NULL. */
static const char *
moot_key(const char *k)
{
	size_t	i;

	for (i = 0; i < nitems(moot_keys); i++) {
		if (strcmp(k, moot_keys[i][0]) == 0)
			return moot_keys[i][1];
	}
	return NULL;
}

static const struct eco_key *
eco_key(const char *k)
{
	size_t	i;

	for (i = 0; i < nitems(eco_keys); i++) {
		if (strcmp(k, eco_keys[i].name) == 0)
			return &eco_keys[i];
	}
	return NULL;
}

static void
warn_key(struct eco *e, const char *key, const char *why)
{
	fprintf(stderr, "pmctl: %s: app \"%s\": %s: %s\n", e->file, e->name,
	    key, why);
}

static void
set_key(cJSON *keys, const char *name, char *value)
{
	if (value == NULL)
		return;
	cJSON_DeleteItemFromObject(keys, name);
	cJSON_AddStringToObject(keys, name, value);
	free(value);
}

/* A path from PM2's cwd: absolute, wherever the INI goes. */
static char *
in_cwd(const char *cwd, char *path)
{
	char	*abs;

	if (path == NULL || path[0] == '/' || strcmp(path, "/dev/null") == 0)
		return path;
	abs = xprintf("%s/%s", cwd, strncmp(path, "./", 2) == 0 ? path + 2 :
	    path);
	free(path);
	return abs;
}

/* An env block as an object of strings. */
static cJSON *
env_object(const cJSON *v)
{
	cJSON		*o = cJSON_CreateObject();
	const cJSON	*item;
	char		*s;

	cJSON_ArrayForEach(item, v) {
		if ((s = scalar(item)) != NULL) {
			cJSON_AddStringToObject(o, item->string, s);
			free(s);
		}
	}
	return o;
}

static void
map_same(struct eco *e, const char *k, const cJSON *v, const char *arg)
{
	(void)arg;
	set_key(e->keys, k, scalar(v));
}

static void
map_rename(struct eco *e, const char *k, const cJSON *v, const char *to)
{
	(void)k;
	set_key(e->keys, to, scalar(v));
}

static void
map_path(struct eco *e, const char *k, const cJSON *v, const char *to)
{
	(void)k;
	set_key(e->keys, to, in_cwd(e->cwd, scalar(v)));
}

static void
map_list(struct eco *e, const char *k, const cJSON *v, const char *sep)
{
	set_key(e->keys, k, joined(v, sep));
}

/* watch: true, or the paths to watch. */
static void
map_watch(struct eco *e, const char *k, const cJSON *v, const char *arg)
{
	(void)k;
	(void)arg;
	if (cJSON_IsBool(v))
		set_key(e->keys, "watch", scalar(v));
	else {
		set_key(e->keys, "watch", xstrdup("true"));
		set_key(e->keys, "watch_paths", joined(v, ","));
	}
}

static void
map_date(struct eco *e, const char *k, const cJSON *v, const char *arg)
{
	(void)arg;
	if (cJSON_IsString(v))
		set_key(e->keys, k, eco_date_format(v->valuestring));
}

/* time: false, no timestamps (unless log_date_format says otherwise). */
static void
map_time(struct eco *e, const char *k, const cJSON *v, const char *arg)
{
	(void)k;
	(void)arg;
	if (cJSON_IsFalse(v) &&
	    cJSON_GetObjectItemCaseSensitive(e->in, "log_date_format") == NULL)
		set_key(e->keys, "log_date_format", xstrdup("none"));
}

static void
map_env(struct eco *e, const char *k, const cJSON *v, const char *arg)
{
	(void)k;
	(void)arg;
	if (!cJSON_IsObject(v))
		return;
	cJSON_ReplaceItemInObject(e->out, "env", env_object(v));
	e->env = cJSON_GetObjectItemCaseSensitive(e->out, "env");
}

/* name, or the script's file name without its extension. */
static void
eco_name(struct eco *e, const char *script)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(e->in, "name");
	const char	*base;
	char		*dot;

	if (cJSON_IsString(v))
		e->name = xstrdup(v->valuestring);
	else {
		base = strrchr(script, '/');
		e->name = xstrdup(base != NULL ? base + 1 : script);
		if ((dot = strrchr(e->name, '.')) != NULL && dot != e->name)
			*dot = '\0';
	}
	cJSON_AddStringToObject(e->out, "name", e->name);
}

/* cwd, from the file's directory; absolute and resolved. */
static void
eco_cwd(struct eco *e)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(e->in, "cwd");
	char		 path[PATH_MAX];

	if (cJSON_IsString(v))
		e->cwd = v->valuestring[0] == '/' ? xstrdup(v->valuestring) :
		    xprintf("%s/%s", e->dir, v->valuestring);
	else
		e->cwd = xstrdup(e->dir);
	if (realpath(e->cwd, path) != NULL) {
		free(e->cwd);
		e->cwd = xstrdup(path);
	}
	cJSON_AddStringToObject(e->out, "cwd", e->cwd);
}

/* command: [interpreter [its args]] script [args]. */
static void
eco_command(struct eco *e, const char *script)
{
	cJSON		*argv = cJSON_AddArrayToObject(e->out, "command");
	const cJSON	*v;
	char		 path[PATH_MAX], *s, **words = NULL, *cause;
	size_t		 i;

	s = script[0] == '/' ? xstrdup(script) : xprintf("%s/%s", e->cwd,
	    script);
	v = cJSON_GetObjectItemCaseSensitive(e->in, "interpreter");
	if (v == NULL)
		v = cJSON_GetObjectItemCaseSensitive(e->in, "exec_interpreter");
	e->interp = cJSON_IsString(v) ? v->valuestring : NULL;
	/*
	 * exec_interpreter: 'none' with script: 'node server.js 20071': the
	 * string is the command, split as the command key is.
	 */
	if (access(s, F_OK) != 0 && e->interp != NULL &&
	    strcmp(e->interp, "none") == 0 && strpbrk(script, " \t") != NULL) {
		if (split_command(script, &words, &cause) == -1)
			fatalx(EXIT_USAGE, "%s: app \"%s\": script: %s", e->file,
			    e->name, cause);
		free(s);
		s = NULL;
	} else if (access(s, F_OK) == 0) {
		if (realpath(s, path) != NULL) {
			free(s);
			s = xstrdup(path);
		}
		if (e->interp == NULL)
			e->interp = script_interpreter(s);
	} else if (strchr(script, '/') == NULL) {
		/* A program in PATH (script: "npm", args: "start"). */
		free(s);
		s = xstrdup(script);
	}
	if (e->interp != NULL && strcmp(e->interp, "none") != 0) {
		cJSON_AddItemToArray(argv, cJSON_CreateString(e->interp));
		add_words(argv, cJSON_GetObjectItemCaseSensitive(e->in,
		    "interpreter_args"));
		add_words(argv, cJSON_GetObjectItemCaseSensitive(e->in,
		    "node_args"));
	}
	for (i = 0; words != NULL && words[i] != NULL; i++)
		cJSON_AddItemToArray(argv, cJSON_CreateString(words[i]));
	argv_free(words);
	if (s != NULL)
		cJSON_AddItemToArray(argv, cJSON_CreateString(s));
	free(s);
	add_words(argv, cJSON_GetObjectItemCaseSensitive(e->in, "args"));
}

static void
eco_instances(struct eco *e)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(e->in,
			    "instances");
	char		*s;

	if (v == NULL)
		return;
	if (cJSON_IsNumber(v) && v->valuedouble == 0)
		s = xstrdup("max");
	else if ((s = scalar(v)) == NULL)
		fatalx(EXIT_USAGE, "%s: app \"%s\": instances: expected a number "
		    "or \"max\"", e->file, e->name);
	cJSON_AddStringToObject(e->out, "instances", s);
	free(s);
}

/* Every key of the app by the table, env_NAME blocks as profiles. */
static void
eco_keys_map(struct eco *e)
{
	const struct eco_key	*ek;
	const cJSON		*item;
	const char		*k, *why;

	cJSON_ArrayForEach(item, e->in) {
		k = item->string;
		if (strncmp(k, "env_", 4) == 0 && cJSON_IsObject(item))
			cJSON_AddItemToObject(e->profiles, k + 4,
			    env_object(item));
		else if ((ek = eco_key(k)) != NULL) {
			if (ek->map != NULL)
				ek->map(e, k, item, ek->arg);
		} else if (key_find(k) != NULL && (cJSON_IsString(item) ||
		    cJSON_IsNumber(item) || cJSON_IsBool(item)))
			/* A pmd key (shutdown_with_message, listen_balance...). */
			set_key(e->keys, k, scalar(item));
		else if (key_find(k) != NULL && key_find(k)->type == K_LIST &&
		    cJSON_IsArray(item))
			/* A list of pmd's as an array (after: ['db']). */
			set_key(e->keys, k, joined(item, ", "));
		else if ((why = moot_key(k)) != NULL)
			warn_key(e, k, why);
		else
			warn_key(e, k, "no pmd equivalent: ignored");
	}
}

/*
 * log_file (or log), PM2's log of both streams: where out_file and
 * err_file are not given, both go to it.
 */
static void
eco_log_file(struct eco *e)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(e->in, "log_file");

	if (v == NULL)
		v = cJSON_GetObjectItemCaseSensitive(e->in, "log");
	if (cJSON_IsString(v) && !cJSON_HasObjectItem(e->keys, "out_file") &&
	    !cJSON_HasObjectItem(e->keys, "err_file")) {
		set_key(e->keys, "out_file", in_cwd(e->cwd, scalar(v)));
		set_key(e->keys, "err_file", in_cwd(e->cwd, scalar(v)));
	} else if (cJSON_IsString(v))
		warn_key(e, "log_file", "pmd writes a file per stream (out_file, "
		    "err_file, given here): not also a combined one");
}

/* PM2's defaults where pmd's differ, unless the file says otherwise. */
static void
eco_pm2_defaults(struct eco *e)
{
	static const char *const defaults[][2] = {
		/* PM2 stops with SIGINT, then SIGKILL after 1600 ms. */
		{ "kill_signal", PM2_KILL_SIGNAL },
		{ "kill_timeout", PM2_KILL_TIMEOUT },
		/*
		 * wait_ready as PM2 means it: a worker that sends no ready
		 * within listen_timeout (3 s) is online anyway.
		 */
		{ "not_ready", "online" },
		{ "listen_timeout", PM2_LISTEN_TIMEOUT },
	};
	size_t	i;

	for (i = 0; i < nitems(defaults); i++) {
		if (!cJSON_HasObjectItem(e->keys, defaults[i][0]))
			set_key(e->keys, defaults[i][0],
			    xstrdup(defaults[i][1]));
	}
}

/*
 * node_args where node is not the interpreter pmctl runs (script: 'npm',
 * exec_interpreter: 'none'): the node it starts gets them through
 * NODE_OPTIONS.
 */
static void
eco_node_options(struct eco *e)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(e->in,
			    "node_args"), *old;
	char		*s, *all;

	if (v == NULL || (e->interp != NULL && strcmp(e->interp, "none") != 0) ||
	    (s = joined(v, " ")) == NULL)
		return;
	old = cJSON_GetObjectItemCaseSensitive(e->env, "NODE_OPTIONS");
	all = cJSON_IsString(old) ? xprintf("%s %s", old->valuestring, s) :
	    xstrdup(s);
	cJSON_DeleteItemFromObject(e->env, "NODE_OPTIONS");
	cJSON_AddStringToObject(e->env, "NODE_OPTIONS", all);
	free(all);
	free(s);
}

/* exec_mode cluster: the instances share PORT from env as listen. */
static void
eco_cluster(struct eco *e)
{
	const cJSON	*v, *port = NULL, *p;

	v = cJSON_GetObjectItemCaseSensitive(e->in, "exec_mode");
	if (!cJSON_IsString(v) || strncmp(v->valuestring, "cluster", 7) != 0)
		return;
	if (e->profile != NULL && (v = cJSON_GetObjectItemCaseSensitive(
	    e->profiles, e->profile)) != NULL)
		port = cJSON_GetObjectItemCaseSensitive(v, "PORT");
	if (port == NULL)
		port = cJSON_GetObjectItemCaseSensitive(e->env, "PORT");
	if (cJSON_GetObjectItemCaseSensitive(e->keys, "listen") != NULL)
		return;
	if (!cJSON_IsString(port)) {
		warn_key(e, "exec_mode", "cluster without PORT in env: no "
		    "listen, so its instances must not share a port");
		return;
	}
	set_key(e->keys, "listen", xprintf("tcp://0.0.0.0:%s",
	    port->valuestring));
	cJSON_ArrayForEach(v, e->profiles) {
		p = cJSON_GetObjectItemCaseSensitive(v, "PORT");
		if (cJSON_IsString(p) &&
		    strcmp(p->valuestring, port->valuestring) != 0)
			fprintf(stderr, "pmctl: %s: app \"%s\": listen is on "
			    "port %s; env_%s has PORT %s: use --env %s for that "
			    "one\n", e->file, e->name, port->valuestring,
			    v->string, p->valuestring, v->string);
	}
}

/* One app of the file (dir: the file's directory) in start's form. */
static cJSON *
eco_app(const char *file, const char *dir, const cJSON *in,
    const char *profile)
{
	struct eco	 e = { .file = file, .dir = dir, .profile = profile,
			    .in = in };
	const cJSON	*v;

	v = cJSON_GetObjectItemCaseSensitive(in, "script");
	if (!cJSON_IsString(v) || *v->valuestring == '\0')
		fatalx(EXIT_USAGE, "%s: an app without \"script\"", file);
	e.out = cJSON_CreateObject();
	eco_name(&e, v->valuestring);
	eco_cwd(&e);
	eco_command(&e, v->valuestring);
	eco_instances(&e);
	e.env = cJSON_AddObjectToObject(e.out, "env");
	e.profiles = cJSON_AddObjectToObject(e.out, "profiles");
	e.keys = cJSON_AddObjectToObject(e.out, "keys");
	eco_keys_map(&e);
	eco_log_file(&e);
	eco_pm2_defaults(&e);
	v = cJSON_GetObjectItemCaseSensitive(in, "filter_env");
	if (v != NULL)
		cJSON_AddItemToObject(e.out, "filter_env", cJSON_Duplicate(v, 1));
	eco_node_options(&e);
	eco_cluster(&e);
	free(e.name);
	free(e.cwd);
	return e.out;
}

/*
 * The apps of an ecosystem file, each as eco_app makes it; profile (or
 * NULL) only picks the PORT of a cluster-mode app.
 */
cJSON *
eco_load(const char *file, const char *profile)
{
	char		 path[PATH_MAX], *text, *dir, *copy, *cause;
	const char	*dot = strrchr(file, '.');
	cJSON		*root, *list, *apps, *app;
	size_t		 len;

	if (realpath(file, path) == NULL)
		fatalx(EXIT_USAGE, "%s: %s", file, strerror(errno));
	if (dot != NULL && strcmp(dot, ".json") == 0) {
		if (file_read(path, ECO_MAX, &text, &len, &cause) == -1)
			fatalx(EXIT_USAGE, "%s", cause);
	} else
		text = eco_eval(path);
	root = cJSON_Parse(text);
	free(text);
	if (root == NULL)
		fatalx(EXIT_USAGE, "%s: not valid JSON%s", file, dot != NULL &&
		    strcmp(dot, ".json") == 0 ? "" : " once evaluated");
	list = cJSON_IsObject(root) ?
	    cJSON_GetObjectItemCaseSensitive(root, "apps") : root;
	if (list == NULL && cJSON_IsObject(root) &&
	    cJSON_HasObjectItem(root, "script"))
		list = root;
	if (!cJSON_IsArray(list) && !cJSON_IsObject(list))
		fatalx(EXIT_USAGE, "%s: expected { apps: [...] } or an array "
		    "of apps", file);
	copy = xstrdup(path);
	dir = dirname(copy);
	apps = cJSON_CreateArray();
	if (cJSON_IsObject(root) && cJSON_HasObjectItem(root, "deploy"))
		fprintf(stderr, "pmctl: %s: deploy: pmd does not deploy; see the "
		    "examples under conf/deploy in pmd's sources\n", file);
	if (cJSON_IsObject(list))
		cJSON_AddItemToArray(apps, eco_app(file, dir, list, profile));
	else {
		cJSON_ArrayForEach(app, list) {
			if (!cJSON_IsObject(app))
				fatalx(EXIT_USAGE, "%s: apps: expected objects",
				    file);
			cJSON_AddItemToArray(apps, eco_app(file, dir, app,
			    profile));
		}
	}
	if (cJSON_GetArraySize(apps) == 0)
		fatalx(EXIT_USAGE, "%s: no apps", file);
	/* PM2 says so too: --env X with no app that has env_X. */
	cJSON_ArrayForEach(app, apps) {
		if (profile == NULL || cJSON_HasObjectItem(
		    cJSON_GetObjectItemCaseSensitive(app, "profiles"), profile))
			break;
	}
	if (profile != NULL && app == NULL)
		fprintf(stderr, "pmctl: %s: --env %s: no app has env_%s; the "
		    "apps start with their env alone\n", file, profile, profile);
	free(copy);
	cJSON_Delete(root);
	return apps;
}
