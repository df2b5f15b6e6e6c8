/*
 * Targets of commands: "NAME", "NAME:INSTANCE", "all", a worker's id, or
 * the apps of a file; and whether an app is one of them.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "pmd.h"

/* "NAME", "NAME:INSTANCE", "all" or ID. */
int
target_parse(const char *s, struct target *t, char **cause)
{
	const char	*colon = strrchr(s, ':');
	struct worker	*w;
	unsigned long	 n;
	char		*why = NULL;

	t->name = NULL;
	t->names = NULL;
	t->instance = -1;
	if (strcmp(s, "all") == 0)
		return 0;
	/* A worker's id (app names are never all digits). */
	if (*s >= '0' && *s <= '9' && strspn(s, "0123456789") == strlen(s)) {
		if (parse_uint(s, UINT_MAX, &n, &why) == -1 ||
		    (w = worker_by_id((unsigned)n)) == NULL) {
			if (why != NULL)
				free(why);
			*cause = xprintf("no worker with id %s (pmctl list shows "
			    "the ids)", s);
			return -1;
		}
		t->name = xstrdup(w->app->name);
		t->instance = (int)w->instance;
		return 0;
	}
	if (colon != NULL) {
		if (parse_uint(colon + 1, 4095, &n, &why) == -1) {
			*cause = xprintf("\"%s\": the instance after ':' must be "
			    "a number", s);
			free(why);
			return -1;
		}
		t->instance = (int)n;
		t->name = xstrndup(s, colon - s);
	} else
		t->name = xstrdup(s);
	if (!app_name_valid(t->name)) {
		*cause = xprintf("\"%s\" is not a valid app name", t->name);
		target_clear(t);
		return -1;
	}
	return 0;
}

void
target_clear(struct target *t)
{
	free(t->name);
	t->name = NULL;
	argv_free(t->names);
	t->names = NULL;
}

/* A copy of t on the heap, which takes what t held (t is left empty). */
struct target *
target_keep(struct target *t)
{
	struct target	*k = xmalloc(sizeof *k);

	*k = *t;
	t->name = NULL;
	t->names = NULL;
	return k;
}

/* Free a target_keep() copy (a client_wait argument). */
void
target_free(void *arg)
{
	struct target	*t = arg;

	target_clear(t);
	free(t);
}

/* Whether t names a (every app, for "all"). */
int
target_has(const struct target *t, const struct app *a)
{
	if (t->names != NULL)
		return strv_has(t->names, a->name);
	return t->name == NULL || strcmp(t->name, a->name) == 0;
}

/*
 * The app a command that takes an app's name means by s: the app of the
 * worker whose id s is, or s itself.
 */
const char *
target_app_name(const char *s)
{
	struct worker	*w;
	unsigned long	 n;
	char		*why;

	if (s == NULL || *s < '0' || *s > '9' ||
	    strspn(s, "0123456789") != strlen(s))
		return s;
	if (parse_uint(s, UINT_MAX, &n, &why) == -1) {
		free(why);
		return s;
	}
	return (w = worker_by_id((unsigned)n)) != NULL ? w->app->name : s;
}
