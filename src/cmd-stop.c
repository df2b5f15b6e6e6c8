/* stop TARGET: kill_signal to each worker's group; answer once they exited. */
#include <cjson/cJSON.h>

#include "pmd.h"

cJSON *
cmd_stop_exec(struct client *c, cJSON *req)
{
	return cmd_apply_target(c, req, E_STOP, 1);
}
