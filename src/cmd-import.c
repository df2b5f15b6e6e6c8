/*
 * import FILE [--env PROFILE]: a PM2 ecosystem file's apps as pmd INI on
 * stdout (pmctl-eco.c, pmctl-import.c), with what has no pmd equivalent
 * named on stderr.
 * pmctl's own: no daemon takes part.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifdef PMCTL
static int
import_main(int fd, FILE *in, int argc, char **argv)
{
	const char	*file = NULL, *profile = NULL;
	cJSON		*apps;
	char		*cause;
	int		 i;

	(void)fd; (void)in;
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--env") == 0 && i + 1 < argc)
			profile = argv[++i];
		else if (argv[i][0] == '-' || file != NULL)
			pmctl_usage_error("import: expected FILE [--env PROFILE], "
			    "got \"%s\"", argv[i]);
		else
			file = argv[i];
	}
	if (file == NULL)
		pmctl_usage_error("import: expected an ecosystem file "
		    "(ecosystem.config.js, .cjs or .json)");
	apps = eco_load(file, profile);
	if ((cause = eco_ini_check(file, apps)) != NULL) {
		fprintf(stderr, "pmctl: import: %s\n", cause);
		free(cause);
		cJSON_Delete(apps);
		return EXIT_DAEMON;
	}
	eco_print(stdout, file, apps);
	cJSON_Delete(apps);
	return fflush(stdout) == 0 ? 0 : EXIT_DAEMON;
}
#endif

const struct cmd_entry cmd_import_entry = {
	.name = "import",
	.alias = NULL,
	.usage = "FILE [--env PROFILE]",
	.help = "print a PM2 ecosystem file's apps as pmd INI",
	.args = NULL,
	.flags = CMD_CLIENT | CMD_LOCAL,
	.exec = NULL,
	.build = NULL,
	.print = NULL,
	.run = CMD_PMCTL(import_main),
};
