/* restart TARGET: stop then start each worker (downtime allowed). */
#include <cjson/cJSON.h>

#include "pmd.h"

static cJSON	*cmd_restart_exec(struct client *, cJSON *);

static const struct cmd_arg cmd_restart_args[] = {
	{ "target", ARG_STRING, 1, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_restart_entry = {
	"restart", cmd_restart_args, 0, cmd_restart_exec
};

static cJSON *
cmd_restart_exec(struct client *c, cJSON *req)
{
	return cmd_apply_target(c, req, E_RESTART, 0);
}
