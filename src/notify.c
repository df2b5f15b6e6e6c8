/*
 * The sd_notify(3) protocol of a worker: its NOTIFY_SOCKET (an abstract
 * datagram socket made for each process of an app with wait_ready or
 * watchdog), READY=1 (worker_ready), STATUS= (shown by show), and the
 * watchdog: WATCHDOG=1 re-arms it, and a worker that misses it is aborted
 * and then killed. worker.c opens and closes the socket around each
 * process; this file reads it.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmd.h"

/*
 * No WATCHDOG=1 within watchdog: the worker hangs. SIGABRT to its process
 * group (a core dump, where the system keeps them), then SIGKILL after
 * kill_timeout; its exit is a crash, restarted as one.
 */
static void
watchdog_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker	*w = container_of(t, struct worker, watchdog_w);

	(void)loop; (void)revents;
	if (w->pid <= 0)
		return;
	if (w->watchdog_fired) {
		log_warn("%s:%u: pid %ld still running after SIGABRT, sending "
		    "SIGKILL", w->app->name, w->instance, (long)w->pid);
		kill(-w->pid, SIGKILL);
		return;
	}
	w->watchdog_fired = 1;
	log_warn("%s:%u: pid %ld: watchdog timeout (no WATCHDOG=1 for %llums); "
	    "sending SIGABRT", w->app->name, w->instance, (long)w->pid,
	    (unsigned long long)w->app->cfg->watchdog);
	event_emit(w->app, w, "watchdog", NULL, "no WATCHDOG=1 for %llums",
	    (unsigned long long)w->app->cfg->watchdog);
	kill(-w->pid, SIGABRT);
	ev_timer_set(&w->watchdog_w, w->app->cfg->kill_timeout / 1000.0, 0);
	ev_timer_start(pmd_loop, &w->watchdog_w);
}

/* (Re)arm w's watchdog: at spawn, and at each WATCHDOG=1. */
void
notify_watchdog(struct worker *w)
{
	if (w->app->cfg->watchdog == 0 || w->watchdog_fired || w->pid <= 0)
		return;
	ev_timer_stop(pmd_loop, &w->watchdog_w);
	ev_timer_set(&w->watchdog_w, w->app->cfg->watchdog / 1000.0, 0);
	ev_timer_start(pmd_loop, &w->watchdog_w);
}

/*
 * sd_notify(3) messages: "READY=1" marks the worker online, "STATUS=..."
 * shows in show. Only from a process of the worker's group, and of its
 * user (or root); a sender that is already gone cannot be placed and is
 * believed if its user fits.
 */
static void
notify_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct worker	*w = container_of(io, struct worker, notify_w);
	char		 buf[4096], *line, *save;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(struct ucred))];
	}		 cbuf;
	struct iovec	 iov = { buf, sizeof buf - 1 };
	struct msghdr	 msg;
	struct cmsghdr	*cm;
	struct ucred	*cred = NULL;
	ssize_t		 n;
	pid_t		 pgid;
	uid_t		 uid = w->app->cfg->user != NULL ? w->app->cfg->uid :
			    geteuid();

	(void)loop; (void)revents;
	memset(&msg, 0, sizeof msg);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof cbuf.buf;
	if ((n = recvmsg(io->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC)) <= 0)
		return;
	buf[n] = '\0';
	for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_CREDENTIALS)
			cred = (struct ucred *)CMSG_DATA(cm);
		else if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS) {
			/* File descriptors for us to keep: not supported. */
			int *fds = (int *)CMSG_DATA(cm);
			size_t k, nfds = (cm->cmsg_len - CMSG_LEN(0)) /
			    sizeof(int);
			for (k = 0; k < nfds; k++)
				close(fds[k]);
		}
	}
	if (cred == NULL || (cred->uid != 0 && cred->uid != uid &&
	    cred->uid != geteuid()))
		return;
	if ((pgid = getpgid(cred->pid)) != -1 && pgid != w->pid) {
		log_warn("%s:%u: notify message from pid %ld, which is not in "
		    "the worker's process group; ignored", w->app->name,
		    w->instance, (long)cred->pid);
		return;
	}
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strcmp(line, "READY=1") == 0) {
			if (w->sm.state == W_STARTING)
				log_info("%s:%u: pid %ld is ready",
				    w->app->name, w->instance, (long)w->pid);
			worker_ready(w);
		} else if (strcmp(line, "WATCHDOG=1") == 0)
			notify_watchdog(w);
		else if (strcmp(line, "WATCHDOG=trigger") == 0 &&
		    w->app->cfg->watchdog > 0 && !w->watchdog_fired) {
			ev_timer_stop(pmd_loop, &w->watchdog_w);
			watchdog_cb(pmd_loop, &w->watchdog_w, 0);
		} else if (strncmp(line, "STATUS=", 7) == 0) {
			free(w->status_text);
			w->status_text = xstrndup(line + 7, 200);
		}
	}
}

/* A NOTIFY_SOCKET for the process about to start: an abstract address. */
char *
notify_open(struct worker *w, char **cause)
{
	struct sockaddr_un	sun;
	socklen_t		len;
	int			fd, on = 1;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path + 1, sizeof sun.sun_path - 1,
	    "pmd-notify/%ld/%u", (long)getpid(), w->id);
	len = offsetof(struct sockaddr_un, sun_path) + 1 +
	    strlen(sun.sun_path + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, len) == -1) {
		int e = errno;
		*cause = xprintf("notify socket: %s", strerror(e));
		if (fd != -1)
			close(fd);
		errno = e;
		return NULL;
	}
	ev_io_init(&w->notify_w, notify_cb, fd_high(fd), EV_READ);
	ev_io_start(pmd_loop, &w->notify_w);
	return xprintf("@%s", sun.sun_path + 1);
}

void
notify_close(struct worker *w)
{
	if (w->notify_w.fd == -1)
		return;
	ev_io_stop(pmd_loop, &w->notify_w);
	close(w->notify_w.fd);
	ev_io_set(&w->notify_w, -1, EV_READ);
}

/* pmctl update: the socket the pmd before this one opened for w. */
void
notify_adopt(struct worker *w, int fd)
{
	ev_io_init(&w->notify_w, notify_cb, fd, EV_READ);
	ev_io_start(pmd_loop, &w->notify_w);
}

/* A new slot's watchers: none running until its process has a socket. */
void
notify_init(struct worker *w)
{
	ev_init(&w->watchdog_w, watchdog_cb);
}
