/* scale NAME N: run N instances; answer once the change is done. */
#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"

cJSON *
cmd_scale_exec(struct client *c, cJSON *req)
{
	cJSON		*n = cJSON_GetObjectItemCaseSensitive(req, "instances");
	const char	*name = json_string(req, "name");
	struct target	 t = { NULL, -1 };
	struct app	*a;

	if (name == NULL)
		return reply_error(PMD_E_ARGS, "field \"name\": expected an "
		    "app name");
	if (!cJSON_IsNumber(n) || n->valuedouble < 1 ||
	    n->valuedouble > 4096 || n->valuedouble != (int)n->valuedouble)
		return reply_error(PMD_E_ARGS, "field \"instances\": expected "
		    "a number from 1 to 4096");
	if ((a = app_find(name)) == NULL || a->deleting)
		return reply_error(PMD_E_NOAPP, "no app named \"%s\"", name);
	app_scale(a, (unsigned)n->valuedouble);
	t.name = xstrdup(name);
	return cmd_wait(c, &t, 0);
}
