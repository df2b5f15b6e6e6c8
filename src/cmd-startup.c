/*
 * startup: make pmd start at boot, as `pm2 startup` does. As root, with
 * pmd.service installed (make install) and systemd running, it runs
 * `systemctl enable --now pmd`; otherwise it says what to run and exits 1
 * where nothing can be done. pmctl's own: no daemon takes part.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifdef PMCTL
/* Where make install (or a package) put pmd.service, or NULL. */
static const char *
startup_unit(void)
{
	static const char *const paths[] = {
		PMD_UNITDIR "/pmd.service", "/etc/systemd/system/pmd.service",
		"/lib/systemd/system/pmd.service",
		"/usr/lib/systemd/system/pmd.service",
	};
	size_t	i;

	for (i = 0; i < nitems(paths); i++) {
		if (access(paths[i], R_OK) == 0)
			return paths[i];
	}
	return NULL;
}

static int
startup_main(int fd, FILE *in, int argc, char **argv)
{
	const char	*unit = startup_unit();
	struct stat	 st;
	pid_t		 pid;
	int		 status;

	(void)fd; (void)in; (void)argv;
	if (argc > 0)
		pmctl_usage_error("startup takes no arguments");
	if (stat("/run/systemd/system", &st) == -1) {
		printf("pmctl: this system does not run systemd: start "
		    "\"pmd -d\" from its init system at boot (or, in a "
		    "container, make \"pmd --container -c FILE\" its "
		    "command)\n");
		return EXIT_DAEMON;
	}
	if (unit == NULL) {
		printf("pmctl: pmd.service is not installed: run \"sudo make "
		    "install\" in pmd's source tree, then \"sudo pmctl "
		    "startup\"\n");
		return EXIT_DAEMON;
	}
	if (geteuid() != 0) {
		printf("To start pmd at boot (%s), run as root:\n"
		    "    sudo systemctl enable --now pmd\n", unit);
		return 0;
	}
	printf("pmctl: systemctl enable --now pmd\n");
	fflush(stdout);
	if ((pid = fork()) == -1)
		fatalx(EXIT_DAEMON, "fork: %s", strerror(errno));
	if (pid == 0) {
		execlp("systemctl", "systemctl", "enable", "--now", "pmd",
		    (char *)NULL);
		fprintf(stderr, "pmctl: systemctl: %s\n", strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return EXIT_DAEMON;
	printf("pmctl: pmd starts at boot (%s)\n", unit);
	return 0;
}
#endif

const struct cmd_entry cmd_startup_entry = {
	.name = "startup",
	.alias = NULL,
	.usage = "",
	.help = "start pmd at boot (systemctl enable --now pmd)",
	.args = NULL,
	.flags = CMD_CLIENT | CMD_LOCAL,
	.exec = NULL,
	.build = NULL,
	.print = NULL,
	.run = CMD_PMCTL(startup_main),
};
