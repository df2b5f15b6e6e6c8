/*
 * pmctl update: pmd executes a new binary in its own process (the pid
 * stays, so systemd's main pid and any pid file stay true) and the new
 * pmd takes over every worker, pipe, socket, timer and client from the
 * state the old one wrote (state-write.c) into a sealed memfd.
 *
 * It fails safe in three steps:
 *  1. Before anything, the binary must open, be executable and be an ELF
 *     file for this machine (or a script); then it runs once as a probe,
 *     `BINARY --update-check VERSION` with pmd's own options: it must load
 *     the config and read this state version. Supervision goes on while
 *     it runs; a probe that fails, crashes or hangs (10 s) ends the update
 *     with what it said.
 *  2. The exec itself: if it fails, the fds are put back as they were and
 *     the old pmd runs on.
 *  3. The new pmd checks the whole state before it changes anything. If it
 *     cannot take over (a state it cannot read, an fd that is not what it
 *     should be, a config that no longer loads, a crash while taking
 *     over), it executes the old binary again from an fd kept open across
 *     the exec (execveat on it), with the same state and --update-failed:
 *     the old pmd takes everything back and answers the error.
 *
 * A SIGKILL of the new process cannot be caught: its workers are then
 * left as those of any killed pmd, and the next pmd ends them (track.c).
 */
#include <linux/close_range.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"

#define PROBE_SECONDS	10.0
#define PROBE_OUT_MAX	4096
#define HEAP_READY_MAX	(64 << 20)	/* bytes pre-faulted, at most */
#define MALLOC_DEFAULT	(128 * 1024)	/* glibc's thresholds at start */

extern char **environ;

static char	**options;	/* pmd's command line, passed on */
static int	  self_fd = -1;	/* the binary that runs now */
static int	  lock_fd = -1;

/* A probe of the new binary, and who asked for the update. */
static struct probe {
	struct child	 child;
	ev_timer	 timeout_w;
	int		 out;		/* what it says, stdout and stderr */
	char		*binary;
	int		 client;	/* -1 once it has gone */
	struct ucred	 cred;
	char		*error;		/* why the update failed */
	int		 ended;
} *probe;

static double	  checked_ms;	/* how long update_resume's check took */

/* The way back, while a new pmd takes over (update_resume). */
static char	**back_argv;
static int	  back_fd = -1;
static char	  back_why[128];

/* pmd's options for the next pmd: without those it acted on already. */
void
update_init(char **argv, int lockfd)
{
	char	**a;

	lock_fd = lockfd;
	for (a = argv + 1; *a != NULL; a++) {
		if (strcmp(*a, "--update-from") == 0 ||
		    strcmp(*a, "--update-old") == 0 ||
		    strcmp(*a, "--update-failed") == 0) {
			if (a[1] != NULL)
				a++;
			continue;
		}
		if (strcmp(*a, "-d") == 0 || strcmp(*a, "--daemon") == 0 ||
		    strcmp(*a, "-r") == 0 || strcmp(*a, "--resurrect") == 0)
			continue;
		strv_add(&options, *a);
	}
	if (self_fd == -1 &&
	    (self_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)) != -1)
		self_fd = fd_high(self_fd);
}

/* The one-daemon lock, carried by a pmd that took over. */
void
update_lock(int fd)
{
	lock_fd = fd;
}

/* The path this pmd was started from (a replaced file's too). */
static char *
self_path(void)
{
	char	buf[4096], *p;
	ssize_t	n = readlink("/proc/self/exe", buf, sizeof buf - 1);

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	/* A package upgrade replaced it: the new file is at the same path. */
	if ((p = strstr(buf, " (deleted)")) != NULL && p[10] == '\0')
		*p = '\0';
	return xstrdup(buf);
}

/*
 * The start of an ELF header: enough to tell the machine. (Not <elf.h>:
 * its EV_ names are libev's too.)
 */
struct elf_start {
	unsigned char	 ident[16];	/* \177ELF, class, byte order, ... */
	uint16_t	 type;
	uint16_t	 machine;
};
#define ELF_CLASS	4	/* ident[]: 32 or 64 bits */
#define ELF_DATA	5	/* ident[]: byte order */

static int
elf_header(int fd, struct elf_start *h)
{
	return pread(fd, h, sizeof *h, 0) == (ssize_t)sizeof *h ? 0 : -1;
}

/* Whether binary may be executed by pmd on this machine; why not. */
static int
binary_check(const char *binary, char **cause)
{
	struct elf_start h, me;
	struct stat	 st;
	int		 fd;

	if ((fd = open(binary, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		*cause = xprintf("%s: %s", binary, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || access(binary, X_OK) == -1) {
		*cause = xprintf("%s: not an executable file", binary);
		goto fail;
	}
	memset(&h, 0, sizeof h);
	if (pread(fd, &h, sizeof h, 0) >= 2 && memcmp(h.ident, "#!", 2) == 0) {
		close(fd);
		return 0;	/* a script: the probe says whether it runs */
	}
	if (elf_header(fd, &h) == -1 || memcmp(h.ident, "\177ELF", 4) != 0) {
		*cause = xprintf("%s: not an ELF executable or a script",
		    binary);
		goto fail;
	}
	if (self_fd != -1 && elf_header(self_fd, &me) == 0 &&
	    (h.ident[ELF_CLASS] != me.ident[ELF_CLASS] ||
	    h.ident[ELF_DATA] != me.ident[ELF_DATA] ||
	    h.machine != me.machine)) {
		*cause = xprintf("%s: built for another machine (ELF machine "
		    "%u, this one is %u)", binary, h.machine, me.machine);
		goto fail;
	}
	close(fd);
	return 0;
fail:
	if (fd != -1)
		close(fd);
	return -1;
}

static void
probe_end(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The update is over, failed (fmt) or with the exec undone. */
static void
probe_end(const char *fmt, ...)
{
	va_list	ap;

	ev_timer_stop(pmd_loop, &probe->timeout_w);
	if (probe->out != -1)
		close(probe->out);
	probe->out = -1;
	va_start(ap, fmt);
	if (vasprintf(&probe->error, fmt, ap) == -1)
		probe->error = xstrdup("update failed");
	va_end(ap);
	probe->ended = 1;
	log_warn("update: %s", probe->error);
	daemon_dirty();
}

/* Who asked is gone: nobody to answer, and its fd is not to be carried. */
void
update_forget_client(void *arg)
{
	(void)arg;
	if (probe != NULL)
		probe->client = -1;
}

/*
 * The update's outcome for the command waiting on it: 0 while it runs,
 * -1 with *error once it failed (the record goes then).
 */
int
update_outcome(char **error)
{
	if (probe == NULL || !probe->ended)
		return 0;
	*error = probe->error;
	free(probe->binary);
	free(probe);
	probe = NULL;
	return -1;
}

int
update_running(void)
{
	return probe != NULL;
}

/* (FD_CLOEXEC is the one fd flag there is: no F_GETFD first.) */
static void
cloexec(const int *fds, size_t n, int on)
{
	size_t	i;

	for (i = 0; i < n; i++)
		fcntl(fds[i], F_SETFD, on ? FD_CLOEXEC : 0);
}

/* The state in a sealed memfd, at offset 0: -1 with *cause. */
static int
state_memfd(const char *text, char **cause)
{
	size_t	len = strlen(text), off = 0;
	ssize_t	n;
	int	fd = memfd_create("pmd-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd == -1) {
		*cause = xprintf("memfd_create: %s", strerror(errno));
		return -1;
	}
	while (off < len) {
		if ((n = write(fd, text + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			*cause = xprintf("state: write: %s", strerror(errno));
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
	    F_SEAL_SEAL);
	lseek(fd, 0, SEEK_SET);
	return fd_high(fd);
}

/*
 * Room for size bytes of small allocations, faulted in with one call
 * (MADV_POPULATE_WRITE, Linux 5.14; else as before) and kept in the heap:
 * in a new process, a fault per page of the state's tree was a third of
 * the pause on a VM.
 */
static void
heap_ready(size_t size)
{
	char	*p;
	long	 page = sysconf(_SC_PAGESIZE);

	if (size > HEAP_READY_MAX)
		return;		/* (16,000 workers: faults are not the most) */
	mallopt(M_MMAP_THRESHOLD, (int)(size + (1 << 20)));
	mallopt(M_TRIM_THRESHOLD, (int)(size * 2));
	if ((p = malloc(size)) == NULL)
		return;
	madvise((void *)(((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1)),
	    size - (size_t)page, MADV_POPULATE_WRITE);
	free(p);
}

/* The signals pmd handles: held across the exec until the next has its. */
static void
held_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
	sigaddset(set, SIGCHLD);
}

static char **
exec_argv(const char *path, int statefd, const char *flag, const char *arg)
{
	char	**argv = NULL, *s, **o;

	strv_add(&argv, path);
	strv_add(&argv, "--update-from");
	s = xprintf("%d", statefd);
	strv_add(&argv, s);
	free(s);
	strv_add(&argv, flag);
	strv_add(&argv, arg);
	for (o = options; o != NULL && *o != NULL; o++)
		strv_add(&argv, *o);
	return argv;
}

/* The probe said yes: write the state and become the new binary. */
static void
update_exec(void)
{
	struct state_daemon	 d;
	sigset_t		 set, old;
	char			*text, *cause = NULL, **argv, *s;
	int			*fds, statefd;
	double			 t0;
	size_t			 nfds;

	memset(&d, 0, sizeof d);
	d.lock = lock_fd;
	d.control = control_socket();
	d.http = metrics_socket(&d.http_url);
	d.handoff = handoff_socket(&d.handoff_name);
	d.client = probe->client;
	d.client_uid = probe->cred.uid;
	d.client_gid = probe->cred.gid;
	d.client_pid = probe->cred.pid;
	d.fd_base = budget_base();
	d.booting = daemon_booting();
	d.nofile = worker_nofile;
	t0 = mono_now();
	logs_drop_released();
	d.nfollowers = control_followers(&d.followers);
	text = state_write(&d, &fds, &nfds);
	free(d.followers);
	statefd = state_memfd(text, &cause);
	free(text);
	if (statefd == -1) {
		free(fds);
		probe_end("%s", cause);
		free(cause);
		return;
	}
	fds = xrealloc(fds, (nfds + 2) * sizeof *fds);
	fds[nfds++] = statefd;
	fds[nfds++] = self_fd;
	s = xprintf("%d", self_fd);
	argv = exec_argv(probe->binary, statefd, "--update-old", s);
	free(s);
	log_info("update: executing %s (state: %zu fds, written in %.1f ms)",
	    probe->binary, nfds, (mono_now() - t0) * 1000);
	daemon_notify("RELOADING=1");
	cloexec(fds, nfds, 0);
	held_signals(&set);
	sigprocmask(SIG_BLOCK, &set, &old);
	execve(probe->binary, argv, environ);
	/* Still here: nothing was handed over; the old pmd runs on. */
	s = xprintf("cannot execute %s: %s", probe->binary, strerror(errno));
	sigprocmask(SIG_SETMASK, &old, NULL);
	cloexec(fds, nfds, 1);
	close(statefd);
	free(fds);
	argv_free(argv);
	daemon_notify("READY=1");
	probe_end("%s", s);
	free(s);
}

static void
probe_exited(struct child *c)
{
	char	 buf[PROBE_OUT_MAX + 1], *how;
	ssize_t	 n;

	(void)c;
	n = probe->out != -1 ? read(probe->out, buf, PROBE_OUT_MAX) : -1;
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (probe->ended)
		return;
	if (WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0) {
		ev_timer_stop(pmd_loop, &probe->timeout_w);
		close(probe->out);
		probe->out = -1;
		update_exec();
		return;
	}
	how = status_string(c->status);
	probe_end("%s --update-check %s%s%s; pmd %s runs on, nothing changed",
	    probe->binary, how, *buf ? ": " : "", buf, PMD_VERSION);
	free(how);
}

static void
probe_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop; (void)t; (void)revents;
	kill(probe->child.pid, SIGKILL);
	probe_end("%s --update-check did not answer within %.0f s; pmd %s "
	    "runs on, nothing changed", probe->binary, PROBE_SECONDS,
	    PMD_VERSION);
}

/* Run the new binary as a probe: can it load the config and the state? */
static int
probe_start(char **cause)
{
	posix_spawn_file_actions_t	 fa;
	char				**argv, **o, *v;
	int				 p[2], rc;
	pid_t				 pid;

	if (pipe2(p, O_CLOEXEC) == -1) {
		*cause = xprintf("pipe: %s", strerror(errno));
		return -1;
	}
	v = xprintf("%d", STATE_VERSION);
	argv = NULL;
	strv_add(&argv, probe->binary);
	strv_add(&argv, "--update-check");
	strv_add(&argv, v);
	free(v);
	for (o = options; o != NULL && *o != NULL; o++)
		strv_add(&argv, *o);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	rc = posix_spawn(&pid, probe->binary, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	argv_free(argv);
	close(p[1]);
	if (rc != 0 || child_watch(&probe->child, pid, -1, probe_exited) == -1) {
		*cause = xprintf("%s: %s", probe->binary, strerror(rc ? rc :
		    errno));
		close(p[0]);
		return -1;
	}
	probe->out = fd_high(p[0]);
	fcntl(probe->out, F_SETFL, O_NONBLOCK);
	ev_timer_init(&probe->timeout_w, probe_timeout, PROBE_SECONDS, 0);
	ev_timer_start(pmd_loop, &probe->timeout_w);
	return 0;
}

/*
 * Begin an update to binary (NULL: the file pmd was started from) asked
 * by client (its fd and peer): -1 with *cause if it cannot begin, else
 * the probe runs and update_outcome() tells how it ended, unless pmd was
 * replaced meanwhile.
 */
int
update_begin(const char *binary, int client, const struct ucred *cred,
    char **cause)
{
	char	*path = binary != NULL ? xstrdup(binary) : self_path();

	if (path == NULL) {
		*cause = xprintf("cannot tell which file pmd was started "
		    "from; give --binary PATH");
		return -1;
	}
	if (binary_check(path, cause) == -1) {
		free(path);
		return -1;
	}
	probe = xcalloc(1, sizeof *probe);
	probe->binary = path;
	probe->client = client;
	probe->cred = *cred;
	probe->out = -1;
	if (probe_start(cause) == -1) {
		free(path);
		free(probe);
		probe = NULL;
		return -1;
	}
	log_info("update: checking %s", path);
	return 0;
}

/* The new pmd crashed while taking over: back to the old one. */
static void
crashed(int sig)
{
	static const char	digits[] = "0123456789";
	size_t			n = strlen(back_why);

	if (back_argv == NULL)
		_exit(128 + sig);
	/* (Async-signal-safe: no printf.) */
	if (n + 4 < sizeof back_why) {
		back_why[n++] = (char)digits[sig / 10 % 10];
		back_why[n++] = (char)digits[sig % 10];
		back_why[n] = '\0';
	}
	syscall(SYS_execveat, back_fd, "", back_argv, environ, AT_EMPTY_PATH);
	_exit(128 + sig);
}

/* Execute the old binary again with the state: it takes everything back. */
void __attribute__((noreturn))
update_back(int statefd, const char *why)
{
	char	**argv;

	fatal_hook = NULL;
	if (back_fd == -1)
		fatalx(1, "cannot take over from the pmd before: %s; there is "
		    "no way back", why);
	log_warn("update: cannot take over: %s; handing back to the pmd "
	    "before", why);
	unsetenv("PMD_UPDATE_FAULT");
	lseek(statefd, 0, SEEK_SET);
	argv = exec_argv("pmd", statefd, "--update-failed", why);
	syscall(SYS_execveat, back_fd, "", argv, environ, AT_EMPTY_PATH);
	fatalx(1, "cannot execute the pmd before again: %s", strerror(errno));
}

static void
on_crash(const int *sigs, size_t n, void (*fn)(int))
{
	struct sigaction	sa;
	size_t			i;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < n; i++)
		sigaction(sigs[i], &sa, NULL);
}

static int	resume_fd = -1;

/* pmd would exit (fatalx) before it took over: back to the old one. */
static void
fatal_back(const char *why)
{
	fatal_hook = NULL;
	update_back(resume_fd, why);
}

static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };

/*
 * A new pmd's first step (--update-from FD): read and check the state,
 * changing nothing. olds (--update-old FD) is the way back; failed
 * (--update-failed WHY) says that this is the old pmd taking back after
 * a new one could not. On failure: back to the old binary, or exit.
 */
cJSON *
update_resume(int statefd, int old)
{
	struct stat	 st;
	cJSON		*root;
	char		*text, *cause, *fault = getenv("PMD_UPDATE_FAULT");
	ssize_t		 n;
	size_t		 len;

	fault = fault != NULL ? xstrdup(fault) : NULL;
	unsetenv("PMD_UPDATE_FAULT");
	resume_fd = statefd;
	fatal_hook = fatal_back;
	if ((back_fd = old) != -1) {
		back_argv = exec_argv("pmd", statefd, "--update-failed",
		    "crashed while taking over, signal ");
		strncpy(back_why, back_argv[4], sizeof back_why - 1);
		free(back_argv[4]);
		back_argv[4] = back_why;	/* the handler adds the number */
		on_crash(crash_signals, nitems(crash_signals), crashed);
	}
	if (fstat(statefd, &st) == -1 || st.st_size <= 0 ||
	    st.st_size > (1 << 30))
		update_back(statefd, "the state is missing or empty");
	len = (size_t)st.st_size;
	heap_ready(len * 16 + (1 << 20));	/* the tree: ~16 x the text */
	if (fault != NULL && strcmp(fault, "truncate") == 0)
		len /= 2;	/* for the tests: a state cut short */
	text = xmalloc(len + 1);
	if ((n = pread(statefd, text, len, 0)) != (ssize_t)len) {
		free(text);
		update_back(statefd, "cannot read the state");
	}
	text[len] = '\0';
	checked_ms = mono_now();
	if (state_check(text, len, &root, &cause) == -1) {
		free(text);
		update_back(statefd, cause);
	}
	free(text);
	checked_ms = (mono_now() - checked_ms) * 1000;
	if (fault != NULL && strcmp(fault, "crash") == 0)
		abort();	/* for the tests: a crash while taking over */
	if (fault != NULL && strcmp(fault, "kill") == 0)
		raise(SIGKILL);	/* for the tests: no way back from this one */
	if (fault != NULL && strcmp(fault, "refuse") == 0)
		update_back(statefd, "PMD_UPDATE_FAULT=refuse (a test)");
	free(fault);
	return root;
}

/* How long reading and checking the state took, ms (for the log). */
double
update_checked_ms(void)
{
	return checked_ms;
}

/* Taken over: the way back closes; this binary is the one to return to. */
void
update_resumed(int statefd)
{
	DIR		*d;
	struct dirent	*de;
	sigset_t	 set;
	int		 fd, fl;

	fatal_hook = NULL;
	on_crash(crash_signals, nitems(crash_signals), SIG_DFL);
	/* The heap gives back what the state's tree took, once it is freed. */
	mallopt(M_MMAP_THRESHOLD, MALLOC_DEFAULT);
	mallopt(M_TRIM_THRESHOLD, MALLOC_DEFAULT);
	/* The signals held across the exec: the loop has its watchers now. */
	held_signals(&set);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	if (back_argv != NULL) {
		back_argv[4] = xstrdup("");
		argv_free(back_argv);
		back_argv = NULL;
	}
	if (back_fd != -1)
		close(back_fd);
	back_fd = -1;
	close(statefd);
	/* What the exec carried is ours alone again: no worker inherits it. */
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	if ((d = opendir("/proc/self/fd")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if ((fd = atoi(de->d_name)) > 2 && fd != dirfd(d) &&
		    (fl = fcntl(fd, F_GETFD)) != -1 && !(fl & FD_CLOEXEC))
			fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
	}
	closedir(d);
}
