/* monit [--interval DURATION]: pmctl's live view (pmctl-monit.c); pmd has no part. */
#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

const struct cmd_entry cmd_monit_entry = {
	.name = "monit",
	.alias = NULL,
	.usage = "[--interval DURATION]",
	.help = "a live view: CPU and memory of each worker, an app's logs",
	.args = NULL,
	.flags = CMD_CLIENT,
	.exec = NULL,
	.build = NULL,
	.print = NULL,
	.run = CMD_PMCTL(monit_main),
};
