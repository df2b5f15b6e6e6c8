/*
 * id TARGET: the ids of the target's workers, one a line, as PM2's
 * pm2 id gives them.
 */
#include <stdio.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifndef PMCTL
static cJSON *
cmd_id_exec(struct client *c, cJSON *req)
{
	(void)c;
	return cmd_worker_numbers(req, "ids");
}
#endif /* !PMCTL */

#ifdef PMCTL
static void
print_id(cJSON *reply, cJSON *req, FILE *in)
{
	(void)req; (void)in;
	pmctl_print_numbers(reply, "ids");
}
#endif /* PMCTL */

static const struct cmd_arg cmd_id_args[] = {
	{ "target", ARG_STRING, 1, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_id_entry = {
	.name = "id",
	.alias = NULL,
	.usage = "TARGET",
	.help = "the ids of an app's workers, one a line (PM2's pm2 id)",
	.args = cmd_id_args,
	.flags = CMD_NO_AUTOSTART,
	.exec = CMD_EXEC(cmd_id_exec),
	.build = CMD_PMCTL(NULL),
	.print = CMD_PMCTL(print_id),
};
