/* save: write the running set of apps to the dump file (dump.c). */
#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifndef PMCTL
static cJSON *
cmd_save_exec(struct client *c, cJSON *req)
{
	(void)req;
	return dump_save_begin(c);
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
