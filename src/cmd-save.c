/* save: write the running set of apps to the dump file (dump.c). */
#include "pmd.h"

struct cJSON *
cmd_save_exec(struct client *c, struct cJSON *req)
{
	(void)req;
	return dump_save_begin(c);
}
