/* kill: stop every worker, answer, and exit. */
#include <cjson/cJSON.h>

#include "pmd.h"

cJSON *
cmd_kill_exec(struct client *c, cJSON *req)
{
	struct target	t = { NULL, -1 };

	(void)req;
	client_wait(c, NULL, &t, 1);	/* answered just before pmd exits */
	daemon_shutdown();
	return NULL;
}
