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

/* PM2 keys that are pmd keys of the same meaning and value syntax. */
static const char *const same_keys[] = {
	"max_memory_restart", "cron_restart", "autorestart", "max_restarts",
	"min_uptime", "restart_delay", "exp_backoff_restart_delay",
	"kill_timeout", "listen_timeout", "merge_logs", "namespace",
	"kill_signal",
};

/* PM2 keys pmctl reads itself (not warned about). */
static const char *const read_keys[] = {
	"name", "script", "args", "interpreter", "exec_interpreter",
	"node_args", "interpreter_args", "cwd", "instances", "exec_mode",
	"env", "error_file", "uid", "gid", "watch", "ignore_watch",
	"log_date_format", "time", "stop_exit_codes", "output", "error",
	"log", "log_file", "combine_logs", "filter_env",
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

static int
in_list(const char *s, const char *const *list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (strcmp(s, list[i]) == 0)
			return 1;
	}
	return 0;
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

static void
warn_key(const char *file, const char *app, const char *key, const char *why)
{
	fprintf(stderr, "pmctl: %s: app \"%s\": %s: %s\n", file, app, key, why);
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

/* One app of the file (dir: the file's directory) in start's form. */
static cJSON *
eco_app(const char *file, const char *dir, const cJSON *in,
    const char *profile)
{
	cJSON		*out = cJSON_CreateObject(), *argv, *keys, *env;
	cJSON		*profiles, *v;
	const cJSON	*item, *port = NULL;
	const char	*script, *interp, *base, *why;
	char		 path[PATH_MAX], *cwd, *name, *s, *dot, **words = NULL;
	char		*cause;
	size_t		 i;
	int		 cluster;

	v = cJSON_GetObjectItemCaseSensitive(in, "script");
	if (!cJSON_IsString(v) || *v->valuestring == '\0')
		fatalx(EXIT_USAGE, "%s: an app without \"script\"", file);
	script = v->valuestring;
	v = cJSON_GetObjectItemCaseSensitive(in, "name");
	if (cJSON_IsString(v))
		name = xstrdup(v->valuestring);
	else {
		base = strrchr(script, '/');
		name = xstrdup(base != NULL ? base + 1 : script);
		if ((dot = strrchr(name, '.')) != NULL && dot != name)
			*dot = '\0';
	}
	cJSON_AddStringToObject(out, "name", name);

	v = cJSON_GetObjectItemCaseSensitive(in, "cwd");
	if (cJSON_IsString(v))
		cwd = v->valuestring[0] == '/' ? xstrdup(v->valuestring) :
		    xprintf("%s/%s", dir, v->valuestring);
	else
		cwd = xstrdup(dir);
	if (realpath(cwd, path) != NULL) {
		free(cwd);
		cwd = xstrdup(path);
	}
	cJSON_AddStringToObject(out, "cwd", cwd);

	/* command: [interpreter [its args]] script [args]. */
	argv = cJSON_AddArrayToObject(out, "command");
	s = script[0] == '/' ? xstrdup(script) : xprintf("%s/%s", cwd, script);
	v = cJSON_GetObjectItemCaseSensitive(in, "interpreter");
	if (v == NULL)
		v = cJSON_GetObjectItemCaseSensitive(in, "exec_interpreter");
	interp = cJSON_IsString(v) ? v->valuestring : NULL;
	/*
	 * exec_interpreter: 'none' with script: 'node server.js 20071': the
	 * string is the command, split as the command key is.
	 */
	if (access(s, F_OK) != 0 && interp != NULL &&
	    strcmp(interp, "none") == 0 && strpbrk(script, " \t") != NULL) {
		if (split_command(script, &words, &cause) == -1)
			fatalx(EXIT_USAGE, "%s: app \"%s\": script: %s", file,
			    name, cause);
		free(s);
		s = NULL;
	} else if (access(s, F_OK) == 0) {
		if (realpath(s, path) != NULL) {
			free(s);
			s = xstrdup(path);
		}
		if (interp == NULL)
			interp = script_interpreter(s);
	} else if (strchr(script, '/') == NULL) {
		/* A program in PATH (script: "npm", args: "start"). */
		free(s);
		s = xstrdup(script);
	}
	if (interp != NULL && strcmp(interp, "none") != 0) {
		cJSON_AddItemToArray(argv, cJSON_CreateString(interp));
		add_words(argv, cJSON_GetObjectItemCaseSensitive(in,
		    "interpreter_args"));
		add_words(argv, cJSON_GetObjectItemCaseSensitive(in,
		    "node_args"));
	}
	for (i = 0; words != NULL && words[i] != NULL; i++)
		cJSON_AddItemToArray(argv, cJSON_CreateString(words[i]));
	argv_free(words);
	if (s != NULL)
		cJSON_AddItemToArray(argv, cJSON_CreateString(s));
	free(s);
	add_words(argv, cJSON_GetObjectItemCaseSensitive(in, "args"));

	v = cJSON_GetObjectItemCaseSensitive(in, "instances");
	if (v != NULL) {
		if (cJSON_IsNumber(v) && v->valuedouble == 0)
			s = xstrdup("max");
		else if ((s = scalar(v)) == NULL)
			fatalx(EXIT_USAGE, "%s: app \"%s\": instances: expected "
			    "a number or \"max\"", file, name);
		cJSON_AddStringToObject(out, "instances", s);
		free(s);
	}

	env = cJSON_AddObjectToObject(out, "env");
	profiles = cJSON_AddObjectToObject(out, "profiles");
	keys = cJSON_AddObjectToObject(out, "keys");
	cJSON_ArrayForEach(item, in) {
		const char *k = item->string;

		if (strcmp(k, "env") == 0 && cJSON_IsObject(item)) {
			cJSON_ReplaceItemInObject(out, "env", env_object(item));
			env = cJSON_GetObjectItemCaseSensitive(out, "env");
		} else if (strncmp(k, "env_", 4) == 0 && cJSON_IsObject(item))
			cJSON_AddItemToObject(profiles, k + 4, env_object(item));
		else if (in_list(k, same_keys, nitems(same_keys)))
			set_key(keys, k, scalar(item));
		else if (strcmp(k, "error_file") == 0 ||
		    strcmp(k, "out_file") == 0 || strcmp(k, "output") == 0 ||
		    strcmp(k, "error") == 0)
			/* output and error: PM2's aliases. */
			set_key(keys, k[0] == 'e' ? "err_file" : "out_file",
			    in_cwd(cwd, scalar(item)));
		else if (strcmp(k, "combine_logs") == 0)
			set_key(keys, "merge_logs", scalar(item));
		else if (strcmp(k, "uid") == 0)
			set_key(keys, "user", scalar(item));
		else if (strcmp(k, "gid") == 0)
			set_key(keys, "group", scalar(item));
		else if (strcmp(k, "stop_exit_codes") == 0)
			set_key(keys, k, joined(item, ", "));
		else if (strcmp(k, "ignore_watch") == 0)
			set_key(keys, k, joined(item, ","));
		else if (strcmp(k, "watch") == 0) {
			if (cJSON_IsBool(item))
				set_key(keys, "watch", scalar(item));
			else {
				set_key(keys, "watch", xstrdup("true"));
				set_key(keys, "watch_paths", joined(item, ","));
			}
		} else if (strcmp(k, "log_date_format") == 0 &&
		    cJSON_IsString(item))
			set_key(keys, k, eco_date_format(item->valuestring));
		else if (strcmp(k, "time") == 0) {
			if (cJSON_IsFalse(item) && cJSON_GetObjectItemCaseSensitive(
			    in, "log_date_format") == NULL)
				set_key(keys, "log_date_format", xstrdup("none"));
		} else if (strcmp(k, "wait_ready") == 0)
			/* process.send('ready') comes over the channel. */
			set_key(keys, k, scalar(item));
		else if (key_find(k) != NULL &&
		    !in_list(k, read_keys, nitems(read_keys)) &&
		    (cJSON_IsString(item) || cJSON_IsNumber(item) ||
		    cJSON_IsBool(item)))
			/* A pmd key (shutdown_with_message, listen_balance...). */
			set_key(keys, k, scalar(item));
		else if ((why = moot_key(k)) != NULL)
			warn_key(file, name, k, why);
		else if (!in_list(k, read_keys, nitems(read_keys)))
			warn_key(file, name, k, "no pmd equivalent: ignored");
	}
	/*
	 * log_file (or log), PM2's log of both streams: where out_file and
	 * err_file are not given, both go to it.
	 */
	v = cJSON_GetObjectItemCaseSensitive(in, "log_file");
	if (v == NULL)
		v = cJSON_GetObjectItemCaseSensitive(in, "log");
	if (cJSON_IsString(v) && !cJSON_HasObjectItem(keys, "out_file") &&
	    !cJSON_HasObjectItem(keys, "err_file")) {
		set_key(keys, "out_file", in_cwd(cwd, scalar(v)));
		set_key(keys, "err_file", in_cwd(cwd, scalar(v)));
	} else if (cJSON_IsString(v))
		warn_key(file, name, "log_file", "pmd writes a file per stream "
		    "(out_file, err_file, given here): not also a combined one");
	/*
	 * PM2 stops an app with SIGINT, then SIGKILL after 1600 ms: apps
	 * from its world keep that unless the file says otherwise.
	 */
	if (!cJSON_HasObjectItem(keys, "kill_signal"))
		set_key(keys, "kill_signal", xstrdup(PM2_KILL_SIGNAL));
	if (!cJSON_HasObjectItem(keys, "kill_timeout"))
		set_key(keys, "kill_timeout", xstrdup(PM2_KILL_TIMEOUT));
	/*
	 * And wait_ready as PM2 means it: a worker that sends no ready
	 * within listen_timeout (3 s, PM2's default) is online anyway.
	 */
	if (!cJSON_HasObjectItem(keys, "not_ready"))
		set_key(keys, "not_ready", xstrdup("online"));
	if (!cJSON_HasObjectItem(keys, "listen_timeout"))
		set_key(keys, "listen_timeout", xstrdup(PM2_LISTEN_TIMEOUT));
	/* filter_env: what of pmctl's environment the workers do not get. */
	v = cJSON_GetObjectItemCaseSensitive(in, "filter_env");
	if (v != NULL)
		cJSON_AddItemToObject(out, "filter_env", cJSON_Duplicate(v, 1));
	/*
	 * node_args where node is not the interpreter pmctl runs (script:
	 * 'npm', exec_interpreter: 'none'): the node it starts gets them
	 * through NODE_OPTIONS.
	 */
	v = cJSON_GetObjectItemCaseSensitive(in, "node_args");
	if (v != NULL && (interp == NULL || strcmp(interp, "none") == 0) &&
	    (s = joined(v, " ")) != NULL) {
		item = cJSON_GetObjectItemCaseSensitive(env, "NODE_OPTIONS");
		dot = cJSON_IsString(item) ? xprintf("%s %s",
		    item->valuestring, s) : xstrdup(s);
		cJSON_DeleteItemFromObject(env, "NODE_OPTIONS");
		cJSON_AddStringToObject(env, "NODE_OPTIONS", dot);
		free(dot);
		free(s);
	}
	v = cJSON_GetObjectItemCaseSensitive(in, "exec_mode");
	cluster = cJSON_IsString(v) && strncmp(v->valuestring, "cluster", 7) == 0;
	if (profile != NULL &&
	    (v = cJSON_GetObjectItemCaseSensitive(profiles, profile)) != NULL)
		port = cJSON_GetObjectItemCaseSensitive(v, "PORT");
	if (port == NULL)
		port = cJSON_GetObjectItemCaseSensitive(env, "PORT");
	if (cluster && cJSON_IsString(port) && cJSON_GetObjectItemCaseSensitive(
	    keys, "listen") == NULL) {
		set_key(keys, "listen", xprintf("tcp://0.0.0.0:%s",
		    port->valuestring));
		cJSON_ArrayForEach(v, profiles) {
			item = cJSON_GetObjectItemCaseSensitive(v, "PORT");
			if (cJSON_IsString(item) &&
			    strcmp(item->valuestring, port->valuestring) != 0)
				fprintf(stderr, "pmctl: %s: app \"%s\": listen "
				    "is on port %s; env_%s has PORT %s: use "
				    "--env %s for that one\n", file, name,
				    port->valuestring, v->string,
				    item->valuestring, v->string);
		}
	} else if (cluster)
		warn_key(file, name, "exec_mode", "cluster without PORT in env: "
		    "no listen, so its instances must not share a port");
	free(name);
	free(cwd);
	return out;
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

/* A word as pmd's command splitting reads it back (quoted if need be). */
static void
put_word(FILE *f, const char *w)
{
	const char	*p;

	if (*w != '\0' && strpbrk(w, " \t\n'\"\\$`;#&|<>()*?[]{}~") == NULL) {
		fputs(w, f);
		return;
	}
	fputc('\'', f);
	for (p = w; *p != '\0'; p++) {
		if (*p == '\'')
			fputs("'\\''", f);
		else
			fputc(*p, f);
	}
	fputc('\'', f);
}

static void
put_env(FILE *f, const char *prefix, const cJSON *env)
{
	const cJSON	*v;

	cJSON_ArrayForEach(v, env)
		fprintf(f, "%s.%s = %s\n", prefix, v->string, v->valuestring);
}

/* A control character in s, by its name, or NULL. */
static const char *
control_char(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\n')
			return "a newline";
		if (*s == '\r')
			return "a carriage return";
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return "a control character";
	}
	return NULL;
}

/*
 * Whether what eco_print would write of an app's field (its name and
 * values) stays one line with the key it names: NULL, or the error.
 */
static char *
ini_field(const char *file, int i, const char *field, const cJSON *v,
    int names)
{
	const cJSON	*x;
	const char	*bad;

	if (cJSON_IsString(v) && (bad = control_char(v->valuestring)) != NULL)
		return xprintf("%s: apps[%d].%s: %s cannot be written to pmd's "
		    "INI (it would start a new line); pmctl start %s runs the "
		    "app as it is", file, i, field, bad, file);
	cJSON_ArrayForEach(x, v) {
		if (names && !env_name_valid(x->string))
			return xprintf("%s: apps[%d].%s: \"%s\" is not a variable "
			    "name (A-Z, a-z, 0-9 and _, not first a digit)", file,
			    i, field, x->string);
		if (cJSON_IsString(x) &&
		    (bad = control_char(x->valuestring)) != NULL)
			return xprintf("%s: apps[%d].%s.%s: %s cannot be "
			    "written to pmd's INI (it would start a new line); "
			    "pmctl start %s runs the app as it is", file, i, field,
			    x->string != NULL ? x->string : "[]", bad, file);
	}
	return NULL;
}

/*
 * NULL if every value of apps can be written as pmd INI that means what
 * the file said (no new line, so no section or key the file did not
 * name), else the error naming the first that cannot.
 */
char *
eco_ini_check(const char *file, const cJSON *apps)
{
	const cJSON	*app, *p;
	char		*cause = NULL, *field;
	int		 i = 0;

	cJSON_ArrayForEach(app, apps) {
		p = cJSON_GetObjectItemCaseSensitive(app, "name");
		if (cJSON_IsString(p) && !app_name_valid(p->valuestring) &&
		    control_char(p->valuestring) == NULL)
			return xprintf("%s: apps[%d].name: \"%s\" is not an app "
			    "name (1 to 64 of A-Z a-z 0-9 . _ -, not \"all\", not "
			    "all digits)",
			    file, i, p->valuestring);
		if ((cause = ini_field(file, i, "name",
		    cJSON_GetObjectItemCaseSensitive(app, "name"), 0)) ||
		    (cause = ini_field(file, i, "script",
		    cJSON_GetObjectItemCaseSensitive(app, "command"), 0)) ||
		    (cause = ini_field(file, i, "cwd",
		    cJSON_GetObjectItemCaseSensitive(app, "cwd"), 0)) ||
		    (cause = ini_field(file, i, "instances",
		    cJSON_GetObjectItemCaseSensitive(app, "instances"), 0)) ||
		    (cause = ini_field(file, i, "keys",
		    cJSON_GetObjectItemCaseSensitive(app, "keys"), 0)) ||
		    (cause = ini_field(file, i, "env",
		    cJSON_GetObjectItemCaseSensitive(app, "env"), 1)))
			return cause;
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(app,
		    "profiles")) {
			field = xprintf("env_%s", p->string);
			cause = env_name_valid(p->string) ? ini_field(file, i,
			    field, p, 1) : xprintf("%s: apps[%d].%s: not a "
			    "profile name (A-Z, a-z, 0-9 and _)", file, i, field);
			free(field);
			if (cause != NULL)
				return cause;
		}
		i++;
	}
	return NULL;
}

/* The apps as pmd INI (pmd.conf(5)). */
void
eco_print(FILE *f, const char *file, const cJSON *apps)
{
	const cJSON	*app, *v, *p;

	fprintf(f, "; The apps of %s, for pmd (pmctl import).\n", file);
	cJSON_ArrayForEach(app, apps) {
		fprintf(f, "\n[app:%s]\ncommand = ", cJSON_GetObjectItemCaseSensitive(
		    app, "name")->valuestring);
		cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(app,
		    "command")) {
			if (v != cJSON_GetObjectItemCaseSensitive(app,
			    "command")->child)
				fputc(' ', f);
			put_word(f, v->valuestring);
		}
		fprintf(f, "\ncwd = %s\n", cJSON_GetObjectItemCaseSensitive(app,
		    "cwd")->valuestring);
		if ((v = cJSON_GetObjectItemCaseSensitive(app, "instances")))
			fprintf(f, "instances = %s\n", v->valuestring);
		cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(app,
		    "keys"))
			fprintf(f, "%s = %s\n", v->string, v->valuestring);
		put_env(f, "env", cJSON_GetObjectItemCaseSensitive(app, "env"));
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(app,
		    "profiles")) {
			char *prefix = xprintf("env_%s", p->string);
			put_env(f, prefix, p);
			free(prefix);
		}
	}
}
