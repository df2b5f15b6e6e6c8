/*
 * start's command line in pmctl: a configured app or all, a config file,
 * an ecosystem file (its apps as ad-hoc apps, with pmctl's environment
 * and the profile's), a script run as PM2 runs it, or -- COMMAND with
 * app keys as options (--KEY VALUE). cmd-start.c has the command's entry
 * and the daemon's side.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

/*
 * argv[i] as an app key (pmd.conf(5)) for an ad-hoc app: --KEY VALUE, or
 * for a boolean --KEY and --no-KEY; dashes or underscores. Into keys;
 * returns the index of the last argument it took.
 */
static int
key_flag(cJSON *keys, int argc, char **argv, int i)
{
	const struct app_key	*k;
	const char		*names[64], *close, *v;
	char			*name, *p, *cause = NULL;
	size_t			 j;
	int			 no = 0, boolean, b;

	name = xstrdup(argv[i] + (argv[i][1] == '-' ? 2 : 1));
	for (p = name; *p != '\0'; p++)
		*p = *p == '-' ? '_' : *p;
	if ((k = key_find(name)) == NULL && strncmp(name, "no_", 3) == 0 &&
	    (k = key_find(name + 3)) != NULL)
		no = 1;
	if (k == NULL || strcmp(k->name, "command") == 0 ||
	    strcmp(k->name, "cwd") == 0) {
		for (j = 0; j < napp_keys && j < nitems(names); j++)
			names[j] = app_keys[j].name;
		close = suggest(name, names, j);
		free(name);
		if (close != NULL)
			pmctl_usage_error("start: unknown option %s (did you mean "
			    "--%s?)", argv[i], close);
		pmctl_usage_error("start: unknown option %s", argv[i]);
	}
	boolean = k->type == K_BOOL || k->type == K_TRIBOOL;
	free(name);
	if (no && !boolean)
		pmctl_usage_error("start: %s: --no- goes with a true/false key",
		    argv[i]);
	if (boolean) {
		v = no ? "false" : "true";
		/* --autorestart false is fine too. */
		if (!no && i + 1 < argc && parse_bool(argv[i + 1], &b,
		    &cause) == 0)
			v = argv[++i];
		else if (!no && i + 1 < argc)
			free(cause);	/* the next word is not a value */
	} else {
		if (i + 1 >= argc || strcmp(argv[i + 1], "--") == 0)
			pmctl_usage_error("start: %s needs a value", argv[i]);
		v = argv[++i];
	}
	cJSON_DeleteItemFromObject(keys, k->name);
	cJSON_AddStringToObject(keys, k->name, v);
	return i;
}

/* A name made of path's base name, without its extension (app.js: app). */
static char *
script_name(const char *path)
{
	const char	*base = strrchr(path, '/');
	char		*name = xstrdup(base != NULL ? base + 1 : path), *dot;

	if ((dot = strrchr(name, '.')) != NULL && dot != name)
		*dot = '\0';
	return name;
}

static int
is_file(const char *path)
{
	struct stat	st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * pmctl's environment into env, as PM2 gives it, less what filter_env
 * says: true, none of it; a name or names, none that begins with one.
 */
static void
add_environ_filtered(cJSON *env, const cJSON *filter)
{
	cJSON		*mine = cJSON_CreateObject(), *v;
	const cJSON	*f;
	int		 drop;

	if (cJSON_IsTrue(filter)) {
		cJSON_Delete(mine);
		return;
	}
	pmctl_add_environ(mine);
	cJSON_ArrayForEach(v, mine) {
		drop = cJSON_IsString(filter) && strncmp(v->string,
		    filter->valuestring, strlen(filter->valuestring)) == 0;
		for (f = cJSON_IsArray(filter) ? filter->child : NULL; f != NULL;
		    f = f->next) {
			if (cJSON_IsString(f) && strncmp(v->string,
			    f->valuestring, strlen(f->valuestring)) == 0)
				drop = 1;
		}
		if (!drop && !cJSON_HasObjectItem(env, v->string))
			cJSON_AddStringToObject(env, v->string, v->valuestring);
	}
	cJSON_Delete(mine);
}

/* PM2 makes the directories of an app's log files: so does pmctl. */
static void
make_log_dirs(const cJSON *keys)
{
	const char	*names[] = { "out_file", "err_file" };
	const cJSON	*v;
	char		*dir, *slash, *cause;
	size_t		 i;

	for (i = 0; i < nitems(names); i++) {
		v = cJSON_GetObjectItemCaseSensitive(keys, names[i]);
		if (!cJSON_IsString(v) || v->valuestring[0] != '/')
			continue;
		dir = xstrdup(v->valuestring);
		if ((slash = strrchr(dir, '/')) != dir) {
			*slash = '\0';
			if (mkdir_p(dir, 0755, &cause) == -1) {
				fprintf(stderr, "pmctl: %s: %s\n", names[i], cause);
				free(cause);
			}
		}
		free(dir);
	}
}

/*
 * start ecosystem.config.js [--env PROFILE]: its apps as ad-hoc apps, each
 * with pmctl's environment under its env and the profile's.
 */
static void
build_ecosystem(cJSON *req, const char *file, const char *profile,
    const char *only, int options)
{
	cJSON	*apps, *app, *env, *v, *p, *next;
	char	**names = NULL, *cause;
	size_t	 i;

	if (options)
		pmctl_usage_error("start: an ecosystem file takes --env PROFILE "
		    "and --only NAMES alone; its apps' settings are in the file");
	apps = eco_load(file, profile);
	/* --only a,b: those apps of the file, each one it has. */
	if (only != NULL && parse_list(only, &names, &cause) == -1)
		pmctl_usage_error("start: --only: %s", cause);
	for (i = 0; names != NULL && names[i] != NULL; i++) {
		cJSON_ArrayForEach(app, apps) {
			if (strcmp(json_string(app, "name"), names[i]) == 0)
				break;
		}
		if (app == NULL)
			pmctl_usage_error("start: --only: %s has no app named "
			    "\"%s\"", file, names[i]);
	}
	for (app = apps->child; names != NULL && app != NULL; app = next) {
		next = app->next;
		if (!strv_has(names, json_string(app, "name")))
			cJSON_Delete(cJSON_DetachItemViaPointer(apps, app));
	}
	argv_free(names);
	cJSON_ArrayForEach(app, apps) {
		env = cJSON_CreateObject();
		p = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
		    app, "profiles"), profile != NULL ? profile : "");
		cJSON_ArrayForEach(v, p)
			cJSON_AddStringToObject(env, v->string, v->valuestring);
		cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(app,
		    "env")) {
			if (!cJSON_HasObjectItem(env, v->string))
				cJSON_AddStringToObject(env, v->string,
				    v->valuestring);
		}
		add_environ_filtered(env, cJSON_GetObjectItemCaseSensitive(app,
		    "filter_env"));
		cJSON_DeleteItemFromObject(app, "filter_env");
		cJSON_ReplaceItemInObject(app, "env", env);
		make_log_dirs(cJSON_GetObjectItemCaseSensitive(app, "keys"));
		cJSON_DeleteItemFromObject(app, "profiles");
		if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(app,
		    "keys")) == 0)
			cJSON_DeleteItemFromObject(app, "keys");
	}
	cJSON_AddItemToObject(req, "apps", apps);
}

/* start's command line, read. */
struct start_opts {
	const char	*target;	/* NAME, all, FILE or the command */
	const char	*name;		/* --name */
	const char	*inst;		/* -i */
	const char	*profile;	/* --env */
	const char	*only;		/* --only */
	const char	*interp;	/* --interpreter */
	int		 watch;		/* --watch */
	cJSON		*keys;		/* --KEY VALUE */
	int		 rest;		/* argv's index of "--", or argc */
	int		 script;	/* target is a script to run */
	int		 conf;		/* target is FILE.conf */
	char		**words;	/* target as a command of words */
};

static void
start_options(struct start_opts *o, int argc, char **argv)
{
	const char	**slot;
	int		  i;

	o->keys = cJSON_CreateObject();
	for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (argv[i][0] != '-' || argv[i][1] == '\0') {
			if (o->target != NULL)
				pmctl_usage_error("start: one app or file at a time");
			o->target = argv[i];
			continue;
		}
		if (strcmp(argv[i], "--watch") == 0) {
			o->watch = 1;
			continue;
		}
		if (strcmp(argv[i], "--name") == 0 || strcmp(argv[i], "-n") == 0)
			slot = &o->name;
		else if (strcmp(argv[i], "-i") == 0 ||
		    strcmp(argv[i], "--instances") == 0)
			slot = &o->inst;
		else if (strcmp(argv[i], "--env") == 0)
			slot = &o->profile;
		else if (strcmp(argv[i], "--only") == 0)
			slot = &o->only;
		else if (strcmp(argv[i], "--interpreter") == 0)
			slot = &o->interp;
		else {
			i = key_flag(o->keys, argc, argv, i);
			continue;
		}
		if (i + 1 >= argc || strcmp(argv[i + 1], "--") == 0)
			pmctl_usage_error("start: %s needs a value", argv[i]);
		*slot = argv[++i];
	}
	o->rest = i;
	o->conf = o->target != NULL && strlen(o->target) > 5 &&
	    strcmp(o->target + strlen(o->target) - 5, ".conf") == 0;
}

/* Whether any option that shapes an ad-hoc app was given. */
static int
adhoc_options(const struct start_opts *o)
{
	return o->name != NULL || o->inst != NULL || o->watch ||
	    o->interp != NULL || cJSON_GetArraySize(o->keys) > 0;
}

/* command: [interpreter] script, as PM2 runs it; it stops as PM2's. */
static void
adhoc_script(struct start_opts *o, cJSON *cmd, char **dname)
{
	char	path[PATH_MAX];

	if (realpath(o->target, path) == NULL)
		fatalx(EXIT_USAGE, "%s: %s", o->target, strerror(errno));
	if (o->interp == NULL)
		o->interp = script_interpreter(o->target);
	if (o->interp != NULL && strcmp(o->interp, "none") != 0)
		cJSON_AddItemToArray(cmd, cJSON_CreateString(o->interp));
	cJSON_AddItemToArray(cmd, cJSON_CreateString(path));
	if (o->name == NULL)
		o->name = *dname = script_name(o->target);
	if (!cJSON_HasObjectItem(o->keys, "kill_signal"))
		cJSON_AddStringToObject(o->keys, "kill_signal", PM2_KILL_SIGNAL);
	if (!cJSON_HasObjectItem(o->keys, "kill_timeout"))
		cJSON_AddStringToObject(o->keys, "kill_timeout",
		    PM2_KILL_TIMEOUT);
}

/*
 * An ad-hoc app: a script, a program with its arguments, or the command
 * after --, with pmctl's cwd and (as with PM2) its environment.
 */
static void
build_adhoc(struct start_opts *o, cJSON *req, int argc, char **argv)
{
	char	 cwd[PATH_MAX], *dname = NULL, **w, *end;
	cJSON	*cmd;
	long	 n;
	int	 i = o->rest;

	if (i < argc)
		i++;
	if (o->target == NULL && i == argc)
		pmctl_usage_error("start: no command after --");
	if (o->conf)
		pmctl_usage_error("start: either FILE.conf or -- COMMAND, not "
		    "both");
	if (o->profile != NULL)
		pmctl_usage_error("start: --env chooses a profile of a "
		    "configured app, not of a command");
	cmd = cJSON_AddArrayToObject(req, "command");
	if (o->script)
		adhoc_script(o, cmd, &dname);
	else if (o->target != NULL) {
		if (o->interp != NULL)
			pmctl_usage_error("start: --interpreter goes with a "
			    "script");
		for (w = o->words; w != NULL && *w != NULL; w++)
			cJSON_AddItemToArray(cmd, cJSON_CreateString(*w));
		if (o->words == NULL)
			cJSON_AddItemToArray(cmd, cJSON_CreateString(o->target));
	}
	for (; i < argc; i++)
		cJSON_AddItemToArray(cmd, cJSON_CreateString(argv[i]));
	if (o->name != NULL)
		cJSON_AddStringToObject(req, "name", o->name);
	free(dname);
	if (o->watch)
		cJSON_AddBoolToObject(req, "watch", 1);
	if (cJSON_GetArraySize(o->keys) > 0)
		cJSON_AddItemToObject(req, "keys", o->keys);
	else
		cJSON_Delete(o->keys);
	if (o->inst != NULL) {
		n = strtol(o->inst, &end, 10);
		if (*end == '\0' && n >= 1)
			cJSON_AddNumberToObject(req, "instances", n);
		else
			cJSON_AddStringToObject(req, "instances", o->inst);
	}
	if (getcwd(cwd, sizeof cwd) == NULL)
		fatalx(EXIT_USAGE, "getcwd: %s", strerror(errno));
	cJSON_AddStringToObject(req, "cwd", cwd);
	pmctl_add_environ(cJSON_AddObjectToObject(req, "env"));
}

/* A configured app (or all), or the apps of a config file. */
static void
build_configured(struct start_opts *o, cJSON *req)
{
	char	path[PATH_MAX];

	if (o->target == NULL)
		pmctl_usage_error("start: expected NAME, all, FILE.conf, a "
		    "script, or -- COMMAND");
	if (adhoc_options(o))
		pmctl_usage_error("start: --name, -i and the keys as options go "
		    "with -- COMMAND (a configured app sets them in its file)");
	cJSON_Delete(o->keys);
	if (strchr(o->target, '/') != NULL || o->conf) {
		if (realpath(o->target, path) == NULL)
			fatalx(EXIT_USAGE, "%s: %s", o->target, strerror(errno));
		cJSON_AddStringToObject(req, "file", path);
	} else
		cJSON_AddStringToObject(req, "target", o->target);
	if (o->profile != NULL)
		cJSON_AddStringToObject(req, "env_profile", o->profile);
}

/*
 * Turn start's arguments into the request's fields: a configured app or
 * all; a config file (FILE.conf, or any path to one); a script, run as
 * PM2 runs it (by its extension's interpreter, else itself); a program
 * and its arguments (start npm -- start); or -- COMMAND.
 */
void
pmctl_build_start(const struct cmd_entry *ce, cJSON *req, int argc,
    char **argv)
{
	struct start_opts	 o = { 0 };
	const char		*t;
	char			*cause;

	(void)ce;
	start_options(&o, argc, argv);
	t = o.target;
	/* A path, or a name with a script's extension; else an app name. */
	if (t != NULL && !o.conf && (strchr(t, '/') != NULL ||
	    script_interpreter(t) != NULL || eco_is_file(t)) && is_file(t)) {
		if (eco_is_file(t)) {
			if (pmctl_start_running != NULL)
				cJSON_AddStringToObject(req, "running",
				    pmctl_start_running);
			build_ecosystem(req, t, o.profile, o.only,
			    adhoc_options(&o) || o.rest < argc);
			cJSON_Delete(o.keys);
			return;
		}
		o.script = 1;
	}
	if (o.only != NULL)
		pmctl_usage_error("start: --only chooses apps of an ecosystem "
		    "file");
	if (pmctl_start_running != NULL)
		pmctl_usage_error("startOr%s takes an ecosystem file (and "
		    "--env, --only)", pmctl_start_running[2] == 'l' ?
		    "Reload" : "Restart");
	/*
	 * "gunicorn -w 4 app:app": a command given as one string, as PM2
	 * takes it, split as the command key is.
	 */
	if (t != NULL && !o.script && !o.conf && o.rest == argc &&
	    strpbrk(t, " \t") != NULL && !is_file(t) &&
	    split_command(t, &o.words, &cause) == -1)
		pmctl_usage_error("start: \"%s\": %s", t, cause);
	if (o.rest < argc || o.script || o.words != NULL)
		build_adhoc(&o, req, argc, argv);
	else
		build_configured(&o, req);
	argv_free(o.words);
}
