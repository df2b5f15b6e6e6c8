/*
 * The daemon's side of pmd-preload.so (src/preload/preload.c): a worker
 * of an app with listen that binds the app's address itself connects to
 * the handoff socket, an abstract unix socket named in PMD_LISTEN_SOCKET. pmd places
 * the peer (SO_PEERCRED) in a worker's process group or session, sends
 * that app's listening sockets with SCM_RIGHTS, closes the connection and
 * counts the worker as online: it is about to accept. Nothing is read
 * from the peer and nothing waits: a fresh connection's buffer always has
 * room for the one short message.
 *
 * Anyone on the machine can connect to an abstract socket, so a stranger
 * costs as little as the kernel allows: a peer whose uid runs none of the
 * apps with listen is closed before any other work, and past
 * REFUSED_MAX refusals in a second the socket is not read for
 * REFUSE_PAUSE (a worker's connect waits in the backlog meanwhile). The
 * peer is named by a pidfd taken at its connect (SO_PEERPIDFD, where the
 * kernel has it), checked still alive after its process group was looked
 * up, so a pid reused meanwhile cannot pass for a worker.
 *
 * listen_share: a worker of an app with several instances and no listen
 * asks for the first address it binds, whatever it is. It names it in
 * the address it binds its own end to before connecting (an abstract
 * name "pmd-bind/PID/N URL"), which pmd reads with getpeername(): the
 * request is there when the connection is, so nothing is read and
 * nothing waits here either. pmd binds the address for the app (as the
 * worker's user: listen_learn), or finds the socket it holds, and answers
 * "pmd N I" with the app's N sockets, the one asked for at index I; or
 * "err ERRNO" when the bind fails, which the worker's bind() returns.
 * A worker of an app with listen asks the same way for "tcp://[::]:PORT"
 * when it binds that on a dual-stack socket where the app's address is
 * tcp://0.0.0.0:PORT, so that its socket keeps its family (listen_widen).
 */
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmd.h"

#define HANDOFF_MAX	16	/* sockets one message carries */
#define REFUSED_MAX	256	/* strangers a second before a pause */
#define REFUSE_PAUSE	0.05	/* seconds */
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD	77
#endif

static ev_io	 handoff_w = { .fd = -1 };
static ev_timer	 pause_w;
static double	 refused_at;	/* mono_now() of the second counted */
static unsigned	 refused;
static char	*handoff_sock;	/* "@NAME", or NULL until opened */
static char	*library;	/* pmd-preload.so, or NULL: not found */
static char	*drain;		/* pmd-drain.js, or NULL */
static int	 library_looked;

/* The worker whose process group or session pid is in, or NULL. */
static struct worker *
handoff_worker(pid_t pid)
{
	struct app	*a;
	struct worker	*w;
	pid_t		 pgid = getpgid(pid), sid = getsid(pid);
	unsigned	 i;

	if (pgid == -1 && sid == -1)
		return NULL;
	TAILQ_FOREACH(a, &apps, entry) {
		if (a->nlisten == 0 && !listen_shares_binds(a))
			continue;
		for (i = 0; i <= a->nworkers; i++) {
			w = i < a->nworkers ? a->workers[i] : rolling_fresh(a);
			if (w != NULL && w->pid > 0 &&
			    (w->pid == pgid || w->pid == sid))
				return w;
		}
	}
	return NULL;
}

/* The app's sockets to s; index: the one asked for (-1: no request). */
static void
handoff_send(int s, struct worker *w, int index)
{
	struct app	*a = w->app;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(HANDOFF_MAX * sizeof(int))];
	}		 cbuf;
	struct msghdr	 msg;
	struct cmsghdr	*cm;
	char		 line[32];
	struct iovec	 iov;
	size_t		 n = a->nlisten < HANDOFF_MAX ? a->nlisten : HANDOFF_MAX;

	if (index >= (int)n)
		return;		/* past what one message carries: its own */
	if (index >= 0)
		snprintf(line, sizeof line, "pmd %zu %d\n", n, index);
	else
		snprintf(line, sizeof line, "pmd %zu\n", n);
	iov.iov_base = line;
	iov.iov_len = strlen(line);
	memset(&msg, 0, sizeof msg);
	memset(&cbuf, 0, sizeof cbuf);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = CMSG_SPACE(n * sizeof(int));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(cm), listen_sockets(a, w->instance), n * sizeof(int));
	if (sendmsg(s, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) == -1)
		log_warn("%s:%u: cannot hand the listening sockets over: %s",
		    a->name, w->instance, strerror(errno));
}

/* Whether an app with listen (or listen_share) runs its workers as uid. */
static int
uid_runs_listen_app(uid_t uid)
{
	struct app	*a;

	TAILQ_FOREACH(a, &apps, entry) {
		if ((a->nlisten > 0 || listen_shares_binds(a)) &&
		    (a->cfg->user != NULL ? a->cfg->uid : geteuid()) == uid)
			return 1;
	}
	return 0;
}

/*
 * The address a listen_share worker asks for, from the name its end of s
 * is bound to ("pmd-bind/PID/N URL"); NULL: none (a plain handoff).
 */
static char *
share_request(int s)
{
	struct sockaddr_un	sun;
	socklen_t		len = sizeof sun;
	const char		*sp;
	char			name[sizeof sun.sun_path];
	size_t			n;

	memset(&sun, 0, sizeof sun);
	if (getpeername(s, (struct sockaddr *)&sun, &len) == -1 ||
	    len <= offsetof(struct sockaddr_un, sun_path) + 1 ||
	    sun.sun_path[0] != '\0')
		return NULL;
	n = len - offsetof(struct sockaddr_un, sun_path) - 1;
	memcpy(name, sun.sun_path + 1, n);
	name[n] = '\0';
	if (strncmp(name, "pmd-bind/", 9) != 0 ||
	    (sp = strchr(name, ' ')) == NULL)
		return NULL;
	return xstrdup(sp + 1);
}

/* A listen_share worker's request for url: its socket, or why not. */
static void
share_serve(int s, struct worker *w, const char *url, pid_t pid)
{
	struct app	*a = w->app;
	char		*cause = NULL, line[32];
	int		 i;

	if (!listen_shares_binds(a))
		return;		/* closed: its own bind, as without pmd */
	if (url_check(url, &cause) == -1) {
		log_warn("%s:%u: pid %ld asked for %s", a->name, w->instance,
		    (long)pid, cause);
		free(cause);
		return;
	}
	if ((i = listen_learn(a, url, w->instance, &cause)) == -1) {
		snprintf(line, sizeof line, "err %d\n", errno ? errno :
		    EADDRINUSE);
		log_warn("%s:%u: pid %ld binds %s: %s", a->name, w->instance,
		    (long)pid, url, cause);
		free(cause);
		(void)send(s, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
		return;
	}
	handoff_send(s, w, i);
	worker_listening(w, pid);
}

/*
 * A worker of an app with listen binds [::]:PORT on a dual-stack socket
 * (its request "tcp://[::]:PORT"): the app's sockets, with the index of
 * the one on that port, made [::] first if it was 0.0.0.0 (listen_widen).
 */
static void
widen_serve(int s, struct worker *w, const char *url, pid_t pid)
{
	unsigned	port;
	char		tail;
	int		i;

	if (sscanf(url, "tcp://[::]:%u%c", &port, &tail) != 1 || port == 0 ||
	    port > 65535 || w->app->nlisten == 0)
		return;		/* closed: the worker binds as it can */
	if ((i = listen_widen(w->app, w, (unsigned short)port)) == -1)
		return;
	handoff_send(s, w, i);
	worker_listening(w, pid);
}

/* Whether the process behind pidfd (-1: not known) is still there. */
static int
peer_alive(int pidfd)
{
	return pidfd == -1 ||
	    syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0;
}

static void
pause_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t; (void)revents;
	ev_io_start(loop, &handoff_w);
}

/* One more stranger: past REFUSED_MAX in a second, a pause. */
static int
refuse(void)
{
	double	now = mono_now();

	if (now - refused_at >= 1.0) {
		refused_at = now;
		refused = 0;
	}
	if (++refused < REFUSED_MAX)
		return 0;
	ev_io_stop(pmd_loop, &handoff_w);
	ev_timer_set(&pause_w, REFUSE_PAUSE, 0);
	ev_timer_start(pmd_loop, &pause_w);
	return 1;
}

static void
handoff_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct ucred	 cred;
	socklen_t	 len;
	struct worker	*w;
	char		*url;
	int		 s, k, pidfd;

	(void)loop; (void)revents;
	/* A few per turn: a flood of them must not hold the loop. */
	for (k = 0; k < 16; k++) {
		s = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (s == -1)
			return;
		len = sizeof cred;
		if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
		    !uid_runs_listen_app(cred.uid)) {
			close(s);
			if (refuse())
				return;
			continue;
		}
		len = sizeof pidfd;
		if (getsockopt(s, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == -1)
			pidfd = -1;
		if ((w = handoff_worker(cred.pid)) != NULL &&
		    peer_alive(pidfd)) {
			if ((url = share_request(s)) != NULL) {
				if (w->app->cfg->listen != NULL)
					widen_serve(s, w, url, cred.pid);
				else
					share_serve(s, w, url, cred.pid);
				free(url);
			} else if (w->app->nlisten > 0) {
				handoff_send(s, w, -1);
				worker_listening(w, cred.pid);
			}
		}
		if (pidfd != -1)
			close(pidfd);
		close(s);
	}
}

/*
 * pmctl update: the socket of the pmd before this one (fd, its name), so
 * that workers started before keep reaching it. Before the loop runs.
 */
void
handoff_adopt(int fd, const char *name)
{
	ev_io_init(&handoff_w, handoff_cb, fd, EV_READ);
	ev_io_start(pmd_loop, &handoff_w);
	ev_init(&pause_w, pause_cb);
	handoff_sock = xstrdup(name);
}

/* The socket and its name, or -1 if none was opened (pmctl update). */
int
handoff_socket(const char **name)
{
	*name = handoff_sock;
	return handoff_sock != NULL ? handoff_w.fd : -1;
}

/* The handoff socket's name for PMD_LISTEN_SOCKET, opened on first use. */
static const char *
handoff_open(void)
{
	struct sockaddr_un	sun;
	socklen_t		len;
	unsigned		rnd;
	int			fd, tries;

	if (handoff_sock != NULL)
		return handoff_sock;
	for (tries = 0; tries < 8; tries++) {
		if (getentropy(&rnd, sizeof rnd) == -1)
			rnd = (unsigned)random();
		memset(&sun, 0, sizeof sun);
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path + 1, sizeof sun.sun_path - 1,
		    "pmd-listen/%ld/%08x", (long)getpid(), rnd);
		len = offsetof(struct sockaddr_un, sun_path) + 1 +
		    strlen(sun.sun_path + 1);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    0);
		if (fd == -1)
			break;
		if (bind(fd, (struct sockaddr *)&sun, len) == 0 &&
		    listen(fd, 64) == 0) {
			ev_io_init(&handoff_w, handoff_cb, fd, EV_READ);
			ev_io_start(pmd_loop, &handoff_w);
			ev_init(&pause_w, pause_cb);
			handoff_sock = xprintf("@%s", sun.sun_path + 1);
			return handoff_sock;
		}
		close(fd);
		if (errno != EADDRINUSE)
			break;
	}
	log_warn("cannot open the listen handoff socket: %s; workers bind "
	    "nothing themselves", strerror(errno));
	return NULL;
}

/* A file pmd ships for its workers, or NULL with a warning. */
static char *
shipped(const char *name)
{
	char	*path = shipped_file(name);

	if (path == NULL)
		log_warn("no %s/%s: workers that bind their app's listen "
		    "address themselves will find it taken", PMD_LIBDIR, name);
	return path;
}

static const char *
handoff_library(void)
{
	if (!library_looked) {
		library_looked = 1;
		library = shipped("pmd-preload.so");
		drain = shipped("pmd-drain.js");
	}
	return library;
}

/* One socket as PMD_LISTEN gives it: tcp://ADDR:PORT or unix:PATH. */
static char *
handoff_entry(int fd)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_un	*sun = (struct sockaddr_un *)&ss;
	socklen_t		 len = sizeof ss;
	char			 host[INET6_ADDRSTRLEN];

	memset(&ss, 0, sizeof ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return xstrdup("-");
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		return xprintf("tcp://%s:%u", host, ntohs(sin->sin_port));
	}
	if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
		return xprintf("tcp://[%s]:%u", host, ntohs(sin6->sin6_port));
	}
	if (ss.ss_family == AF_UNIX)
		return xprintf("unix:%.*s", (int)(len -
		    offsetof(struct sockaddr_un, sun_path)), sun->sun_path);
	return xstrdup("-");
}

/*
 * What a worker of a needs to bind through pmd: the library for
 * LD_PRELOAD, *listen for PMD_LISTEN (to free; "" for a listen_share app
 * with no address yet), *sock for PMD_LISTEN_SOCKET and *js, pmd-drain.js
 * for Node (or NULL). -1 when the app has no sockets and shares no binds,
 * listen_preload is off, or the library or the socket is missing.
 */
int
handoff_vars(const struct app *a, unsigned instance, const char **lib,
    char **listen, const char **sock, const char **js)
{
	const int	*fds = listen_sockets(a, instance);
	char	*e, *t;
	size_t	 i;

	if ((a->nlisten == 0 && !listen_shares_binds(a)) ||
	    !a->cfg->listen_preload)
		return -1;
	if ((*lib = handoff_library()) == NULL ||
	    (*sock = handoff_open()) == NULL)
		return -1;
	*js = drain;
	*listen = NULL;
	for (i = 0; i < a->nlisten; i++) {
		e = handoff_entry(fds[i]);
		if (*listen == NULL)
			t = e;
		else {
			t = xprintf("%s,%s", *listen, e);
			free(*listen);
			free(e);
		}
		*listen = t;
	}
	if (*listen == NULL)
		*listen = xstrdup("");
	return 0;
}
