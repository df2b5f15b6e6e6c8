/* signal SIG TARGET: send a signal to the process groups of workers. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifndef PMCTL
static cJSON *
cmd_signal_exec(struct client *c, cJSON *req)
{
	struct target	 t;
	struct app	*a;
	const char	*s = json_string(req, "signal");
	cJSON		*reply;
	char		*cause;
	unsigned	 i, sent = 0;
	int		 sig;

	(void)c;
	if (s == NULL)
		return reply_error(PMD_E_ARGS, "field \"signal\": expected a "
		    "signal name or number");
	if (parse_signal(s, &sig, &cause) == -1) {
		reply = reply_error(PMD_E_ARGS, "signal: %s", cause);
		free(cause);
		return reply;
	}
	if (cmd_get_target(req, &t, &reply) == -1)
		return reply;
	TAILQ_FOREACH(a, &apps, entry) {
		if (!target_has(&t, a))
			continue;
		for (i = 0; i < a->nworkers; i++) {
			if (t.instance >= 0 && (unsigned)t.instance != i)
				continue;
			if (a->workers[i]->pid > 0) {
				worker_signal(a->workers[i], sig);
				sent++;
			}
		}
	}
	target_clear(&t);
	if (sent == 0)
		return reply_error(PMD_E_FAILED, "no running worker to signal");
	reply = reply_ok();
	cJSON_AddNumberToObject(reply, "signalled", sent);
	return reply;
}
#endif /* !PMCTL */

#ifdef PMCTL
static void
print_signal(cJSON *reply, cJSON *req, FILE *in)
{
	(void)req; (void)in;
	printf("signalled %.0f worker(s)\n", num(reply, "signalled"));
}
#endif /* PMCTL */

static const struct cmd_arg cmd_signal_args[] = {
	{ "signal", ARG_STRING, 1, 0, 0 },
	{ "target", ARG_STRING, 1, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_signal_entry = {
	.name = "signal",
	.alias = "sendSignal",
	.usage = "SIGNAL NAME|all|NAME:INSTANCE",
	.help = "send a signal to workers' process groups",
	.args = cmd_signal_args,
	.flags = 0,
	.exec = CMD_EXEC(cmd_signal_exec),
	.build = CMD_PMCTL(NULL),
	.print = CMD_PMCTL(print_signal),
};
