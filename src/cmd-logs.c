/*
 * logs [NAME] [--lines N] [--follow] [--err|--out]: the last lines of the
 * log files, then, with follow, one message per new line until the client
 * goes away.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifndef PMCTL
/* One file's lines: [{"app","instance","stream","file","lines"}], oldest first. */
static void
add_file(void *arg, const char *app, int instance, int stream,
    const char *path, char **lines)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "app", app);
	if (instance >= 0)
		cJSON_AddNumberToObject(o, "instance", instance);
	cJSON_AddStringToObject(o, "stream", stream == LOG_ERR ? "err" : "out");
	cJSON_AddStringToObject(o, "file", path);
	cJSON_AddItemToObject(o, "lines", json_strings(lines));
	cJSON_InsertItemInArray(arg, 0, o);
}

static cJSON *
cmd_logs_exec(struct client *c, cJSON *req)
{
	const char	*name = target_app_name(json_string(req, "name"));
	const char	*stream = json_string(req, "stream");
	cJSON		*lines = cJSON_GetObjectItemCaseSensitive(req, "lines");
	cJSON		*reply, *files;
	struct app	*a;
	unsigned	 n = 15;
	int		 mask = 1 << LOG_OUT | 1 << LOG_ERR, ns = 0;

	if (name != NULL && app_find(name) == NULL) {
		/* PM2's logs NAMESPACE: the apps of that namespace. */
		TAILQ_FOREACH(a, &apps, entry)
			ns |= strcmp(a->cfg->namespace, name) == 0;
		if (!ns)
			return reply_error(PMD_E_NOAPP, "no app or namespace "
			    "named \"%s\"", name);
	}
	if (lines != NULL)
		n = (unsigned)lines->valuedouble;
	if (stream != NULL) {
		if (strcmp(stream, "out") == 0)
			mask = 1 << LOG_OUT;
		else if (strcmp(stream, "err") == 0)
			mask = 1 << LOG_ERR;
		else
			return reply_error(PMD_E_ARGS, "field \"stream\": "
			    "expected \"out\" or \"err\"");
	}
	reply = reply_ok();
	files = cJSON_AddArrayToObject(reply, "logs");
	if (!ns)
		logs_tail(name, mask, n, add_file, files);
	TAILQ_FOREACH(a, &apps, entry) {
		if (ns && strcmp(a->cfg->namespace, name) == 0)
			logs_tail(a->name, mask, n, add_file, files);
	}
	if (daemon_container)
		cJSON_AddStringToObject(reply, "note", "pmd runs in container "
		    "mode: the logs go to its stdout and stderr, not to files; "
		    "--follow shows new lines here");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "follow")))
		client_follow(c, name, ns, mask);
	return reply;
}
#endif /* !PMCTL */

#ifdef PMCTL
/* "app:0 | " or "app | ", coloured (stderr red) on a terminal. */
static void
print_log_line(const char *app, cJSON *instance, const char *stream,
    const char *line)
{
	const char	*on = !color ? "" : strcmp(stream, "err") == 0 ?
			    "\033[31m" : "\033[36m";

	if (cJSON_IsNumber(instance))
		printf("%s%s:%.0f |%s %s\n", on, app, instance->valuedouble,
		    color ? "\033[0m" : "", line);
	else
		printf("%s%s |%s %s\n", on, app, color ? "\033[0m" : "", line);
}

static void
print_files(cJSON *files)
{
	cJSON	*f, *line;

	cJSON_ArrayForEach(f, files) {
		if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(f,
		    "lines")) == 0)
			continue;
		printf("%s==> %s (last %d lines) <==%s\n", color ? "\033[90m" :
		    "", str(f, "file"), cJSON_GetArraySize(
		    cJSON_GetObjectItemCaseSensitive(f, "lines")),
		    color ? "\033[0m" : "");
		cJSON_ArrayForEach(line, cJSON_GetObjectItemCaseSensitive(f,
		    "lines"))
			print_log_line(str(f, "app"),
			    cJSON_GetObjectItemCaseSensitive(f, "instance"),
			    str(f, "stream"), line->valuestring);
	}
}

/* After logs --follow's first reply: one line per message until EOF. */
static void
follow(FILE *in)
{
	cJSON	*m;
	char	*s;

	while ((m = pmctl_read_reply(in)) != NULL) {
		if (pmctl_json) {
			s = cJSON_PrintUnformatted(m);
			puts(s);
			free(s);
		} else
			print_log_line(str(m, "app"),
			    cJSON_GetObjectItemCaseSensitive(m, "instance"),
			    str(m, "stream"), str(m, "line"));
		cJSON_Delete(m);
	}
	fatalx(EXIT_UNREACH, "the daemon closed the log stream");
}

/* The last lines; with --follow, then each new one until pmd goes. */
static void
print_logs(cJSON *reply, cJSON *req, FILE *in)
{
	if (!pmctl_json && json_string(reply, "note") != NULL)
		fprintf(stderr, "pmctl: %s\n", json_string(reply, "note"));
	if (!pmctl_json)
		print_files(cJSON_GetObjectItemCaseSensitive(reply, "logs"));
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "follow")))
		follow(in);
}

static void
build_logs(const struct cmd_entry *ce, cJSON *req, int argc, char **argv)
{
	char	*end;
	long	 n;
	int	 i;

	(void)ce;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--follow") == 0 ||
		    strcmp(argv[i], "-f") == 0)
			cJSON_AddTrueToObject(req, "follow");
		else if (strcmp(argv[i], "--nostream") == 0)
			continue;	/* PM2's: the last lines only, as here */
		else if (strcmp(argv[i], "--err") == 0 ||
		    strcmp(argv[i], "--out") == 0) {
			if (cJSON_HasObjectItem(req, "stream"))
				pmctl_usage_error("logs: --err or --out, not both");
			cJSON_AddStringToObject(req, "stream", argv[i] + 2);
		} else if (strcmp(argv[i], "--lines") == 0 ||
		    strcmp(argv[i], "-n") == 0) {
			if (++i == argc)
				pmctl_usage_error("logs: %s needs a number",
				    argv[i - 1]);
			n = strtol(argv[i], &end, 10);
			if (*argv[i] == '\0' || *end != '\0' || n < 0 ||
			    n > 100000)
				pmctl_usage_error("logs: --lines takes a number from "
				    "0 to 100000, got \"%s\"", argv[i]);
			cJSON_AddNumberToObject(req, "lines", n);
		} else if (argv[i][0] == '-')
			pmctl_usage_error("logs: unknown option %s", argv[i]);
		else if (cJSON_HasObjectItem(req, "name"))
			pmctl_usage_error("logs: one app at a time");
		else
			cJSON_AddStringToObject(req, "name", argv[i]);
	}
}
#endif /* PMCTL */

static const struct cmd_arg cmd_logs_args[] = {
	{ "name", ARG_STRING, 0, 0, 0 },
	{ "stream", ARG_STRING, 0, 0, 0 },
	{ "lines", ARG_INT, 0, 0, 100000 },
	{ "follow", ARG_BOOL, 0, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_logs_entry = {
	.name = "logs",
	.alias = NULL,
	.usage = "[NAME] [--lines N] [--follow] [--err|--out]",
	.help = "the last lines of the logs, then with --follow new ones",
	.args = cmd_logs_args,
	.flags = CMD_WHILE_STOPPING,
	.exec = CMD_EXEC(cmd_logs_exec),
	.build = CMD_PMCTL(build_logs),
	.print = CMD_PMCTL(print_logs),
};
