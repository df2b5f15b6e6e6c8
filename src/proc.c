/*
 * Spawning one process, nothing more: fork with every signal blocked, and
 * in the child reset dispositions and the mask, start a new session (so the
 * worker leads its own process group), place fds, drop privileges, exec.
 * A close-on-exec pipe tells the parent, without blocking, whether exec
 * worked: EOF means it did, a struct exec_failure means it did not.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmd.h"

extern char **environ;

struct exec_failure {
	int	stage;	/* index into stages[] */
	int	error;	/* errno */
};

static const char *const stages[] = {
	"open /dev/null", "dup2", "chdir", "setgroups", "setgid", "setuid",
	"exec",
};
enum { ST_NULL, ST_DUP, ST_CHDIR, ST_GROUPS, ST_GID, ST_UID, ST_EXEC };

static void __attribute__((noreturn))
child_fail(int fd, int stage)
{
	struct exec_failure	f = { stage, errno };

	(void)!write(fd, &f, sizeof f);
	_exit(127);
}

static void __attribute__((noreturn))
child(const struct spawn *sp, int report, const sigset_t *oldmask)
{
	struct sigaction	sa;
	sigset_t		empty;
	int			sig, null;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	(void)oldmask;
	sigemptyset(&empty);
	sigprocmask(SIG_SETMASK, &empty, NULL);

	setsid();
	if ((null = open("/dev/null", O_RDONLY)) == -1)
		child_fail(report, ST_NULL);
	if (dup2(null, STDIN_FILENO) == -1 ||
	    dup2(sp->out_fd, STDOUT_FILENO) == -1 ||
	    dup2(sp->err_fd, STDERR_FILENO) == -1)
		child_fail(report, ST_DUP);
	if (sp->cwd != NULL && chdir(sp->cwd) == -1)
		child_fail(report, ST_CHDIR);
	if (sp->set_ids) {
		if (initgroups(sp->user, sp->gid) == -1)
			child_fail(report, ST_GROUPS);
		if (setgid(sp->gid) == -1)
			child_fail(report, ST_GID);
		if (setuid(sp->uid) == -1)
			child_fail(report, ST_UID);
	}
	/* execvp searches the worker's own PATH. */
	environ = (char **)sp->envp;
	execvp(sp->argv[0], sp->argv);
	child_fail(report, ST_EXEC);
}

/*
 * Start sp. On success returns the pid and sets *report to the read end of
 * the exec-report pipe (non-blocking); the caller reads it with
 * proc_exec_error() once it is readable or the child has exited.
 */
pid_t
proc_spawn(const struct spawn *sp, int *report, char **cause)
{
	sigset_t	all, old;
	int		fds[2];
	pid_t		pid;

	if (pipe2(fds, O_CLOEXEC) == -1) {
		*cause = xprintf("pipe: %s", strerror(errno));
		return -1;
	}
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		child(sp, fds[1], &old);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(fds[1]);
	if (pid == -1) {
		*cause = xprintf("fork: %s", strerror(errno));
		close(fds[0]);
		return -1;
	}
	fd_nonblock(fds[0]);
	*report = fds[0];
	return pid;
}

/*
 * What the exec-report pipe says: 0 and *cause NULL if exec worked (EOF),
 * 0 with a sentence in *cause if it failed, -1 if nothing is there yet.
 */
int
proc_exec_error(int fd, char **cause)
{
	struct exec_failure	f;
	ssize_t			n;

	*cause = NULL;
	n = read(fd, &f, sizeof f);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return -1;
	if (n == (ssize_t)sizeof f && f.stage >= 0 &&
	    (size_t)f.stage < nitems(stages))
		*cause = xprintf("%s: %s", stages[f.stage], strerror(f.error));
	return 0;
}

/*
 * CPU ticks (user + system) and resident bytes of pid from /proc/PID/stat.
 * One small read per worker: cheap enough to do when a client asks.
 */
int
proc_sample(pid_t pid, unsigned long long *ticks, uint64_t *rss)
{
	char			 path[64], buf[1024], *p;
	unsigned long long	 ut, st;
	long			 pages;
	ssize_t			 n;
	int			 fd, field;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip past it. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	p += 2;
	/* Fields from 3 (state): utime is 14, stime 15, rss 24. */
	for (field = 3; field < 14 && p != NULL; field++)
		p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
	if (p == NULL || sscanf(p, "%llu %llu", &ut, &st) != 2)
		return -1;
	for (; field < 24 && p != NULL; field++)
		p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
	if (p == NULL || sscanf(p, "%ld", &pages) != 1)
		return -1;
	*ticks = ut + st;
	*rss = (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE);
	return 0;
}
