/* show NAME: an app's settings, where it came from, and each worker. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifndef PMCTL
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
#endif /* !PMCTL */

#ifdef PMCTL
static void
print_strings(const char *label, cJSON *list)
{
	cJSON		*item;
	const char	*sep = "";

	printf("%-29s ", label);
	cJSON_ArrayForEach(item, list) {
		printf("%s%s", sep, cJSON_IsString(item) ? item->valuestring :
		    "?");
		sep = ", ";
	}
	printf("\n");
}

static void
print_watch(cJSON *watch)
{
	if (watch == NULL)
		return;
	print_strings("watch", cJSON_GetObjectItemCaseSensitive(watch,
	    "paths"));
	print_strings("ignore_watch", cJSON_GetObjectItemCaseSensitive(watch,
	    "ignore"));
	printf("%-29s %.0f\n", "watch_delay_ms", num(watch, "delay_ms"));
	printf("%-29s %.0f\n", "watched directories",
	    num(watch, "directories"));
}

static void
print_show(cJSON *reply, cJSON *req, FILE *in)
{
	cJSON	*app = cJSON_GetObjectItemCaseSensitive(reply, "app");

	static const char *const keys[] = {
		"source", "command", "cwd", "env_profile", "user", "group",
		"kill_signal", "log_date_format", "cron_restart",
		"next_cron_restart",
	};
	static const char *const nums[] = {
		"instances", "min_uptime_ms", "max_restarts",
		"restart_delay_ms", "exp_backoff_restart_delay_ms",
		"kill_timeout_ms", "log_max_size", "log_retain",
		"max_memory_restart", "memory_check_interval_ms",
	};
	cJSON	*w, *env, *line, *tail;
	char	 up[16], mem[16];
	size_t	 i;

	(void)req; (void)in;
	printf("%-29s %s\n", "app", str(app, "name"));
	printf("%-29s %s%s%s\n", "status", paint(str(app, "status")),
	    str(app, "status"), color ? "\033[0m" : "");
	for (i = 0; i < nitems(keys); i++) {
		if (json_string(app, keys[i]) != NULL)
			printf("%-29s %s\n", keys[i], str(app, keys[i]));
	}
	for (i = 0; i < nitems(nums); i++)
		printf("%-29s %.0f\n", nums[i], num(app, nums[i]));
	print_watch(cJSON_GetObjectItemCaseSensitive(app, "watch"));
	printf("%-29s %s\n", "autorestart", cJSON_IsTrue(
	    cJSON_GetObjectItemCaseSensitive(app, "autorestart")) ?
	    "true" : "false");
	cJSON_ArrayForEach(line, cJSON_GetObjectItemCaseSensitive(app,
	    "log_files")) {
		printf("%-29s %s", "log file", str(line, "file"));
		if (num(line, "dropped_lines") > 0)
			printf(" (%.0f lines dropped%s%s)",
			    num(line, "dropped_lines"),
			    json_string(line, "error") ? ": " : "",
			    json_string(line, "error") ? str(line, "error") : "");
		printf("\n");
	}
	env = cJSON_GetObjectItemCaseSensitive(app, "env");
	cJSON_ArrayForEach(line, env)
		printf("%-29s %s=%s\n", "env", line->string,
		    cJSON_IsString(line) ? line->valuestring : "");
	cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(app,
	    "workers")) {
		fmt_duration(up, sizeof up, num(w, "uptime_ms"));
		fmt_bytes(mem, sizeof mem, num(w, "memory"));
		printf("\ninstance %.0f: %s%s%s", num(w, "instance"),
		    paint(str(w, "status")), str(w, "status"),
		    color ? "\033[0m" : "");
		if (num(w, "pid") > 0)
			printf(", pid %.0f, up %s, cpu %.1f%%, mem %s",
			    num(w, "pid"), up, num(w, "cpu"), mem);
		printf("\n  restarts %.0f (unstable in a row: %.0f), worker "
		    "id %.0f\n", num(w, "restarts"),
		    num(w, "unstable_restarts"), num(w, "worker_id"));
		if (json_string(w, "reason"))
			printf("  reason: %s\n", str(w, "reason"));
		if (json_string(w, "last_exit"))
			printf("  last exit: %s\n", str(w, "last_exit"));
		if (json_string(w, "exec_error"))
			printf("  start failed: %s\n", str(w, "exec_error"));
		if (cJSON_GetObjectItemCaseSensitive(w, "restart_in_ms"))
			printf("  restarting in %.0f ms\n",
			    num(w, "restart_in_ms"));
		tail = cJSON_GetObjectItemCaseSensitive(w, "stderr_tail");
		if (cJSON_GetArraySize(tail) > 0) {
			int n = cJSON_GetArraySize(tail), k = 0;
			printf("  last lines of stderr:\n");
			cJSON_ArrayForEach(line, tail) {
				if (k++ >= n - 10)
					printf("    | %s\n", line->valuestring);
			}
		}
	}
}
#endif /* PMCTL */

static const struct cmd_arg cmd_show_args[] = {
	{ "name", ARG_STRING, 1, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_show_entry = {
	.name = "show",
	.alias = "info",
	.usage = "NAME",
	.help = "everything about one app and each of its workers",
	.args = cmd_show_args,
	.flags = CMD_WHILE_STOPPING,
	.exec = CMD_EXEC(cmd_show_exec),
	.build = CMD_PMCTL(NULL),
	.print = CMD_PMCTL(print_show),
};
