/*
 * The exits of pmd's children. Each child is watched through its pidfd,
 * which turns readable when the child exits; wait4() on that one pid then
 * reaps it. Both cost the same with one child or ten thousand. libev's
 * child watchers reap with waitpid(-1), which walks every child of pmd,
 * twice per exit and before the callback runs: 2 ms each at ten thousand
 * workers, before a crashed worker's replacement could start. They come
 * with libev's default loop, so pmd runs a loop of its own (pmd_loop).
 *
 * SIGCHLD is left for the processes nobody watches: orphans of workers,
 * which come back to pmd as subreaper. Its watcher has the lowest
 * priority, so the pidfds ready in the same loop turn are handled first
 * and a crashed worker is replaced before the one walk over all children
 * that finding orphans takes.
 *
 * Where the kernel gives no pidfds (Linux before 5.3, valgrind, seccomp
 * profiles that refuse pidfd_open or CLONE_PIDFD), or PMD_NO_PIDFD is set,
 * every child is found by that walk instead: slower with thousands of
 * children, the same otherwise. pmd says so once at start.
 */
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmd.h"

struct ev_loop		*pmd_loop;

static LIST_HEAD(, child) children = LIST_HEAD_INITIALIZER(children);
static ev_signal	 sigchld_w;
static int		 no_pidfd;	/* exits by SIGCHLD and waitid only */

static void
child_reap(struct child *c)
{
	pid_t	r;
	int	status = 0;

	while ((r = wait4(c->pid, &status, WNOHANG | __WALL, NULL)) == -1 &&
	    errno == EINTR)
		;
	if (r == 0)
		return;		/* not gone yet */
	if (r == -1)		/* not ours to reap: reported as exit 0 */
		log_warn("pid %ld: wait4: %s", (long)c->pid, strerror(errno));
	child_unwatch(c);
	c->status = status;
	c->cb(c);
}

static void
child_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct child	*c = container_of(io, struct child, io_w);

	(void)loop;
	if (revents & EV_CUSTOM)
		c->cb(c);	/* from child_unmade() */
	else
		child_reap(c);
}

/*
 * Reap what exited with no pidfd of ours watching: a worker's orphans. A
 * watched child found here exited after the loop looked at its pidfd; it
 * goes through its own callback now.
 */
static void
sigchld_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	struct child	*c;
	siginfo_t	 si;

	(void)loop; (void)s; (void)revents;
	for (;;) {
		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT |
		    __WALL) == -1 || si.si_pid == 0)
			return;
		LIST_FOREACH(c, &children, entry) {
			if (c->pid == si.si_pid)
				break;
		}
		if (c != NULL)
			child_reap(c);
		else if (waitpid(si.si_pid, NULL, WNOHANG | __WALL) <= 0)
			return;
	}
}

/* At start: pidfds where the kernel gives them, else SIGCHLD alone. */
int
child_init(char **cause)
{
	const char	*off = getenv("PMD_NO_PIDFD");
	int		 fd;

	(void)cause;
	if (off != NULL && *off != '\0') {
		no_pidfd = 1;
		log_info("PMD_NO_PIDFD is set: children are reaped by SIGCHLD "
		    "and waitid, without pidfds");
	} else if ((fd = (int)syscall(SYS_pidfd_open, getpid(), 0)) == -1) {
		no_pidfd = 1;
		log_warn("pidfd_open: %s: children are reaped by SIGCHLD and "
		    "waitid instead (each exit walks every child)",
		    strerror(errno));
	} else
		close(fd);
	ev_signal_init(&sigchld_w, sigchld_cb, SIGCHLD);
	ev_set_priority(&sigchld_w, EV_MINPRI);
	ev_signal_start(pmd_loop, &sigchld_w);
	ev_unref(pmd_loop);	/* no reason by itself to keep running */
	return 0;
}

/*
 * Call cb with c->status once pid, a child of pmd, has exited. pidfd is
 * the child's pidfd, or -1 to open one. Returns -1 (errno set) if there
 * is none: the caller still has the child to end.
 */
int
child_watch(struct child *c, pid_t pid, int pidfd, void (*cb)(struct child *))
{
	if (!no_pidfd && pidfd == -1 &&
	    (pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) == -1)
		return -1;
	c->pid = pid;
	c->cb = cb;
	ev_io_init(&c->io_w, child_io_cb, no_pidfd ? -1 : fd_high(pidfd),
	    EV_READ);
	if (!no_pidfd)
		ev_io_start(pmd_loop, &c->io_w);
	LIST_INSERT_HEAD(&children, c, entry);
	c->listed = 1;
	return 0;
}

/* c's pidfd (-1: none, or found by SIGCHLD and waitid): pmctl update's. */
int
child_pidfd(const struct child *c)
{
	return c->io_w.fd;
}

/* Whether children come with pidfds (proc.c asks for CLONE_PIDFD). */
int
child_pidfds(void)
{
	return !no_pidfd;
}

/*
 * For a child that could not be made: cb with status, as from an exit, in
 * the next loop turn (nothing recurses into the caller).
 */
void
child_unmade(struct child *c, int status, void (*cb)(struct child *))
{
	ev_io_init(&c->io_w, child_io_cb, -1, EV_READ);
	c->pid = 0;
	c->cb = cb;
	c->status = status;
	ev_feed_event(pmd_loop, &c->io_w, EV_CUSTOM);
}

/* No callback for c after this; its process, if any, is the caller's. */
void
child_unwatch(struct child *c)
{
	ev_clear_pending(pmd_loop, &c->io_w);
	if (!c->listed)
		return;
	LIST_REMOVE(c, entry);
	c->listed = 0;
	if (!ev_is_active(&c->io_w))
		return;
	ev_io_stop(pmd_loop, &c->io_w);
	close(c->io_w.fd);
	c->io_w.fd = -1;
}
