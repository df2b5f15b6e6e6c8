/*
 * Spawning one process, nothing more. The child is made with
 * clone(CLONE_VM | CLONE_VFORK), as posix_spawn does: it shares pmd's memory
 * and pmd waits only until it has called execve, so there is no page table
 * to copy and an exec failure is known when proc_spawn returns, written by
 * the child into the parent's memory. Everything the child does is a plain
 * system call on its own stack: no malloc, no stdio, no NSS (the user's
 * groups are looked up before the clone). With every signal blocked across
 * the clone, the child resets dispositions and the mask, starts a new
 * session (so it leads its own process group), places fds, drops
 * privileges and execs.
 *
 * The fd table is shared too (CLONE_FILES), and the child's first step is
 * close_range(low, ~0, CLOSE_RANGE_UNSHARE): a table of its own that holds
 * only the fds below low. Copying pmd's table instead, and closing it all
 * in the child, costs a few ms with 10,000 workers, on every spawn. So
 * that low stays small, pmd keeps its long-lived fds (log pipes, message
 * channels, notify and listening sockets) at fd_floor and above
 * (fd_high), and a listening socket up there is copied below it for
 * the time of the spawn. Where pmd runs without pidfds (child.c), the
 * clone is a plain vfork, with a copy of the table, closed the same way.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmd.h"

#define CHILD_STACK	(64 * 1024)
#define DEFAULT_PATH	"/usr/local/bin:/usr/bin:/bin"
#define MAX_GROUPS	256
#define MAX_PASS	64	/* sockets one spawn hands on */

static const char *const stages[] = {
	"open /dev/null", "dup2", "chdir", "setgroups", "setgid", "setuid",
	"exec", "unshare fds", "setrlimit", "nice: setpriority",
	"oom_score_adj: /proc/self/oom_score_adj",
	"cpu_affinity: sched_setaffinity",
};
enum { ST_NULL, ST_DUP, ST_CHDIR, ST_GROUPS, ST_GID, ST_UID, ST_EXEC,
    ST_UNSHARE, ST_LIMIT, ST_NICE, ST_OOM, ST_CPUS };

struct child_args {
	const struct spawn	*sp;
	const sigset_t		*handled;	/* signals not at SIG_DFL */
	gid_t			 groups[MAX_GROUPS];
	int			 ngroups;
	int			 tmpfds[MAX_PASS]; /* child_listen_fds() */
	int			 low;		/* the child keeps fds below */
	int			 stage;		/* written by the child on failure */
	int			 error;
	int			 limit;		/* ST_LIMIT: which of sp->limits */
};

static int __attribute__((noreturn))
child_fail(struct child_args *ca, int stage)
{
	ca->stage = stage;
	ca->error = errno;
	_exit(127);
}

/* execvp with envp, without malloc: each PATH entry in a stack buffer. */
static void
child_exec(char *const argv[], char *const envp[])
{
	const char	*path = DEFAULT_PATH, *p, *end;
	char		 buf[PATH_MAX];
	size_t		 dlen, flen = strlen(argv[0]);
	int		 i, eacces = 0;

	if (strchr(argv[0], '/') != NULL) {
		execve(argv[0], argv, envp);
		return;
	}
	for (i = 0; envp[i] != NULL; i++) {
		if (strncmp(envp[i], "PATH=", 5) == 0) {
			path = envp[i] + 5;
			break;
		}
	}
	for (p = path; ; p = end + 1) {
		end = strchr(p, ':');
		dlen = end != NULL ? (size_t)(end - p) : strlen(p);
		if (dlen + flen + 2 <= sizeof buf) {
			memcpy(buf, p, dlen);
			if (dlen == 0)
				buf[dlen++] = '.';
			buf[dlen] = '/';
			memcpy(buf + dlen + 1, argv[0], flen + 1);
			execve(buf, argv, envp);
			if (errno == EACCES)
				eacces = 1;
			else if (errno != ENOENT && errno != ENOTDIR)
				return;
		}
		if (end == NULL)
			break;
	}
	errno = eacces ? EACCES : ENOENT;
}

/* The child's own pid as decimal into buf, without stdio. */
static void
child_pid_text(char *buf)
{
	long	pid = (long)getpid(), v;
	int	n = 0;

	for (v = pid; v > 0; v /= 10)
		n++;
	buf[n] = '\0';
	for (v = pid; n > 0; v /= 10)
		buf[--n] = '0' + v % 10;
}

/*
 * Listening sockets to fds 3..3+n-1. They go through copies above that
 * range first, as a socket may already sit where another must go. (The
 * copies live in ca, not on this stack, which every child reuses.)
 */
static int
child_listen_fds(struct child_args *ca)
{
	const struct spawn	*sp = ca->sp;
	size_t			 i;

	if (sp->nlisten > nitems(ca->tmpfds))
		return -1;
	for (i = 0; i < sp->nlisten; i++) {
		ca->tmpfds[i] = fcntl(sp->listen_fds[i], F_DUPFD_CLOEXEC,
		    3 + (int)sp->nlisten);
		if (ca->tmpfds[i] == -1)
			return -1;
	}
	for (i = 0; i < sp->nlisten; i++) {
		if (dup2(ca->tmpfds[i], 3 + (int)i) == -1)
			return -1;
	}
	return 0;
}

/* oom_score_adj as the kernel takes it: decimal text, without stdio. */
static int
child_oom(int v)
{
	char	buf[16], *p = buf + sizeof buf;
	int	fd, n, neg = v < 0, ok;

	n = neg ? -v : v;
	do {
		*--p = '0' + n % 10;
		n /= 10;
	} while (n > 0);
	if (neg)
		*--p = '-';
	if ((fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	ok = write(fd, p, buf + sizeof buf - p) == buf + sizeof buf - p;
	close(fd);
	return ok ? 0 : -1;
}

/*
 * The app's process settings, while the child still has pmd's privilege:
 * raising a hard limit, a lower nice or oom_score_adj need it.
 */
static void
child_settings(struct child_args *ca)
{
	const struct spawn	*sp = ca->sp;
	size_t			 i;

	for (i = 0; i < sp->nlimits; i++) {
		if (setrlimit(sp->limits[i].resource, &sp->limits[i].lim) == -1) {
			ca->limit = (int)i;
			child_fail(ca, ST_LIMIT);
		}
	}
	if ((sp->set & SET_NICE) &&
	    setpriority(PRIO_PROCESS, 0, sp->nice) == -1)
		child_fail(ca, ST_NICE);
	if ((sp->set & SET_OOM) && child_oom(sp->oom_score_adj) == -1)
		child_fail(ca, ST_OOM);
	if (sp->set & SET_UMASK)
		umask(sp->umask);
	if ((sp->set & SET_CPUS) &&
	    sched_setaffinity(0, sizeof sp->cpus, &sp->cpus) == -1)
		child_fail(ca, ST_CPUS);
}

static int
child(void *arg)
{
	struct child_args	*ca = arg;
	const struct spawn	*sp = ca->sp;
	struct sigaction	 sa;
	sigset_t		 empty;
	int			 sig, null;
	size_t			 i;

	/* A table of our own, with only the fds below low (see above). */
	if (close_range((unsigned)ca->low, ~0U, CLOSE_RANGE_UNSHARE) == -1 &&
	    unshare(CLONE_FILES) == -1)
		child_fail(ca, ST_UNSHARE);
	/* Our handlers must not run here: back to defaults, then unblock. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++) {
		if (sigismember(ca->handled, sig) == 1)
			sigaction(sig, &sa, NULL);
	}
	sigemptyset(&empty);
	sigprocmask(SIG_SETMASK, &empty, NULL);

	setsid();
	if ((null = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		child_fail(ca, ST_NULL);
	if (dup2(null, STDIN_FILENO) == -1 ||
	    dup2(sp->out_fd, STDOUT_FILENO) == -1 ||
	    dup2(sp->err_fd, STDERR_FILENO) == -1 ||
	    child_listen_fds(ca) == -1)
		child_fail(ca, ST_DUP);
	/* Nothing else of pmd's, inherited or ours, goes to the worker. */
	close_range(3 + (unsigned)sp->nlisten, ~0U, 0);
	for (i = 0; i < nitems(sp->pid_slot); i++) {
		if (sp->pid_slot[i] != NULL)
			child_pid_text(sp->pid_slot[i]);
	}
	/* pmd raised its own fd limit; the worker gets the usual one. */
	if (sp->nofile != NULL)
		setrlimit(RLIMIT_NOFILE, sp->nofile);
	child_settings(ca);
	if (sp->set_ids) {
		if (setgroups(ca->ngroups, ca->groups) == -1)
			child_fail(ca, ST_GROUPS);
		if (setgid(sp->gid) == -1)
			child_fail(ca, ST_GID);
		if (setuid(sp->uid) == -1)
			child_fail(ca, ST_UID);
	}
	/* As the worker's user: a cwd it could not reach is an error. */
	if (sp->cwd != NULL && chdir(sp->cwd) == -1)
		child_fail(ca, ST_CHDIR);
	child_exec(sp->argv, sp->envp);
	child_fail(ca, ST_EXEC);
}

/* Close the low copies among the first n of fds (proc_spawn). */
static void
close_copies(const struct spawn *sp, const int *fds, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (fds[i] != sp->listen_fds[i])
			close(fds[i]);
	}
}

static const char *
rlim_word(rlim_t v, char *buf, size_t size)
{
	if (v == RLIM_INFINITY)
		return "infinity";
	snprintf(buf, size, "%llu", (unsigned long long)v);
	return buf;
}

/* A limit the child could not set: the key, why, and what pmd has. */
static char *
limit_error(const struct spawn_limit *l, int e)
{
	struct rlimit	have;
	char		b[4][24];

	if (getrlimit(l->resource, &have) == -1)
		return xprintf("%s: setrlimit: %s", l->key, strerror(e));
	return xprintf("%s: cannot set %s:%s: %s (pmd has %s:%s)", l->key,
	    rlim_word(l->lim.rlim_cur, b[0], sizeof b[0]),
	    rlim_word(l->lim.rlim_max, b[1], sizeof b[1]), strerror(e),
	    rlim_word(have.rlim_cur, b[2], sizeof b[2]),
	    rlim_word(have.rlim_max, b[3], sizeof b[3]));
}

/*
 * Start sp. Returns the pid, with its pidfd (CLONE_PIDFD) in *pidfd for
 * child_watch(), or -1 with *cause if no process could be made. If the
 * child failed before or at exec, *exec_error says why; it exits 127 and
 * is reaped like any other.
 */
pid_t
proc_spawn(const struct spawn *sp, int *pidfd, char **exec_error,
    char **cause)
{
	static char		*stack;
	static sigset_t		 handled;
	struct child_args	 ca;
	struct spawn		 placed = *sp;	/* with fds[] */
	struct sigaction	 sa;
	sigset_t		 all, old;
	pid_t			 pid;
	int			 sig, e, fds[MAX_PASS];
	size_t			 i;

	*exec_error = NULL;
	if (stack == NULL) {
		stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (stack == MAP_FAILED) {
			stack = NULL;
			*cause = xprintf("mmap: %s", strerror(errno));
			return -1;
		}
		/*
		 * pmd sets its signal dispositions before the first spawn and
		 * never after: note once which the child must reset.
		 */
		sigemptyset(&handled);
		for (sig = 1; sig < NSIG; sig++) {
			if (sigaction(sig, NULL, &sa) == 0 &&
			    sa.sa_handler != SIG_DFL)
				sigaddset(&handled, sig);
		}
	}
	if (sp->nlisten > MAX_PASS) {
		*cause = xprintf("more than %d sockets to pass", MAX_PASS);
		return -1;
	}
	memset(&ca, 0, sizeof ca);
	ca.sp = &placed;
	ca.handled = &handled;
	ca.stage = -1;
	/* Sockets kept high come along as copies below fd_floor. */
	for (i = 0; i < sp->nlisten; i++) {
		fds[i] = sp->listen_fds[i];
		if (fds[i] >= fd_high_floor() &&
		    (fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)) == -1) {
			*cause = xprintf("fcntl: %s", strerror(errno));
			close_copies(sp, fds, i);
			return -1;
		}
	}
	placed.listen_fds = fds;
	ca.low = (sp->out_fd > sp->err_fd ? sp->out_fd : sp->err_fd) + 1;
	for (i = 0; i < sp->nlisten; i++) {
		if (fds[i] >= ca.low)
			ca.low = fds[i] + 1;
	}
	if (sp->set_ids) {
		ca.ngroups = MAX_GROUPS;
		if (getgrouplist(sp->user, sp->gid, ca.groups,
		    &ca.ngroups) == -1) {
			*cause = xprintf("user %s is in more than %d groups",
			    sp->user, MAX_GROUPS);
			return -1;
		}
	}
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	/* The parent sleeps until the child has exec'd or exited. */
	/*
	 * Without pidfds (child.c), a plain vfork: no shared fd table nor
	 * pidfd, which valgrind and old seccomp profiles refuse.
	 */
	*pidfd = -1;
	pid = clone(child, stack + CHILD_STACK, CLONE_VM | CLONE_VFORK |
	    (child_pidfds() ? CLONE_FILES | CLONE_PIDFD : 0) | SIGCHLD, &ca,
	    pidfd);
	e = errno;	/* the caller tells EAGAIN from the rest */
	sigprocmask(SIG_SETMASK, &old, NULL);
	close_copies(sp, fds, sp->nlisten);
	if (pid == -1) {
		*cause = xprintf("clone: %s", strerror(e));
		errno = e;
		return -1;
	}
	if (ca.stage == ST_LIMIT)
		*exec_error = limit_error(&sp->limits[ca.limit], ca.error);
	else if (ca.stage >= 0)
		*exec_error = xprintf("%s: %s", stages[ca.stage],
		    strerror(ca.error));
	return pid;
}

/*
 * The fields of /proc/PID/stat that pmd uses. One small read: cheap enough
 * to do for each worker when a client asks.
 */
int
proc_stat(pid_t pid, struct pstat *ps)
{
	char			 path[64], buf[1024], *p;
	unsigned long long	 v[22];
	ssize_t			 n;
	int			 fd, i;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip past it. */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ' || p[2] == '\0')
		return -1;
	p += 4;		/* past ") S " to field 4, ppid */
	for (i = 0; i < 21; i++) {	/* fields 4 to 24 */
		char *end;
		v[i] = strtoull(p, &end, 10);
		if (end == p)
			return -1;
		p = end;
	}
	ps->ppid = (pid_t)v[0];
	ps->pgrp = (pid_t)v[1];
	ps->ticks = v[10] + v[11];		/* utime 14 + stime 15 */
	ps->start = v[18];			/* starttime 22 */
	ps->rss = (uint64_t)(long long)v[20] * (uint64_t)sysconf(_SC_PAGESIZE);
	return 0;
}

/*
 * Kill what is left among our children: processes that left their worker's
 * process group (setsid) and came to us, the subreaper, when their parent
 * died. Called as pmd exits, so that nothing it started outlives it.
 */
void
proc_kill_strays(void)
{
	DIR		*d;
	struct dirent	*de;
	struct pstat	 ps;

	if ((d = opendir("/proc")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		pid_t pid = (pid_t)atol(de->d_name);
		if (pid <= 0 || proc_stat(pid, &ps) == -1 ||
		    ps.ppid != getpid())
			continue;
		log_warn("killing pid %ld, left behind by a worker",
		    (long)pid);
		kill(pid, SIGKILL);
	}
	closedir(d);
}

/* Linux 6.13's PIDFD_GET_INFO, which Debian 12's headers lack. */
struct pidfd_info_v0 {
	uint64_t	 mask;
	uint64_t	 cgroupid;
	uint32_t	 pid;
	uint32_t	 rest[11];
};
#define PIDFD_INFO_PID_	1
#define PIDFD_GET_INFO_	_IOWR(0xFF, 11, struct pidfd_info_v0)

/*
 * The pid a pidfd names, or -1: the kernel says so in one call, or
 * before Linux 6.13 the Pid: line of its fdinfo (three calls).
 */
pid_t
proc_pidfd_pid(int fd)
{
	static int		 no_ioctl;
	struct pidfd_info_v0	 info;
	char			 path[64], buf[512], *p;
	ssize_t			 n;
	int			 f;

	if (!no_ioctl) {
		memset(&info, 0, sizeof info);
		info.mask = PIDFD_INFO_PID_;
		if (ioctl(fd, PIDFD_GET_INFO_, &info) == 0)
			return (pid_t)info.pid;
		no_ioctl = errno == ENOTTY || errno == EINVAL;	/* old kernel */
	}
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
	if ((f = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(f, buf, sizeof buf - 1);
	close(f);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return (p = strstr(buf, "\nPid:")) != NULL ? (pid_t)atol(p + 5) : -1;
}
