/* save: write the running set of apps to the dump file (dump.c). */
#include <stdint.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifndef PMCTL
static int
wait_saved(struct client *c, void *arg, cJSON **reply)
{
	size_t	 napps;
	char	*error;

	(void)c;
	if (!dump_save_done((unsigned)(uintptr_t)arg, &napps, &error))
		return 0;
	if (error != NULL) {
		*reply = reply_error(PMD_E_FAILED, "%s", error);
		free(error);
		return 1;
	}
	*reply = reply_ok();
	cJSON_AddStringToObject(*reply, "file", dump_path);
	cJSON_AddNumberToObject(*reply, "apps", (double)napps);
	return 1;
}

static cJSON *
cmd_save_exec(struct client *c, cJSON *req)
{
	cJSON		*reply;
	char		*cause;
	unsigned	 gen;

	(void)req;
	if ((gen = dump_save_begin(&cause)) == 0) {
		reply = reply_error(PMD_E_FAILED, "%s", cause);
		free(cause);
		return reply;
	}
	/* The dump is written by a child; the answer comes when it exits. */
	client_wait(c, wait_saved, (void *)(uintptr_t)gen, NULL);
	return NULL;
}
#endif /* !PMCTL */

#ifdef PMCTL
static void
print_save(cJSON *reply, cJSON *req, FILE *in)
{
	(void)req; (void)in;
	printf("saved %.0f app(s) to %s\n", num(reply, "apps"),
	    str(reply, "file"));
}
#endif /* PMCTL */

const struct cmd_entry cmd_save_entry = {
	.name = "save",
	.alias = "dump",
	.usage = "",
	.help = "write the running set of apps to the dump file",
	.args = NULL,
	.flags = 0,
	.exec = CMD_EXEC(cmd_save_exec),
	.build = CMD_PMCTL(NULL),
	.print = CMD_PMCTL(print_save),
};
