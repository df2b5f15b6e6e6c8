/*
 * Targets of commands: "NAME", "NAME:INSTANCE", "all", or the apps of a
 * file; and whether an app is one of them.
 */
#include <stdlib.h>
#include <string.h>

#include "pmd.h"

/* "NAME", "NAME:INSTANCE" or "all". */
int
target_parse(const char *s, struct target *t, char **cause)
{
	const char	*colon = strrchr(s, ':');
	unsigned long	 n;
	char		*why;

	t->name = NULL;
	t->names = NULL;
	t->instance = -1;
	if (strcmp(s, "all") == 0)
		return 0;
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

/* Whether t names a (every app, for "all"). */
int
target_has(const struct target *t, const struct app *a)
{
	if (t->names != NULL)
		return strv_has(t->names, a->name);
	return t->name == NULL || strcmp(t->name, a->name) == 0;
}
