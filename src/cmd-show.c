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
	if (online == 0 && order_waiting_for(a) != NULL)
		return "waiting";
	return online > 0 ? "partial" : "stopped";
}

static cJSON *
logfile_obj(const struct logfile *f)
{
	struct logfile_info	 info;
	cJSON			*o = cJSON_CreateObject();

	logfile_info(f, &info);
	cJSON_AddStringToObject(o, "file", info.path);
	cJSON_AddNumberToObject(o, "size", (double)info.size);
	cJSON_AddNumberToObject(o, "dropped_lines", (double)info.dropped);
	if (info.error != NULL)
		cJSON_AddStringToObject(o, "error", info.error);
	return o;
}

/* What is watched, what is left out, and how many directories. */
static cJSON *
watch_obj(const struct watch *w)
{
	struct watch_info	 info;
	cJSON			*o = cJSON_CreateObject(), *ignore;
	char *const		*p;

	watch_info(w, &info);
	cJSON_AddItemToObject(o, "paths", json_strings(info.paths));
	ignore = json_strings(info.ignored);
	cJSON_AddItemToObject(o, "ignore", ignore);
	for (p = info.more_ignored; p != NULL && *p != NULL; p++)
		cJSON_AddItemToArray(ignore, cJSON_CreateString(*p));
	cJSON_AddNumberToObject(o, "delay_ms", (double)info.delay);
	cJSON_AddNumberToObject(o, "directories", (double)info.directories);
	return o;
}

/* Each file once: instances share a file unless merge_logs is off. */
static cJSON *
log_files(const struct app *a)
{
	cJSON		*arr = cJSON_CreateArray();
	struct logfile	*f[2];
	unsigned	 i, j;
	int		 k;

	for (i = 0; i < a->nworkers; i++) {
		f[0] = a->workers[i]->outf;
		f[1] = a->workers[i]->errf;
		for (k = 0; k < 2; k++) {
			for (j = 0; j < i; j++) {
				if (a->workers[j]->outf == f[k] ||
				    a->workers[j]->errf == f[k])
					break;
			}
			if (j == i && (k == 0 || f[1] != f[0]))
				cJSON_AddItemToArray(arr, logfile_obj(f[k]));
		}
	}
	return arr;
}

/* Every key of the app's config, as it would be written: from the table. */
static cJSON *
config_json(const struct app_config *cfg)
{
	cJSON	*o = cJSON_CreateObject();
	char	*v;
	size_t	 i;

	for (i = 0; i < napp_keys; i++) {
		if ((v = key_text(&app_keys[i], cfg)) == NULL) {
			cJSON_AddNullToObject(o, app_keys[i].name);
			continue;
		}
		cJSON_AddStringToObject(o, app_keys[i].name, v);
		free(v);
	}
	return o;
}

static cJSON *
cmd_show_exec(struct client *c, cJSON *req)
{
	const char		*name = target_app_name(json_string(req, "name"));
	struct app		*a;
	struct app_config	*cfg;
	cJSON			*o, *app, *arr, *env;
	char			*path, buf[64];
	time_t			 next;
	size_t			 i;

	(void)c;
	if ((a = app_find(name)) == NULL)
		return reply_error(PMD_E_NOAPP, "no app named \"%s\"", name);
	cfg = a->cfg;
	o = reply_ok();
	app = cJSON_AddObjectToObject(o, "app");
	cJSON_AddStringToObject(app, "name", a->name);
	cJSON_AddStringToObject(app, "status", app_status(a));
	if (order_waiting_for(a) != NULL)
		cJSON_AddStringToObject(app, "waiting_for",
		    order_waiting_for(a));
	if (cfg->file != NULL) {
		path = xprintf("%s:%d", cfg->file, cfg->line);
		cJSON_AddStringToObject(app, "source", path);
		free(path);
	} else
		cJSON_AddStringToObject(app, "source", "pmctl start");
	arr = cJSON_AddArrayToObject(app, "argv");
	for (i = 0; cfg->argv[i] != NULL; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(cfg->argv[i]));
	cJSON_AddNumberToObject(app, "instances", a->nworkers);
	cJSON_AddItemToObject(app, "config", config_json(cfg));
	if (a->profile != NULL)
		cJSON_AddStringToObject(app, "env_profile", a->profile);
	env = cJSON_AddObjectToObject(app, "env");
	for (i = 0; i < cfg->nenv; i++) {
		if (cfg->env[i].profile == NULL ||
		    (a->profile && strcmp(a->profile, cfg->env[i].profile) == 0))
			cJSON_AddStringToObject(env, cfg->env[i].key,
			    cfg->env[i].value);
	}
	if (a->learned != NULL)
		cJSON_AddItemToObject(app, "shared", json_strings(a->learned));
	if (a->widened != NULL)
		cJSON_AddItemToObject(app, "listening", json_strings(a->widened));
	if (a->listen_error != NULL)
		cJSON_AddStringToObject(app, "listen_error", a->listen_error);
	if (a->roll != NULL)
		cJSON_AddBoolToObject(app, "reloading", 1);
	else if (a->reload_error != NULL)
		cJSON_AddStringToObject(app, "last_reload_error",
		    a->reload_error);
	if (cfg->cron_text != NULL) {
		next = cron_next(&cfg->cron, time(NULL));
		strftime(buf, sizeof buf, "%Y-%m-%d %H:%M %Z", localtime(&next));
		cJSON_AddStringToObject(app, "next_cron_restart", buf);
	}
	if (a->watch != NULL)
		cJSON_AddItemToObject(app, "watch", watch_obj(a->watch));
	cJSON_AddItemToObject(app, "log_files", log_files(a));
	arr = cJSON_AddArrayToObject(app, "workers");
	for (i = 0; i < a->nworkers; i++)
		cJSON_AddItemToArray(arr, cmd_worker_json(a->workers[i], 1));
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
	print_strings("watched paths", cJSON_GetObjectItemCaseSensitive(watch,
	    "paths"));
	print_strings("ignored names", cJSON_GetObjectItemCaseSensitive(watch,
	    "ignore"));
	printf("%-29s %.0f\n", "watched directories",
	    num(watch, "directories"));
}

/* How the app stops, in one line, and whose rule that is. */
static void
print_stop(cJSON *conf)
{
	const char	*sig = json_string(conf, "kill_signal");
	const char	*tmo = json_string(conf, "kill_timeout");
	const char	*msg = json_string(conf, "shutdown_with_message");
	const char	*whose;

	if (sig == NULL || tmo == NULL)
		return;
	if (strcmp(sig, PM2_KILL_SIGNAL) == 0 &&
	    strcmp(tmo, PM2_KILL_TIMEOUT) == 0)
		whose = "PM2's defaults, for an app from PM2's world";
	else if (strcmp(sig, "SIGTERM") == 0 && strcmp(tmo, "5s") == 0)
		whose = "pmd's defaults";
	else
		whose = "its own kill_signal and kill_timeout";
	printf("%-29s ", "stops with");
	if (msg != NULL && strcmp(msg, "true") == 0)
		printf("the message \"shutdown\", then %s after %s, ", sig, tmo);
	else
		printf("%s, ", sig);
	printf("then SIGKILL after %s (%s)\n", tmo, whose);
}

/* One instances line: the count running, and the config's if other. */
static void
print_instances(cJSON *app)
{
	const char	*conf;
	char		 up[16];

	snprintf(up, sizeof up, "%.0f", num(app, "instances"));
	conf = json_string(cJSON_GetObjectItemCaseSensitive(app, "config"),
	    "instances");
	printf("%-29s %s", "instances", up);
	if (conf != NULL && strspn(conf, "0123456789") == strlen(conf) &&
	    strcmp(conf, up) != 0)
		printf(" (the config says %s: scaled since)", conf);
	else if (conf != NULL && strcmp(conf, up) != 0)
		printf(" (the config says %s)", conf);
	printf("\n");
}

static void
print_log_files(cJSON *app)
{
	cJSON	*line;

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
}

/* The app's own lines: status, source, every key, sockets, logs, env. */
static void
print_app(cJSON *app)
{
	cJSON	*v;

	printf("%-29s %s\n", "app", str(app, "name"));
	printf("%-29s %s%s%s", "status", paint(str(app, "status")),
	    str(app, "status"), color ? "\033[0m" : "");
	if (json_string(app, "waiting_for") != NULL)
		printf(" (waiting for %s: after)", str(app, "waiting_for"));
	printf("\n");
	printf("%-29s %s\n", "source", str(app, "source"));
	print_instances(app);
	if (json_string(app, "env_profile") != NULL)
		printf("%-29s %s\n", "env_profile", str(app, "env_profile"));
	/* Every key, as pmd.conf(5) writes it; "-" where it is not set. */
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(app, "config"))
		if (strcmp(v->string, "instances") != 0)
			printf("%-29s %s\n", v->string, cJSON_IsString(v) ?
			    v->valuestring : "-");
	print_stop(cJSON_GetObjectItemCaseSensitive(app, "config"));
	if (json_string(app, "next_cron_restart") != NULL)
		printf("%-29s %s\n", "next_cron_restart",
		    str(app, "next_cron_restart"));
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(app, "shared"))
		printf("%-29s %s (bound by its workers: listen_share)\n",
		    "shared", cJSON_IsString(v) ? v->valuestring : "-");
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(app,
	    "listening"))
		printf("%-29s %s\n", "listening", cJSON_IsString(v) ?
		    v->valuestring : "-");
	if (json_string(app, "listen_error") != NULL)
		printf("%-29s %s\n", "listen error", str(app, "listen_error"));
	if (json_string(app, "last_reload_error") != NULL)
		printf("%-29s %s\n", "last reload error",
		    str(app, "last_reload_error"));
	print_watch(cJSON_GetObjectItemCaseSensitive(app, "watch"));
	print_log_files(app);
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(app, "env"))
		printf("%-29s %s=%s\n", "env", v->string,
		    cJSON_IsString(v) ? v->valuestring : "");
}

/* A worker's lines that are there only when they say something. */
static void
print_worker_notes(cJSON *w)
{
	cJSON	*m, *v, *line, *tail;
	int	 n, k = 0;

	if (json_string(w, "reason"))
		printf("  reason: %s\n", str(w, "reason"));
	if (json_string(w, "last_exit") && json_string(w, "last_exit_reason"))
		printf("  last exit: %s (%s)\n", str(w, "last_exit"),
		    str(w, "last_exit_reason"));
	else if (json_string(w, "last_exit"))
		printf("  last exit: %s\n", str(w, "last_exit"));
	if ((m = cJSON_GetObjectItemCaseSensitive(w, "metrics")) != NULL) {
		printf("  metrics:");
		cJSON_ArrayForEach(v, m)
			printf(" %s=%g", v->string, v->valuedouble);
		putchar('\n');
	}
	if (num(w, "messages_dropped_bad") > 0 ||
	    num(w, "messages_dropped_unsent") > 0)
		printf("  messages dropped: %.0f not JSON or too long, %.0f not "
		    "taken\n", num(w, "messages_dropped_bad"),
		    num(w, "messages_dropped_unsent"));
	if (json_string(w, "exec_error"))
		printf("  start failed: %s\n", str(w, "exec_error"));
	if (json_string(w, "status_text"))
		printf("  status: %s\n", str(w, "status_text"));
	if (json_string(w, "waiting_for"))
		printf("  waiting for: %s\n", str(w, "waiting_for"));
	if (cJSON_GetObjectItemCaseSensitive(w, "restart_in_ms"))
		printf("  restarting in %.0f ms\n", num(w, "restart_in_ms"));
	tail = cJSON_GetObjectItemCaseSensitive(w, "stderr_tail");
	if ((n = cJSON_GetArraySize(tail)) > 0) {
		printf("  last lines of stderr:\n");
		cJSON_ArrayForEach(line, tail) {
			if (k++ >= n - 10)
				printf("    | %s\n", line->valuestring);
		}
	}
}

static void
print_worker(cJSON *w)
{
	char	up[16], mem[16];

	fmt_duration(up, sizeof up, num(w, "uptime_ms"));
	fmt_bytes(mem, sizeof mem, num(w, "memory"));
	printf("\ninstance %.0f: %s%s%s", num(w, "instance"),
	    paint(str(w, "status")), str(w, "status"), color ? "\033[0m" : "");
	if (num(w, "pid") > 0)
		printf(", pid %.0f, up %s, cpu %.1f%%, mem %s", num(w, "pid"), up,
		    num(w, "cpu"), mem);
	printf("\n  restarts %.0f (unstable in a row: %.0f), worker id %.0f\n",
	    num(w, "restarts"), num(w, "unstable_restarts"),
	    num(w, "worker_id"));
	print_worker_notes(w);
}

static void
print_show(cJSON *reply, cJSON *req, FILE *in)
{
	cJSON	*app = cJSON_GetObjectItemCaseSensitive(reply, "app"), *w;

	(void)req;
	(void)in;
	print_app(app);
	cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(app, "workers"))
		print_worker(w);
}
#endif /* PMCTL */

static const struct cmd_arg cmd_show_args[] = {
	{ "name", ARG_STRING, 1, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_show_entry = {
	.name = "show",
	.alias = "info describe desc",
	.usage = "NAME",
	.help = "everything about one app and each of its workers",
	.args = cmd_show_args,
	.flags = CMD_WHILE_STOPPING,
	.exec = CMD_EXEC(cmd_show_exec),
	.build = CMD_PMCTL(NULL),
	.print = CMD_PMCTL(print_show),
};
