/* save: write the running set of apps to the dump file (dump.c). */
#include <cjson/cJSON.h>

#include "pmd.h"

static cJSON	*cmd_save_exec(struct client *, cJSON *);

const struct cmd_entry cmd_save_entry = {
	"save", NULL, 0, cmd_save_exec
};

static cJSON *
cmd_save_exec(struct client *c, cJSON *req)
{
	(void)req;
	return dump_save_begin(c);
}
