/*
 * list [--sort FIELD[:asc|desc]]: one row per worker of every app, in app
 * and instance order, or sorted by pmctl.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifndef PMCTL
static cJSON *
cmd_list_exec(struct client *c, cJSON *req)
{
	(void)req;
	return cmd_reply_list(c);
}
#endif /* !PMCTL */

#ifdef PMCTL
/* --sort's fields: the word, and the row's field. */
static const struct {
	const char	*word;
	const char	*field;
} sorts[] = {
	{ "name", "name" }, { "id", "id" }, { "pid", "pid" },
	{ "cpu", "cpu" }, { "mem", "memory" }, { "memory", "memory" },
	{ "restarts", "restarts" }, { "uptime", "uptime_ms" },
	{ "status", "status" },
};
static const char	*sort_field;
static int		 sort_desc;

static void
build_list(const struct cmd_entry *ce, cJSON *req, int argc, char **argv)
{
	const char	*colon, *words[nitems(sorts)], *close;
	char		*word;
	size_t		 i;

	(void)req;
	if (argc == 0)
		return;
	if (argc != 2 || strcmp(argv[0], "--sort") != 0)
		pmctl_usage_error("usage: pmctl list %s", ce->usage);
	colon = strchr(argv[1], ':');
	word = colon ? xstrndup(argv[1], colon - argv[1]) : xstrdup(argv[1]);
	if (colon != NULL && strcmp(colon + 1, "asc") != 0 &&
	    strcmp(colon + 1, "desc") != 0)
		pmctl_usage_error("list: --sort %s: expected asc or desc after "
		    "':'", argv[1]);
	sort_desc = colon != NULL && strcmp(colon + 1, "desc") == 0;
	for (i = 0; i < nitems(sorts); i++) {
		words[i] = sorts[i].word;
		if (strcmp(word, sorts[i].word) == 0)
			sort_field = sorts[i].field;
	}
	if (sort_field == NULL) {
		close = suggest(word, words, nitems(sorts));
		pmctl_usage_error("list: --sort: no field \"%s\"%s%s%s (name, "
		    "id, pid, cpu, mem, restarts, uptime, status)", word,
		    close ? " (did you mean \"" : "", close ? close : "",
		    close ? "\"?)" : "");
	}
	free(word);
}

static int
row_cmp(const void *a, const void *b)
{
	const cJSON	*x = cJSON_GetObjectItemCaseSensitive(*(cJSON *const *)a,
			    sort_field);
	const cJSON	*y = cJSON_GetObjectItemCaseSensitive(*(cJSON *const *)b,
			    sort_field);
	int		 d;

	if (cJSON_IsString(x) && cJSON_IsString(y))
		d = strcmp(x->valuestring, y->valuestring);
	else
		d = (cJSON_IsNumber(x) ? x->valuedouble : 0) <
		    (cJSON_IsNumber(y) ? y->valuedouble : 0) ? -1 :
		    (cJSON_IsNumber(x) ? x->valuedouble : 0) >
		    (cJSON_IsNumber(y) ? y->valuedouble : 0);
	return sort_desc ? -d : d;
}

static int
row_cmp_stable(const void *a, const void *b)
{
	int	d = row_cmp(a, b);

	if (d != 0)
		return d;
	return cJSON_GetObjectItemCaseSensitive(*(cJSON *const *)a,
	    "_order")->valuedouble < cJSON_GetObjectItemCaseSensitive(
	    *(cJSON *const *)b, "_order")->valuedouble ? -1 : 1;
}

/* The rows in --sort's order, if it was given (a stable sort). */
void
pmctl_sort_rows(cJSON *rows)
{
	cJSON	**v;
	size_t	  n = 0, i;

	if (sort_field == NULL || (n = cJSON_GetArraySize(rows)) < 2)
		return;
	v = xcalloc(n, sizeof *v);
	for (i = 0; i < n; i++)
		v[i] = cJSON_DetachItemFromArray(rows, 0);
	/* qsort is not stable: equal rows keep their order by index. */
	for (i = 0; i < n; i++)
		cJSON_AddNumberToObject(v[i], "_order", (double)i);
	qsort(v, n, sizeof *v, row_cmp_stable);
	for (i = 0; i < n; i++) {
		cJSON_DeleteItemFromObject(v[i], "_order");
		cJSON_AddItemToArray(rows, v[i]);
	}
	free(v);
}
#endif /* PMCTL */

const struct cmd_entry cmd_list_entry = {
	.name = "list",
	.alias = "ls l ps status",
	.usage = "[--sort name|id|pid|cpu|mem|restarts|uptime|status[:asc|desc]]",
	.help = "one line per worker: pid, status, restarts, uptime, cpu, memory",
	.args = NULL,
	.flags = CMD_WHILE_STOPPING,
	.exec = CMD_EXEC(cmd_list_exec),
	.build = CMD_PMCTL(build_list),
	.print = CMD_PMCTL(NULL),
};
