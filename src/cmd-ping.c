/*
 * ping: the daemon answers, with its pid, version and fd budget (what
 * the worker slots take of it, what pmd keeps for itself, the limit).
 */
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifndef PMCTL
static cJSON *
cmd_ping_exec(struct client *c, cJSON *req)
{
	cJSON		*o = reply_ok(), *f;
	struct budget	 b;

	(void)c; (void)req;
	cJSON_AddNumberToObject(o, "pid", getpid());
	cJSON_AddStringToObject(o, "version", PMD_VERSION);
	budget_get(&b);
	f = cJSON_AddObjectToObject(o, "fds");
	cJSON_AddNumberToObject(f, "limit", b.limit);
	cJSON_AddNumberToObject(f, "open", b.open);
	cJSON_AddNumberToObject(f, "workers", b.used);
	cJSON_AddNumberToObject(f, "kept", b.kept);
	cJSON_AddNumberToObject(f, "max_clients", b.clients);
	return o;
}
#endif /* !PMCTL */

#ifdef PMCTL
static void
print_ping(cJSON *reply, cJSON *req, FILE *in)
{
	cJSON	*f = cJSON_GetObjectItemCaseSensitive(reply, "fds");

	(void)req; (void)in;
	printf("pong: pmd %s, pid %.0f\n", str(reply, "version"),
	    num(reply, "pid"));
	if (cJSON_IsObject(f))
		printf("fds: %.0f open; budget %.0f for workers + %.0f kept "
		    "for pmd (%.0f clients) of a limit of %.0f\n", num(f, "open"),
		    num(f, "workers"), num(f, "kept"), num(f, "max_clients"),
		    num(f, "limit"));
}
#endif /* PMCTL */

const struct cmd_entry cmd_ping_entry = {
	.name = "ping",
	.alias = NULL,
	.usage = "",
	.help = "check that the daemon answers",
	.args = NULL,
	.flags = CMD_WHILE_STOPPING | CMD_NO_AUTOSTART,
	.exec = CMD_EXEC(cmd_ping_exec),
	.build = CMD_PMCTL(NULL),
	.print = CMD_PMCTL(print_ping),
};
