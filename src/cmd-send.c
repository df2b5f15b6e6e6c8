/*
 * send TARGET JSON: a message to workers over their message channels
 * (ipc.c), as one line; says to how many it went.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifndef PMCTL
static cJSON *
cmd_send_exec(struct client *c, cJSON *req)
{
	cJSON		*msg = cJSON_GetObjectItemCaseSensitive(req, "message");
	cJSON		*reply;
	struct target	 t;
	struct app	*a;
	struct worker	*w;
	char		*line;
	unsigned	 i, sent = 0, dropped = 0;

	(void)c;
	if (msg == NULL)
		return reply_error(PMD_E_ARGS, "field \"message\": expected a "
		    "JSON value");
	if (cmd_get_target(req, &t, &reply) == -1)
		return reply;
	line = cJSON_PrintUnformatted(msg);
	TAILQ_FOREACH(a, &apps, entry) {
		if (!target_has(&t, a))
			continue;
		for (i = 0; i < a->nworkers; i++) {
			w = a->workers[i];
			if ((t.instance >= 0 && (unsigned)t.instance != i) ||
			    w->pid <= 0)
				continue;
			if (ipc_send(w, line) == 0)
				sent++;
			else
				dropped++;
		}
	}
	free(line);
	target_clear(&t);
	if (sent == 0 && dropped == 0)
		return reply_error(PMD_E_FAILED, "no running worker to send to");
	if (sent == 0)
		return reply_error(PMD_E_FAILED, "no worker took it: %u have no "
		    "message channel (ipc = false, or it closed) or a full "
		    "queue", dropped);
	reply = reply_ok();
	cJSON_AddNumberToObject(reply, "delivered", sent);
	cJSON_AddNumberToObject(reply, "dropped", dropped);
	return reply;
}
#endif /* !PMCTL */

#ifdef PMCTL
static void
build_send(const struct cmd_entry *ce, cJSON *req, int argc, char **argv)
{
	cJSON	*msg;

	(void)ce;
	if (argc != 2)
		pmctl_usage_error("send: expected NAME|all|NAME:INSTANCE and a "
		    "JSON message");
	if ((msg = cJSON_Parse(argv[1])) == NULL)
		pmctl_usage_error("send: the message is not JSON: %s", argv[1]);
	cJSON_AddStringToObject(req, "target", argv[0]);
	cJSON_AddItemToObject(req, "message", msg);
}

static void
print_send(cJSON *reply, cJSON *req, FILE *in)
{
	(void)req; (void)in;
	printf("sent to %.0f worker(s)", num(reply, "delivered"));
	if (num(reply, "dropped") > 0)
		printf("; %.0f could not take it", num(reply, "dropped"));
	putchar('\n');
}
#endif /* PMCTL */

static const struct cmd_arg cmd_send_args[] = {
	{ "target", ARG_STRING, 1, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_send_entry = {
	.name = "send",
	.alias = NULL,
	.usage = "NAME|all|NAME:INSTANCE JSON",
	.help = "send a JSON message to workers (their PMD_IPC_FD)",
	.args = cmd_send_args,
	.flags = 0,
	.exec = CMD_EXEC(cmd_send_exec),
	.build = CMD_PMCTL(build_send),
	.print = CMD_PMCTL(print_send),
};
