/*
 * pmctl -H [USER@]HOST: the same command by the pmctl of another host,
 * over ssh, as systemctl -H does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmctl.h"

/* A word for a POSIX shell: quoted unless it is plain. */
static char *
sh_quote(const char *w)
{
	size_t	 n = strlen(w);
	char	*q, *o;

	if (n > 0 && strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
	    "TUVWXYZ0123456789@%+=:,./_-") == n)
		return xstrdup(w);
	q = o = xmalloc(n * 4 + 3);
	*o++ = '\'';
	for (; *w != '\0'; w++) {
		if (*w == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else
			*o++ = *w;
	}
	*o++ = '\'';
	*o = '\0';
	return q;
}

/*
 * -H [USER@]HOST: the same command by the pmctl of that host, over ssh
 * ($PMCTL_SSH, or ssh), as systemctl -H does; its output and exit status
 * are pmctl's. Never returns.
 */
void
pmctl_remote(int argc, char **argv, int at)
{
	const char	*host = argv[at + 1];
	const char	*ssh = getenv("PMCTL_SSH");
	char		*cmd = xstrdup("pmctl"), *w, *t, **av, *cause;
	int		 i;
	size_t		 n;

	if (host[0] == '-' || host[0] == '\0')
		pmctl_usage_error("-H: expected [USER@]HOST, got \"%s\"", host);
	for (i = 1; i < argc; i++) {
		if (i == at || i == at + 1)
			continue;	/* -H HOST itself */
		w = sh_quote(argv[i]);
		t = xprintf("%s %s", cmd, w);
		free(w);
		free(cmd);
		cmd = t;
	}
	if (split_command(ssh != NULL && *ssh != '\0' ? ssh : "ssh", &av,
	    &cause) == -1)
		pmctl_usage_error("PMCTL_SSH: %s", cause);
	n = argv_count(av);
	av = xrealloc(av, (n + 5) * sizeof *av);
	av[n++] = xstrdup("-T");
	av[n++] = xstrdup(host);
	av[n++] = xstrdup("--");
	av[n++] = cmd;
	av[n] = NULL;
	execvp(av[0], av);
	fatalx(EXIT_UNREACH, "-H %s: cannot run %s: %s", host, av[0],
	    strerror(errno));
}

