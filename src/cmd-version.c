/* version: the daemon's version and protocol version. */
#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"

static cJSON	*cmd_version_exec(struct client *, cJSON *);

const struct cmd_entry cmd_version_entry = {
	"version", NULL, CMD_WHILE_STOPPING, cmd_version_exec
};

static cJSON *
cmd_version_exec(struct client *c, cJSON *req)
{
	cJSON	*o = reply_ok();

	(void)c; (void)req;
	cJSON_AddStringToObject(o, "version", PMD_VERSION);
	cJSON_AddNumberToObject(o, "protocol", PMD_PROTOCOL_VERSION);
	return o;
}
