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
	char			*cause;
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
	/* What it follows and does not run starts first (after). */
	if ((a = app_find(name)) != NULL && order_start_deps(a,
	    client_unprivileged(c) ? client_peer(c)->uid : OWNER_NONE, 0,
	    &cause) == -1) {
		reply = reply_error(PMD_E_FAILED, "%s", cause);
		free(cause);
		return reply;
	}
	t.name = xstrdup(name);
	return cmd_wait(c, &t, 0);
}

static cJSON *
start_file(struct client *c, const char *file, const char *profile)
{
	uid_t			 owner = client_unprivileged(c) ?
				    client_peer(c)->uid : OWNER_NONE;
	struct target		 t = { .instance = -1 };
	struct config		*loaded = NULL;
	struct app_config	*cfg, *known;
	struct app		*a;
	cJSON			*reply;
	char			*cause;
	unsigned		 pending = 0;

	if (config_load(file, owner, &loaded, &cause) == -1 ||
	    (cause = order_check(loaded, config)) != NULL) {
		if (loaded != NULL && cause != NULL)
			config_free(loaded);
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

/* The command field as an argv, or NULL with *cause. */
static char **
command_argv(const cJSON *command, char **cause)
{
	const cJSON	*item;
	char		**argv;
	size_t		  n = 0;

	if (!cJSON_IsArray(command) || cJSON_GetArraySize(command) == 0) {
		*cause = xstrdup("field \"command\": expected a non-empty "
		    "array of strings");
		return NULL;
	}
	argv = xcalloc(cJSON_GetArraySize(command) + 1, sizeof *argv);
	cJSON_ArrayForEach(item, command) {
		if (!cJSON_IsString(item)) {
			argv_free(argv);
			*cause = xprintf("field \"command\": item %zu is not a "
			    "string", n);
			return NULL;
		}
		argv[n++] = xstrdup(item->valuestring);
	}
	return argv;
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

	if ((argv = command_argv(command, &cause)) == NULL) {
		cJSON *r = reply_error(PMD_E_ARGS, "%s", cause);
		free(cause);
		return r;
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
	char			**envp, *cause;
	cJSON			*r;
	unsigned		 pending = 0;

	if ((r = adhoc_new(c, req, &cfg, &envp)) != NULL)
		return r;
	if (app_find(cfg->name) != NULL || config_find(config, cfg->name))
		r = reply_error(PMD_E_EXIST, "an app named \"%s\" already "
		    "exists; choose another with --name", cfg->name);
	else if ((cause = order_check_adhoc(&cfg, 1)) != NULL) {
		r = reply_error(PMD_E_ARGS, "%s", cause);
		free(cause);
	} else
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
	char			 *cause;
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
	if (r == NULL && (cause = order_check_adhoc(cfgs, i)) != NULL) {
		r = reply_error(PMD_E_ARGS, "%s", cause);
		free(cause);
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
	.build = CMD_PMCTL(pmctl_build_start),
	.print = CMD_PMCTL(NULL),
};
