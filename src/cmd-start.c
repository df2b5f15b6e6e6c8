/*
 * start: a configured app by name (or all of them), the apps of a config
 * file, or an ad-hoc command with the client's cwd and environment.
 * Answers once the started workers are running (or have failed).
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifndef PMCTL
/* Start a, creating it from cfg if it does not exist. */
static void
start_app(struct app_config *cfg, const char *profile)
{
	struct app	*a = app_find(cfg->name);

	if (a == NULL) {
		app_create(cfg, NULL, 0, profile);
		return;
	}
	if (profile != NULL) {
		free(a->profile);
		a->profile = xstrdup(profile);
	}
	app_apply(a, E_START, -1);
}

/*
 * Whether the app of cfg, if it is new, fits in the fd budget beside the
 * fds *pending admitted before it in this request (which grows by its
 * own); NULL, or the error reply.
 */
static cJSON *
start_fits(const struct app_config *cfg, unsigned *pending)
{
	unsigned	 need;
	char		*cause;
	cJSON		*r;

	if (app_find(cfg->name) != NULL)
		return NULL;	/* its slots are counted already */
	if (budget_admit_app(cfg, *pending, "start", &need, &cause) == 0) {
		*pending += need;
		return NULL;
	}
	r = reply_error(PMD_E_FAILED, "%s", cause);
	free(cause);
	return r;
}

/* An app that runs already: started, or restarted or reloaded. */
static void
start_running(struct app *a, const char *running)
{
	char	*why;

	if (running != NULL && strcmp(running, "reload") == 0) {
		if (rolling_begin(a, NULL, -1, &why) == -1) {
			log_warn("%s: startOrReload: %s; restarted instead",
			    a->name, why);
			free(why);
			app_apply(a, E_RESTART, -1);
		}
	} else if (running != NULL)
		app_apply(a, E_RESTART, -1);
	else
		app_apply(a, E_START, -1);
}

static int
has_profile(struct app_config *cfg, const char *profile)
{
	size_t	i;

	for (i = 0; i < cfg->nenv; i++) {
		if (cfg->env[i].profile != NULL &&
		    strcmp(cfg->env[i].profile, profile) == 0)
			return 1;
	}
	return 0;
}

static cJSON *
start_named(struct client *c, const char *name, const char *profile)
{
	struct target		 t = { .instance = -1 };
	struct app_config	*cfg;
	struct app		*a, *next;
	const char		*close;
	const char		**names;
	size_t			 n = 0;
	cJSON			*reply;
	unsigned		 pending = 0;

	if (strcmp(name, "all") == 0) {
		TAILQ_FOREACH(cfg, &config->apps, entry) {
			if ((reply = start_fits(cfg, &pending)) != NULL)
				return reply;
		}
		TAILQ_FOREACH(cfg, &config->apps, entry)
			start_app(cfg, profile);
		for (a = TAILQ_FIRST(&apps); a != NULL; a = next) {
			next = TAILQ_NEXT(a, entry);
			if (a->want != APP_GONE)
				app_apply(a, E_START, -1);
		}
		return cmd_wait(c, &t, 0);
	}
	a = app_find(name);
	cfg = a != NULL && a->want != APP_GONE ? a->cfg : config_find(config, name);
	if (cfg == NULL) {
		TAILQ_FOREACH(cfg, &config->apps, entry)
			n++;
		names = xcalloc(n + 1, sizeof *names);
		n = 0;
		TAILQ_FOREACH(cfg, &config->apps, entry)
			names[n++] = cfg->name;
		close = suggest(name, names, n);
		reply = close ? reply_error(PMD_E_NOAPP, "no app named \"%s\" "
		    "(did you mean \"%s\"?)", name, close) :
		    reply_error(PMD_E_NOAPP, "no app named \"%s\" in the "
		    "config or the running set", name);
		free(names);
		return reply;
	}
	if (profile != NULL && !has_profile(cfg, profile))
		return reply_error(PMD_E_ARGS, "app \"%s\" has no env_%s.* "
		    "keys", name, profile);
	if (a != NULL && a->want == APP_GONE)
		return reply_error(PMD_E_FAILED, "app \"%s\" is being deleted",
		    name);
	if ((reply = start_fits(cfg, &pending)) != NULL)
		return reply;
	start_app(cfg, profile);
	t.name = xstrdup(name);
	return cmd_wait(c, &t, 0);
}

static cJSON *
start_file(struct client *c, const char *file, const char *profile)
{
	uid_t			 owner = client_unprivileged(c) ?
				    client_peer(c)->uid : OWNER_NONE;
	struct target		 t = { .instance = -1 };
	struct config		*loaded;
	struct app_config	*cfg, *known;
	struct app		*a;
	cJSON			*reply;
	char			*cause;
	unsigned		 pending = 0;

	if (config_load(file, owner, &loaded, &cause) == -1) {
		reply = reply_error(PMD_E_CONFIG, "%s", cause);
		free(cause);
		return reply;
	}
	TAILQ_FOREACH(cfg, &loaded->apps, entry) {
		known = config_find(config, cfg->name);
		a = app_find(cfg->name);
		/* A deleted app's name is free for a new definition. */
		if (a != NULL && (a->adhoc || known == NULL ||
		    strcmp(known->file, cfg->file) != 0)) {
			reply = reply_error(PMD_E_EXIST, "%s:%d: app \"%s\" "
			    "already exists (from %s); delete it or rename "
			    "this one", cfg->file, cfg->line, cfg->name,
			    known ? known->file : "pmctl start");
			config_free(loaded);
			return reply;
		}
		if (a != NULL && a->want == APP_GONE) {
			config_free(loaded);
			return reply_error(PMD_E_FAILED, "app \"%s\" is being "
			    "deleted", cfg->name);
		}
		if ((reply = start_fits(cfg, &pending)) != NULL) {
			config_free(loaded);
			return reply;
		}
	}
	/* reload-config reads it again from now on. */
	if (!strv_has(config->files, loaded->file))
		config_add_extra(config, loaded->file, owner);
	while ((cfg = TAILQ_FIRST(&loaded->apps)) != NULL) {
		TAILQ_REMOVE(&loaded->apps, cfg, entry);
		/* One running already stays as it is: reload-config applies
		 * changes. */
		cfg = config_merge(config, cfg, app_find(cfg->name) != NULL);
		start_app(cfg, profile);
		strv_add(&t.names, cfg->name);
	}
	config_free(loaded);
	return cmd_wait(c, &t, 0);
}

static char *
default_name(const char *argv0)
{
	const char	*base = strrchr(argv0, '/');
	char		*name, *p;

	name = xstrndup(base ? base + 1 : argv0, 64);
	for (p = name; *p != '\0'; p++) {
		if (strchr("._-", *p) == NULL && !(*p >= 'a' && *p <= 'z') &&
		    !(*p >= 'A' && *p <= 'Z') && !(*p >= '0' && *p <= '9'))
			*p = '_';
	}
	return name;
}

/*
 * The config and environment of an ad-hoc app from req's fields, or the
 * error reply.
 */
static cJSON *
adhoc_new(struct client *c, cJSON *req, struct app_config **cfgp,
    char ***envpp)
{
	struct app_config	*cfg;
	cJSON			*item, *env, *inst;
	cJSON			*command = cJSON_GetObjectItemCaseSensitive(req,
				    "command");
	const char		*cwd = json_string(req, "cwd");
	const char		*name = json_string(req, "name");
	char			**argv, **envp = NULL, *cause, *dname = NULL;
	size_t			 n = 0;
	int			 spec = 1;

	if (!cJSON_IsArray(command) || cJSON_GetArraySize(command) == 0)
		return reply_error(PMD_E_ARGS, "field \"command\": expected a "
		    "non-empty array of strings");
	argv = xcalloc(cJSON_GetArraySize(command) + 1, sizeof *argv);
	cJSON_ArrayForEach(item, command) {
		if (!cJSON_IsString(item)) {
			argv_free(argv);
			return reply_error(PMD_E_ARGS, "field \"command\": "
			    "item %zu is not a string", n);
		}
		argv[n++] = xstrdup(item->valuestring);
	}
	inst = cJSON_GetObjectItemCaseSensitive(req, "instances");
	if (cJSON_IsString(inst)) {
		if (parse_instances(inst->valuestring, &spec, &cause) == -1) {
			argv_free(argv);
			cJSON *r = reply_error(PMD_E_ARGS, "instances: %s",
			    cause);
			free(cause);
			return r;
		}
	} else if (cJSON_IsNumber(inst) && inst->valuedouble >= 1 &&
	    inst->valuedouble <= 4096)
		spec = (int)inst->valuedouble;
	else if (inst != NULL) {
		argv_free(argv);
		return reply_error(PMD_E_ARGS, "field \"instances\": expected "
		    "a number from 1 to 4096, \"max\" or -N");
	}
	item = cJSON_GetObjectItemCaseSensitive(req, "watch");
	if (item != NULL && !cJSON_IsBool(item)) {
		argv_free(argv);
		return reply_error(PMD_E_ARGS, "field \"watch\": expected true "
		    "or false");
	}
	if (cwd == NULL || cwd[0] != '/') {
		argv_free(argv);
		return reply_error(PMD_E_ARGS, "field \"cwd\": expected an "
		    "absolute path");
	}
	if (name == NULL)
		cfg = appcfg_adhoc(dname = default_name(argv[0]), argv, cwd,
		    spec);
	else
		cfg = appcfg_adhoc(name, argv, cwd, spec);
	free(dname);
	cfg->watch = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req,
	    "watch"));
	if (appcfg_set_keys(cfg, cJSON_GetObjectItemCaseSensitive(req, "keys"),
	    "keys.", &cause) == -1) {
		cJSON *r = reply_error(PMD_E_ARGS, "%s", cause);
		free(cause);
		appcfg_unref(cfg);
		return r;
	}
	if (!app_name_valid(cfg->name)) {
		cJSON *r = reply_error(PMD_E_ARGS, "invalid app name \"%s\": "
		    "use 1 to 64 of A-Z a-z 0-9 . _ - (not \"all\", not all "
		    "digits: those are worker ids)", cfg->name);
		appcfg_unref(cfg);
		return r;
	}
	/* A peer with less privilege than pmd runs its command as itself. */
	if (client_unprivileged(c) &&
	    appcfg_confine(cfg, client_peer(c)->uid, &cause) == -1) {
		cJSON *r = reply_error(PMD_E_PERM, "%s", cause);
		free(cause);
		appcfg_unref(cfg);
		return r;
	}
	env = cJSON_GetObjectItemCaseSensitive(req, "env");
	if (cJSON_IsObject(env)) {
		n = 0;
		envp = xcalloc(cJSON_GetArraySize(env) + 1, sizeof *envp);
		cJSON_ArrayForEach(item, env) {
			if (cJSON_IsString(item) && env_name_valid(item->string))
				envp[n++] = xprintf("%s=%s", item->string,
				    item->valuestring);
		}
	}
	*cfgp = cfg;
	*envpp = envp;
	return NULL;
}

static cJSON *
start_adhoc(struct client *c, cJSON *req)
{
	struct target		 t = { .instance = -1 };
	struct app_config	*cfg;
	struct app		*a;
	char			**envp;
	cJSON			*r;
	unsigned		 pending = 0;

	if ((r = adhoc_new(c, req, &cfg, &envp)) != NULL)
		return r;
	if (app_find(cfg->name) != NULL || config_find(config, cfg->name))
		r = reply_error(PMD_E_EXIST, "an app named \"%s\" already "
		    "exists; choose another with --name", cfg->name);
	else
		r = start_fits(cfg, &pending);
	if (r != NULL) {
		appcfg_unref(cfg);
		argv_free(envp);
		return r;
	}
	a = app_create(cfg, envp, 1, NULL);
	appcfg_unref(cfg);
	t.name = xstrdup(a->name);
	return cmd_wait(c, &t, 0);
}

/*
 * Several ad-hoc apps at once (an ecosystem file): all are checked
 * before any starts. One that runs already as an ad-hoc app is started
 * as it is, as PM2 does; or, with running (startOrRestart, startOrReload),
 * restarted or reloaded.
 */
static cJSON *
start_apps(struct client *c, cJSON *list, const char *running)
{
	struct target		  t = { .instance = -1 };
	size_t			  n = cJSON_GetArraySize(list), i = 0, j;
	struct app_config	**cfgs = xcalloc(n + 1, sizeof *cfgs);
	char			***envs = xcalloc(n + 1, sizeof *envs);
	struct app		 *a;
	cJSON			 *item, *r = NULL;
	unsigned		  pending = 0;

	if (n == 0)
		r = reply_error(PMD_E_ARGS, "field \"apps\": no apps");
	cJSON_ArrayForEach(item, list) {
		if (r != NULL)
			break;
		if ((r = adhoc_new(c, item, &cfgs[i], &envs[i])) != NULL)
			break;
		a = app_find(cfgs[i]->name);
		for (j = 0; j < i; j++) {
			if (strcmp(cfgs[j]->name, cfgs[i]->name) == 0)
				r = reply_error(PMD_E_ARGS, "two apps named "
				    "\"%s\"", cfgs[i]->name);
		}
		if (r == NULL && ((a != NULL && !a->adhoc) ||
		    config_find(config, cfgs[i]->name) != NULL))
			r = reply_error(PMD_E_EXIST, "an app named \"%s\" "
			    "is in pmd's config already", cfgs[i]->name);
		if (r == NULL && a != NULL && a->want == APP_GONE)
			r = reply_error(PMD_E_FAILED, "app \"%s\" is being "
			    "deleted", cfgs[i]->name);
		if (r == NULL)
			r = start_fits(cfgs[i], &pending);
		i++;
	}
	for (j = 0; j < i; j++) {
		if (r == NULL) {
			strv_add(&t.names, cfgs[j]->name);
			if ((a = app_find(cfgs[j]->name)) != NULL) {
				start_running(a, running);
				argv_free(envs[j]);
			} else
				app_create(cfgs[j], envs[j], 1, NULL);
		} else
			argv_free(envs[j]);
		appcfg_unref(cfgs[j]);
	}
	free(cfgs);
	free(envs);
	if (r != NULL) {
		target_clear(&t);
		return r;
	}
	return cmd_wait(c, &t, 0);
}

static cJSON *
cmd_start_exec(struct client *c, cJSON *req)
{
	cJSON		*command = cJSON_GetObjectItemCaseSensitive(req,
			    "command");
	const char	*target = json_string(req, "target");
	const char	*file = json_string(req, "file");
	const char	*profile = json_string(req, "env_profile");
	const char	*running = json_string(req, "running");

	if (command != NULL)
		return start_adhoc(c, req);
	if (running != NULL && strcmp(running, "restart") != 0 &&
	    strcmp(running, "reload") != 0)
		return reply_error(PMD_E_ARGS, "field \"running\": expected "
		    "\"restart\" or \"reload\"");
	if (cJSON_HasObjectItem(req, "apps"))
		return start_apps(c, cJSON_GetObjectItemCaseSensitive(req,
		    "apps"), running);
	if (file != NULL) {
		if (file[0] != '/')
			return reply_error(PMD_E_ARGS, "field \"file\": "
			    "expected an absolute path");
		return start_file(c, file, profile);
	}
	if (target != NULL)
		return start_named(c, target, profile);
	return reply_error(PMD_E_ARGS, "start needs \"target\", \"file\" or "
	    "\"command\"");
}
#endif /* !PMCTL */

#ifdef PMCTL
extern char **environ;

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

/*
 * Turn start's arguments into the request's fields: a configured app or
 * all; a config file (FILE.conf, or any path to one); a script, run as
 * PM2 runs it (by its extension's interpreter, else itself); a program
 * and its arguments (start npm -- start); or -- COMMAND.
 */
static void
build_start(const struct cmd_entry *ce, cJSON *req, int argc, char **argv)
{
	const char	*name = NULL, *inst = NULL, *profile = NULL;
	const char	*only = NULL;
	const char	*target = NULL, *interp = NULL, **slot;
	char		 path[PATH_MAX], cwd[PATH_MAX], *dname = NULL;
	char		**words = NULL, **w, *cause;
	cJSON		*cmd, *keys = cJSON_CreateObject();
	int		 i, watch = 0, script = 0, conf;

	(void)ce;
	for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (argv[i][0] != '-' || argv[i][1] == '\0') {
			if (target != NULL)
				pmctl_usage_error("start: one app or file at a time");
			target = argv[i];
			continue;
		}
		if (strcmp(argv[i], "--watch") == 0) {
			watch = 1;
			continue;
		}
		if (strcmp(argv[i], "--name") == 0 || strcmp(argv[i], "-n") == 0)
			slot = &name;
		else if (strcmp(argv[i], "-i") == 0 ||
		    strcmp(argv[i], "--instances") == 0)
			slot = &inst;
		else if (strcmp(argv[i], "--env") == 0)
			slot = &profile;
		else if (strcmp(argv[i], "--only") == 0)
			slot = &only;
		else if (strcmp(argv[i], "--interpreter") == 0)
			slot = &interp;
		else {
			i = key_flag(keys, argc, argv, i);
			continue;
		}
		if (i + 1 >= argc || strcmp(argv[i + 1], "--") == 0)
			pmctl_usage_error("start: %s needs a value", argv[i]);
		*slot = argv[++i];
	}
	conf = target != NULL && strlen(target) > 5 &&
	    strcmp(target + strlen(target) - 5, ".conf") == 0;
	/* A path, or a name with a script's extension; else an app name. */
	if (target != NULL && !conf && (strchr(target, '/') != NULL ||
	    script_interpreter(target) != NULL || eco_is_file(target)) &&
	    is_file(target)) {
		if (eco_is_file(target)) {
			if (pmctl_start_running != NULL)
				cJSON_AddStringToObject(req, "running",
				    pmctl_start_running);
			build_ecosystem(req, target, profile, only,
			    name != NULL || inst != NULL || watch ||
			    interp != NULL || cJSON_GetArraySize(keys) > 0 ||
			    i < argc);
			cJSON_Delete(keys);
			return;
		}
		script = 1;
	}
	if (only != NULL)
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
	if (target != NULL && !script && !conf && i == argc &&
	    strpbrk(target, " \t") != NULL && !is_file(target) &&
	    split_command(target, &words, &cause) == -1)
		pmctl_usage_error("start: \"%s\": %s", target, cause);
	if (i < argc || script || words != NULL) {
		/* An ad-hoc app: a script, a program with its arguments, or
		 * the command after --. */
		if (i < argc)
			i++;
		if (target == NULL && i == argc)
			pmctl_usage_error("start: no command after --");
		if (conf)
			pmctl_usage_error("start: either FILE.conf or -- COMMAND, "
			    "not both");
		if (profile != NULL)
			pmctl_usage_error("start: --env chooses a profile of a "
			    "configured app, not of a command");
		cmd = cJSON_AddArrayToObject(req, "command");
		if (script) {
			if (realpath(target, path) == NULL)
				fatalx(EXIT_USAGE, "%s: %s", target,
				    strerror(errno));
			if (interp == NULL)
				interp = script_interpreter(target);
			if (interp != NULL && strcmp(interp, "none") != 0)
				cJSON_AddItemToArray(cmd,
				    cJSON_CreateString(interp));
			cJSON_AddItemToArray(cmd, cJSON_CreateString(path));
			if (name == NULL)
				name = dname = script_name(target);
			/* A script started as PM2 starts it stops as PM2's. */
			if (!cJSON_HasObjectItem(keys, "kill_signal"))
				cJSON_AddStringToObject(keys, "kill_signal",
				    PM2_KILL_SIGNAL);
			if (!cJSON_HasObjectItem(keys, "kill_timeout"))
				cJSON_AddStringToObject(keys, "kill_timeout",
				    PM2_KILL_TIMEOUT);
		} else if (target != NULL) {
			if (interp != NULL)
				pmctl_usage_error("start: --interpreter goes with "
				    "a script");
			for (w = words; w != NULL && *w != NULL; w++)
				cJSON_AddItemToArray(cmd, cJSON_CreateString(*w));
			if (words == NULL)
				cJSON_AddItemToArray(cmd,
				    cJSON_CreateString(target));
			argv_free(words);
		}
		for (; i < argc; i++)
			cJSON_AddItemToArray(cmd, cJSON_CreateString(argv[i]));
		if (name != NULL)
			cJSON_AddStringToObject(req, "name", name);
		free(dname);
		if (watch)
			cJSON_AddBoolToObject(req, "watch", 1);
		if (cJSON_GetArraySize(keys) > 0)
			cJSON_AddItemToObject(req, "keys", keys);
		else
			cJSON_Delete(keys);
		if (inst != NULL) {
			char *end;
			long n = strtol(inst, &end, 10);
			if (*end == '\0' && n >= 1)
				cJSON_AddNumberToObject(req, "instances", n);
			else
				cJSON_AddStringToObject(req, "instances", inst);
		}
		if (getcwd(cwd, sizeof cwd) == NULL)
			fatalx(EXIT_USAGE, "getcwd: %s", strerror(errno));
		cJSON_AddStringToObject(req, "cwd", cwd);
		/* As with PM2, the command gets the environment of pmctl. */
		pmctl_add_environ(cJSON_AddObjectToObject(req, "env"));
		return;
	}
	if (target == NULL)
		pmctl_usage_error("start: expected NAME, all, FILE.conf, a "
		    "script, or -- COMMAND");
	if (name != NULL || inst != NULL || watch || interp != NULL ||
	    cJSON_GetArraySize(keys) > 0)
		pmctl_usage_error("start: --name, -i and the keys as options go "
		    "with -- COMMAND (a configured app sets them in its file)");
	cJSON_Delete(keys);
	if (strchr(target, '/') != NULL || conf) {
		if (realpath(target, path) == NULL)
			fatalx(EXIT_USAGE, "%s: %s", target, strerror(errno));
		cJSON_AddStringToObject(req, "file", path);
	} else
		cJSON_AddStringToObject(req, "target", target);
	if (profile != NULL)
		cJSON_AddStringToObject(req, "env_profile", profile);
}
#endif /* PMCTL */

static const struct cmd_arg cmd_start_args[] = {
	{ "target", ARG_STRING, 0, 0, 0 },
	{ "file", ARG_STRING, 0, 0, 0 },
	{ "command", ARG_STRINGS, 0, 1, 0 },
	{ "name", ARG_STRING, 0, 0, 0 },
	{ "env_profile", ARG_STRING, 0, 0, 0 },
	{ "instances", ARG_INT_OR_STRING, 0, 1, 4096 },
	{ "cwd", ARG_STRING, 0, 0, 0 },
	{ "env", ARG_STRING_MAP, 0, 0, 0 },
	{ "watch", ARG_BOOL, 0, 0, 0 },
	{ "keys", ARG_STRING_MAP, 0, 0, 0 },
	{ "apps", ARG_OBJECTS, 0, 0, 0 },
	{ "running", ARG_STRING, 0, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_start_entry = {
	.name = "start",
	.alias = NULL,
	.usage = "NAME|all|FILE.conf [--env PROFILE] | [--name NAME] [-i N] [--KEY VALUE|--KEY|--no-KEY...] -- CMD [ARG...]",
	.help = "start a configured app, the apps of a file, or a command",
	.args = cmd_start_args,
	.flags = CMD_WAITS,
	.exec = CMD_EXEC(cmd_start_exec),
	.build = CMD_PMCTL(build_start),
	.print = CMD_PMCTL(NULL),
};
