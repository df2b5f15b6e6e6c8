/* reset TARGET: zero the restart counters; errored workers start again. */
#include <cjson/cJSON.h>

#include "pmd.h"

static cJSON	*cmd_reset_exec(struct client *, cJSON *);

static const struct cmd_arg cmd_reset_args[] = {
	{ "target", ARG_STRING, 1, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_reset_entry = {
	"reset", cmd_reset_args, 0, cmd_reset_exec
};

static cJSON *
cmd_reset_exec(struct client *c, cJSON *req)
{
	return cmd_apply_target(c, req, E_RESET, 0);
}
