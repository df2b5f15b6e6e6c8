/* ping: the daemon answers, with its pid and version. */
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"

static cJSON	*cmd_ping_exec(struct client *, cJSON *);

const struct cmd_entry cmd_ping_entry = {
	"ping", NULL, CMD_WHILE_STOPPING, cmd_ping_exec
};

static cJSON *
cmd_ping_exec(struct client *c, cJSON *req)
{
	cJSON	*o = reply_ok();

	(void)c; (void)req;
	cJSON_AddNumberToObject(o, "pid", getpid());
	cJSON_AddStringToObject(o, "version", PMD_VERSION);
	return o;
}
