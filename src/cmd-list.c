/* list: one row per worker of every app. */
#include <cjson/cJSON.h>

#include "pmd.h"

static cJSON	*cmd_list_exec(struct client *, cJSON *);

const struct cmd_entry cmd_list_entry = {
	"list", NULL, CMD_WHILE_STOPPING, cmd_list_exec
};

static cJSON *
cmd_list_exec(struct client *c, cJSON *req)
{
	(void)c; (void)req;
	return cmd_reply_list();
}
