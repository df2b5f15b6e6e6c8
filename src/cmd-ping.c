/* ping: the daemon answers, with its pid and version. */
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"

cJSON *
cmd_ping_exec(struct client *c, cJSON *req)
{
	cJSON	*o = reply_ok();

	(void)c; (void)req;
	cJSON_AddNumberToObject(o, "pid", getpid());
	cJSON_AddStringToObject(o, "version", PMD_VERSION);
	return o;
}
