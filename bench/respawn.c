/*
 * The floor of a restart, for make bench: the least a supervisor can do.
 * It runs PROGRAM with posix_spawn (glibc's clone with CLONE_VFORK), waits
 * for it in a blocking waitpid and runs it again at once, forever; no
 * event loop, no logs, no bookkeeping.
 */
#include <sys/wait.h>

#include <spawn.h>
#include <stdio.h>

extern char	**environ;

int
main(int argc, char **argv)
{
	pid_t	pid;
	int	status;

	if (argc < 2) {
		fprintf(stderr, "usage: respawn PROGRAM [ARG...]\n");
		return 2;
	}
	for (;;) {
		if (posix_spawn(&pid, argv[1], NULL, NULL, argv + 1,
		    environ) != 0)
			return 1;
		if (waitpid(pid, &status, 0) == -1)
			return 1;
	}
}
