/*
 * A worker for pmd's cluster-mode tests and bench: an HTTP/1.1 server on
 * the sockets pmd passes (LISTEN_FDS, fds 3..). Every answer is its pid.
 * On SIGTERM it drains, as a worker should: it stops accepting, answers
 * each connection's next request with "Connection: close" and closes it,
 * and exits when none is left (or after 10 s: closing a connection that
 * is idle could race a request the client is sending). Then it prints
 * how many connections and requests it served (for the bench).
 *
 * Environment: TESTSRV_READY=1 sends READY=1 to NOTIFY_SOCKET once
 * listening (TESTSRV_READY=never: never does); TESTSRV_EXIT=N exits N
 * at once instead of serving; TESTSRV_BALLAST_MB=N holds N MiB of memory
 * that it has written to (so that it is resident).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS	1024
#define MAX_LISTEN	16

struct conn {
	int	fd;
	size_t	len;
	char	buf[8192];
};

static volatile sig_atomic_t	draining;
static struct conn		*conns[MAX_CONNS];
static int			 nconns;
static unsigned long		 served, accepted;

static void
on_term(int sig)
{
	(void)sig;
	draining = 1;
}

static void
notify_ready(void)
{
	const char		*path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un	 sun;
	socklen_t		 len;
	int			 fd;

	if (path == NULL || strlen(path) >= sizeof sun.sun_path)
		return;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	sendto(fd, "STATUS=serving\nREADY=1", 22, 0, (struct sockaddr *)&sun,
	    len);
	close(fd);
}

static void
drop(int i)
{
	close(conns[i]->fd);
	free(conns[i]);
	conns[i] = conns[--nconns];
}

/* Answer every complete request in c; returns -1 once c must close. */
static int
serve(struct conn *c)
{
	char	 resp[256], body[32], *end;
	size_t	 used;
	int	 n, blen, close_after;

	while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) != NULL) {
		used = end + 4 - c->buf;
		close_after = draining ||
		    memmem(c->buf, used, "Connection: close", 17) != NULL;
		blen = snprintf(body, sizeof body, "%ld\n", (long)getpid());
		n = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\n"
		    "Content-Type: text/plain\r\nContent-Length: %d\r\n"
		    "Connection: %s\r\n\r\n%s", blen,
		    close_after ? "close" : "keep-alive", body);
		if (write(c->fd, resp, n) != n)
			return -1;
		served++;
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
		if (close_after)
			return -1;
	}
	return c->len == sizeof c->buf ? -1 : 0;
}

static char *volatile ballast;	/* kept, so the compiler keeps it */

int
main(void)
{
	struct pollfd		 pfd[MAX_LISTEN + MAX_CONNS];
	struct sigaction	 sa;
	const char		*s;
	int			 nlisten = 0, i, n, fd;
	time_t			 drain_start = 0;

	if ((s = getenv("TESTSRV_EXIT")) != NULL)
		return atoi(s);
	if ((s = getenv("TESTSRV_BALLAST_MB")) != NULL) {
		size_t	 len = (size_t)atoi(s) << 20;
		if ((ballast = malloc(len)) != NULL)
			memset(ballast, 1, len);
	}
	if ((s = getenv("LISTEN_PID")) == NULL || atol(s) != (long)getpid() ||
	    (s = getenv("LISTEN_FDS")) == NULL || (nlisten = atoi(s)) < 1 ||
	    nlisten > MAX_LISTEN) {
		fprintf(stderr, "testsrv: no sockets passed (LISTEN_PID, "
		    "LISTEN_FDS)\n");
		return 2;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < nlisten; i++)
		fcntl(3 + i, F_SETFL, O_NONBLOCK);
	if ((s = getenv("TESTSRV_READY")) != NULL && strcmp(s, "1") == 0)
		notify_ready();
	printf("testsrv %ld serving on %d socket(s)\n", (long)getpid(),
	    nlisten);
	fflush(stdout);
	for (;;) {
		if (draining && drain_start == 0) {
			drain_start = time(NULL);
			for (i = 0; i < nlisten; i++)
				close(3 + i);
			nlisten = 0;
		}
		if (draining && (nconns == 0 || time(NULL) - drain_start > 10))
			break;
		for (i = 0; i < nlisten; i++) {
			pfd[i].fd = 3 + i;
			pfd[i].events = POLLIN;
		}
		for (i = 0; i < nconns; i++) {
			pfd[nlisten + i].fd = conns[i]->fd;
			pfd[nlisten + i].events = POLLIN;
		}
		n = poll(pfd, nlisten + nconns, draining ? 100 : -1);
		if (n == -1 && errno == EINTR)
			continue;
		for (i = nconns - 1; i >= 0; i--) {
			struct conn *c = conns[i];
			ssize_t r;

			if (!(pfd[nlisten + i].revents & (POLLIN | POLLHUP |
			    POLLERR)))
				continue;
			r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
			if (r <= 0 || (c->len += r, serve(c) == -1))
				drop(i);
		}
		for (i = 0; i < nlisten && !draining; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			while (nconns < MAX_CONNS &&
			    (fd = accept4(3 + i, NULL, NULL, SOCK_CLOEXEC)) !=
			    -1) {
				conns[nconns] = calloc(1, sizeof *conns[0]);
				if (conns[nconns] == NULL) {
					close(fd);
					break;
				}
				conns[nconns++]->fd = fd;
				accepted++;
			}
		}
	}
	printf("testsrv %ld served %lu connections, %lu requests\n",
	    (long)getpid(), accepted, served);
	return 0;
}
