/* kill: stop every worker, answer, and exit. */
#include <cjson/cJSON.h>

#include "pmd.h"

static cJSON	*cmd_kill_exec(struct client *, cJSON *);

const struct cmd_entry cmd_kill_entry = {
	"kill", NULL, CMD_WHILE_STOPPING, cmd_kill_exec
};

static cJSON *
cmd_kill_exec(struct client *c, cJSON *req)
{
	struct target	t = { .instance = -1 };

	(void)req;
	client_wait(c, NULL, &t, 1);	/* answered just before pmd exits */
	daemon_shutdown();
	return NULL;
}
