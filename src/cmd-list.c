/* list: one row per worker of every app. */
#include <cjson/cJSON.h>

#include "pmd.h"

cJSON *
cmd_list_exec(struct client *c, cJSON *req)
{
	(void)c; (void)req;
	return cmd_reply_list();
}
