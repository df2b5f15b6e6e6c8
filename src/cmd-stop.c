/* stop TARGET: kill_signal to each worker's group; answer once they exited. */
#include <cjson/cJSON.h>

#include "pmd.h"

static cJSON	*cmd_stop_exec(struct client *, cJSON *);

static const struct cmd_arg cmd_stop_args[] = {
	{ "target", ARG_STRING, 1, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_stop_entry = {
	"stop", cmd_stop_args, 0, cmd_stop_exec
};

static cJSON *
cmd_stop_exec(struct client *c, cJSON *req)
{
	return cmd_apply_target(c, req, E_STOP, 1);
}
