/*
 * The one table of commands, for both programs: pmd dispatches requests
 * from it, pmctl parses its command line and prints its help from it.
 */
#include <stddef.h>
#include <string.h>

#include "pmd-protocol.h"

#define DECLARE(id) extern const struct cmd_entry cmd_##id##_entry;
PMD_COMMANDS(DECLARE)

#define ENTRY(id) &cmd_##id##_entry,
const struct cmd_entry *const cmd_table[] = {
	PMD_COMMANDS(ENTRY)
	NULL
};

/*
 * The command called name; with client, also by its alias and including
 * pmctl's own commands, which pmd does not know.
 */
const struct cmd_entry *
cmd_find(const char *name, int client)
{
	const struct cmd_entry	*const *ce;
	const char		*w;
	size_t			 len = strlen(name);

	for (ce = cmd_table; *ce != NULL; ce++) {
		if (!client && ((*ce)->flags & CMD_CLIENT))
			continue;
		if (strcmp((*ce)->name, name) == 0)
			return *ce;
		for (w = (*ce)->alias; client && w != NULL && *w != '\0';
		    w += strcspn(w, " "), w += strspn(w, " ")) {
			if (strncmp(w, name, len) == 0 &&
			    (w[len] == ' ' || w[len] == '\0'))
				return *ce;
		}
	}
	return NULL;
}
