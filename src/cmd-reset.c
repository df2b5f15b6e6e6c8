/* reset TARGET: zero the restart counters; errored workers start again. */
#include <cjson/cJSON.h>

#include "pmd.h"

cJSON *
cmd_reset_exec(struct client *c, cJSON *req)
{
	return cmd_apply_target(c, req, E_RESET, 0);
}
