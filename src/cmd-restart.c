/* restart TARGET: stop then start each worker (downtime allowed). */
#include <cjson/cJSON.h>

#include "pmd.h"

cJSON *
cmd_restart_exec(struct client *c, cJSON *req)
{
	return cmd_apply_target(c, req, E_RESTART, 0);
}
