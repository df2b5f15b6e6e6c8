/*
 * events [NAME] [--lines N] [--follow]: what happened (events.c), the last
 * N kept, then with --follow each new one as it happens. One line each,
 * or JSON lines with --json.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifndef PMCTL
static void
add_event(const struct event *e, void *arg)
{
	cJSON_AddItemToArray(arg, event_json(e));
}

static cJSON *
cmd_events_exec(struct client *c, cJSON *req)
{
	const char	*name = target_app_name(json_string(req, "name"));
	cJSON		*reply, *lines = cJSON_GetObjectItemCaseSensitive(req,
			    "lines");
	size_t		 n = cJSON_IsNumber(lines) ? (size_t)lines->valuedouble :
			    50;

	if (name != NULL && app_find(name) == NULL)
		return reply_error(PMD_E_NOAPP, "no app named \"%s\"", name);
	reply = reply_ok();
	events_each(name, n, add_event, cJSON_AddArrayToObject(reply,
	    "events"));
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "follow")))
		client_follow_events(c, name);
	return reply;
}
#endif /* !PMCTL */

#ifdef PMCTL
static void
print_event(cJSON *e)
{
	char		 when[32], *s;
	double		 t = num(e, "time");
	time_t		 sec = (time_t)t;
	struct tm	 tm;
	cJSON		*inst = cJSON_GetObjectItemCaseSensitive(e, "instance");

	if (pmctl_json) {
		s = cJSON_PrintUnformatted(e);
		puts(s);
		free(s);
		return;
	}
	localtime_r(&sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	printf("%s.%03d ", when, (int)((t - (double)sec) * 1000));
	if (str(e, "app") != NULL && cJSON_IsNumber(inst))
		printf("%s:%.0f ", str(e, "app"), inst->valuedouble);
	else if (str(e, "app") != NULL)
		printf("%s ", str(e, "app"));
	if (num(e, "pid") > 0)
		printf("pid %.0f ", num(e, "pid"));
	printf("%s%s%s\n", str(e, "type"), *str(e, "text") != '\0' ? ": " : "",
	    str(e, "text"));
}

static void
print_events(cJSON *reply, cJSON *req, FILE *in)
{
	cJSON	*e;

	/* (With --json, pmctl printed the reply: the events kept.) */
	if (!pmctl_json) {
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(reply,
		    "events"))
			print_event(e);
	}
	fflush(stdout);
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "follow")))
		return;
	while ((e = pmctl_read_reply(in)) != NULL) {
		print_event(e);
		fflush(stdout);
		cJSON_Delete(e);
	}
	fatalx(EXIT_UNREACH, "the daemon closed the event stream");
}

static void
build_events(const struct cmd_entry *ce, cJSON *req, int argc, char **argv)
{
	char	*end;
	long	 n;
	int	 i;

	(void)ce;
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--follow") == 0 || strcmp(argv[i], "-f") == 0)
			cJSON_AddTrueToObject(req, "follow");
		else if (strcmp(argv[i], "--lines") == 0 && i + 1 < argc) {
			n = strtol(argv[++i], &end, 10);
			if (*end != '\0' || n < 0 || n > 100000)
				pmctl_usage_error("events: --lines: expected a "
				    "number from 0 to 100000");
			cJSON_AddNumberToObject(req, "lines", n);
		} else if (argv[i][0] != '-' &&
		    !cJSON_HasObjectItem(req, "name"))
			cJSON_AddStringToObject(req, "name", argv[i]);
		else
			pmctl_usage_error("events: unexpected \"%s\"", argv[i]);
	}
}
#endif /* PMCTL */

static const struct cmd_arg cmd_events_args[] = {
	{ "name", ARG_STRING, 0, 0, 0 },
	{ "lines", ARG_INT, 0, 0, 100000 },
	{ "follow", ARG_BOOL, 0, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_events_entry = {
	.name = "events",
	.alias = NULL,
	.usage = "[NAME] [--lines N] [--follow]",
	.help = "what happened: workers started, exited, restarted...; "
	    "reloads; messages",
	.args = cmd_events_args,
	.flags = 0,
	.exec = CMD_EXEC(cmd_events_exec),
	.build = CMD_PMCTL(build_events),
	.print = CMD_PMCTL(print_events),
};
