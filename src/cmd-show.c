/* show NAME: an app's settings, where it came from, and each worker. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"

static const char *
app_status(const struct app *a)
{
	unsigned	i, errored = 0, online = 0;

	for (i = 0; i < a->nworkers; i++) {
		errored += a->workers[i]->sm.state == W_ERRORED;
		online += a->workers[i]->sm.state == W_ONLINE;
	}
	if (a->nworkers > 0 && errored == a->nworkers)
		return "errored";
	if (errored > 0)
		return "degraded";
	if (online == a->nworkers)
		return "online";
	return online > 0 ? "partial" : "stopped";
}

static cJSON	*cmd_show_exec(struct client *, cJSON *);

static const struct cmd_arg cmd_show_args[] = {
	{ "name", ARG_STRING, 1, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_show_entry = {
	"show", cmd_show_args, CMD_WHILE_STOPPING, cmd_show_exec
};

static cJSON *
cmd_show_exec(struct client *c, cJSON *req)
{
	const char		*name = json_string(req, "name");
	struct app		*a;
	struct app_config	*cfg;
	cJSON			*o, *app, *arr, *env;
	char			*path;
	size_t			 i;

	(void)c;
	if (name == NULL)
		return reply_error(PMD_E_ARGS, "field \"name\": expected an "
		    "app name");
	if ((a = app_find(name)) == NULL)
		return reply_error(PMD_E_NOAPP, "no app named \"%s\"", name);
	cfg = a->cfg;
	o = reply_ok();
	app = cJSON_AddObjectToObject(o, "app");
	cJSON_AddStringToObject(app, "name", a->name);
	cJSON_AddStringToObject(app, "status", app_status(a));
	if (cfg->file != NULL) {
		path = xprintf("%s:%d", cfg->file, cfg->line);
		cJSON_AddStringToObject(app, "source", path);
		free(path);
	} else
		cJSON_AddStringToObject(app, "source", "pmctl start");
	cJSON_AddStringToObject(app, "command", cfg->command);
	arr = cJSON_AddArrayToObject(app, "argv");
	for (i = 0; cfg->argv[i] != NULL; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(cfg->argv[i]));
	cJSON_AddStringToObject(app, "cwd", cfg->cwd);
	cJSON_AddNumberToObject(app, "instances", a->nworkers);
	if (a->profile != NULL)
		cJSON_AddStringToObject(app, "env_profile", a->profile);
	env = cJSON_AddObjectToObject(app, "env");
	for (i = 0; i < cfg->nenv; i++) {
		if (cfg->env[i].profile == NULL ||
		    (a->profile && strcmp(a->profile, cfg->env[i].profile) == 0))
			cJSON_AddStringToObject(env, cfg->env[i].key,
			    cfg->env[i].value);
	}
	cJSON_AddBoolToObject(app, "autorestart", cfg->autorestart);
	cJSON_AddNumberToObject(app, "min_uptime_ms", cfg->min_uptime);
	cJSON_AddNumberToObject(app, "max_restarts", cfg->max_restarts);
	cJSON_AddNumberToObject(app, "restart_delay_ms", cfg->restart_delay);
	cJSON_AddNumberToObject(app, "exp_backoff_restart_delay_ms",
	    cfg->exp_backoff);
	cJSON_AddStringToObject(app, "kill_signal",
	    signal_name(cfg->kill_signal));
	cJSON_AddNumberToObject(app, "kill_timeout_ms", cfg->kill_timeout);
	if (cfg->listen != NULL) {
		arr = cJSON_AddArrayToObject(app, "listen");
		for (i = 0; cfg->listen[i] != NULL; i++)
			cJSON_AddItemToArray(arr,
			    cJSON_CreateString(cfg->listen[i]));
		cJSON_AddNumberToObject(app, "listen_backlog",
		    cfg->listen_backlog);
		if (a->listen_error != NULL)
			cJSON_AddStringToObject(app, "listen_error",
			    a->listen_error);
	}
	cJSON_AddBoolToObject(app, "wait_ready", cfg->wait_ready);
	if (cfg->wait_ready)
		cJSON_AddNumberToObject(app, "listen_timeout_ms",
		    cfg->listen_timeout);
	if (a->reload != NULL)
		cJSON_AddBoolToObject(app, "reloading", 1);
	else if (a->reload_error != NULL)
		cJSON_AddStringToObject(app, "last_reload_error",
		    a->reload_error);
	if (cfg->max_memory > 0) {
		cJSON_AddNumberToObject(app, "max_memory_restart",
		    (double)cfg->max_memory);
		cJSON_AddNumberToObject(app, "memory_check_interval_ms",
		    (double)cfg->memory_interval);
	}
	if (cfg->cron_text != NULL) {
		time_t	next = cron_next(&cfg->cron, time(NULL));
		char	buf[64];

		cJSON_AddStringToObject(app, "cron_restart", cfg->cron_text);
		strftime(buf, sizeof buf, "%Y-%m-%d %H:%M %Z",
		    localtime(&next));
		cJSON_AddStringToObject(app, "next_cron_restart", buf);
	}
	if (a->watch != NULL)
		cJSON_AddItemToObject(app, "watch", watch_json(a->watch));
	if (cfg->user != NULL)
		cJSON_AddStringToObject(app, "user", cfg->user);
	if (cfg->group != NULL)
		cJSON_AddStringToObject(app, "group", cfg->group);
	cJSON_AddBoolToObject(app, "merge_logs", cfg->merge_logs);
	cJSON_AddStringToObject(app, "log_date_format",
	    cfg->log_date_format ? cfg->log_date_format : "none");
	cJSON_AddNumberToObject(app, "log_max_size", (double)cfg->log_max_size);
	cJSON_AddNumberToObject(app, "log_retain", cfg->log_retain);
	/* Each file once: instances share a file unless merge_logs is off. */
	arr = cJSON_AddArrayToObject(app, "log_files");
	for (i = 0; i < a->nworkers; i++) {
		struct logfile *f[2] = { a->workers[i]->outf,
		    a->workers[i]->errf };
		for (int k = 0; k < 2; k++) {
			size_t j;
			for (j = 0; j < i; j++) {
				if (a->workers[j]->outf == f[k] ||
				    a->workers[j]->errf == f[k])
					break;
			}
			if (j == i && (k == 0 || f[1] != f[0]))
				cJSON_AddItemToArray(arr, logfile_json(f[k]));
		}
	}
	arr = cJSON_AddArrayToObject(app, "workers");
	for (i = 0; i < a->nworkers; i++)
		cJSON_AddItemToArray(arr, worker_json(a->workers[i], 1));
	return o;
}
