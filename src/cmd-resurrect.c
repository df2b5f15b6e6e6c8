/* resurrect: start the apps of the dump file that are not running. */
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"

static cJSON	*cmd_resurrect_exec(struct client *, cJSON *);

const struct cmd_entry cmd_resurrect_entry = {
	"resurrect", NULL, 0, cmd_resurrect_exec
};

static cJSON *
cmd_resurrect_exec(struct client *c, cJSON *req)
{
	cJSON	*reply;
	char	*cause;

	(void)c; (void)req;
	if (dump_resurrect(NULL, &reply, &cause) == -1) {
		reply = reply_error(PMD_E_FAILED, "%s", cause);
		free(cause);
	}
	return reply;
}
