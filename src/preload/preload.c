/*
 * pmd-preload.so: loaded into the workers of an app with listen (through
 * LD_PRELOAD), so that a program which binds the app's address itself, as
 * an unchanged `server.listen(3000)` does, gets pmd's listening socket in
 * place of EADDRINUSE, and every instance shares the port.
 *
 * pmd describes the app's sockets in PMD_LISTEN (tcp://ADDR:PORT and
 * unix:PATH, comma-separated, in the order of fds 3..) and names its hand-
 * off socket in PMD_LISTEN_SOCKET (@NAME: an abstract unix socket). When
 * bind() is asked for one of those addresses, the library connects there;
 * pmd checks that the caller belongs to one of the app's workers (its
 * process group or session), sends the sockets with SCM_RIGHTS and counts
 * the worker as online. The socket pmd sent takes the place of the
 * caller's, under the same fd number. A listen() on one of pmd's sockets
 * that the program inherited (fd 3 of the socket-activation protocol) is
 * reported the same way. Everything else passes straight to libc: other
 * addresses, datagram sockets, processes pmd does not know, programs run
 * without PMD_LISTEN. An unlink() of a unix socket pmd holds is skipped,
 * since the path is pmd's, not the worker's.
 *
 * With PMD_LISTEN_SHARE (listen_share: an app of several instances with no
 * listen), the first TCP or unix stream address the program binds is
 * asked of pmd whatever it is: the library binds its end of the handoff
 * connection to the name "pmd-bind/PID/N URL", pmd binds the address for
 * the app (or finds the socket it holds) and sends the app's sockets with
 * the index of the one asked for, or "err ERRNO", which bind() returns.
 * Later binds of other addresses go to libc. A program that binds [::]
 * on a dual-stack socket where pmd holds 0.0.0.0 asks the same way for
 * tcp://[::]:PORT, so that the socket it gets is of its own family.
 *
 * The library shares the process with the program, so it keeps to itself:
 * only bind, listen, unlink, unlinkat and remove are visible, nothing is
 * allocated, and errno is left as the program expects.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PUBLIC		__attribute__((visibility("default")))
#define MAX_SOCKETS	16

/* One of pmd's sockets, as PMD_LISTEN gives it. */
struct entry {
	int			 family;	/* AF_INET, AF_INET6, AF_UNIX */
	unsigned short		 port;		/* host order */
	union {
		struct in_addr	 v4;
		struct in6_addr	 v6;
	}			 addr;
	char			 path[sizeof ((struct sockaddr_un *)0)->sun_path];
};

static int	(*real_bind)(int, const struct sockaddr *, socklen_t);
static int	(*real_listen)(int, int);
static int	(*real_unlink)(const char *);
static int	(*real_unlinkat)(int, const char *, int);
static int	(*real_remove)(const char *);

/* The inodes of the sockets pmd sent: listen() on them changes nothing. */
static ino_t	handed[MAX_SOCKETS];
static int	announced;
static int	shared_once;	/* PMD_LISTEN_SHARE: the first bind asked */

static void *
next(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

/* Parse one entry of PMD_LISTEN, [s, end). */
static int
entry_parse(const char *s, size_t len, struct entry *e)
{
	char	buf[256], *colon, *host;

	if (len >= sizeof buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(e, 0, sizeof *e);
	if (strncmp(buf, "unix:", 5) == 0) {
		if (len - 5 >= sizeof e->path)
			return -1;
		e->family = AF_UNIX;
		strcpy(e->path, buf + 5);
		return 0;
	}
	if (strncmp(buf, "tcp://", 6) != 0 ||
	    (colon = strrchr(buf, ':')) == NULL)
		return -1;
	*colon = '\0';
	e->port = (unsigned short)atoi(colon + 1);
	host = buf + 6;
	if (*host == '[') {
		host++;
		if (colon[-1] != ']')
			return -1;
		colon[-1] = '\0';
		e->family = AF_INET6;
		return inet_pton(AF_INET6, host, &e->addr.v6) == 1 ? 0 : -1;
	}
	e->family = AF_INET;
	return inet_pton(AF_INET, host, &e->addr.v4) == 1 ? 0 : -1;
}

static int
wildcard(int family, const void *addr)
{
	if (family == AF_INET)
		return ((const struct in_addr *)addr)->s_addr == INADDR_ANY;
	return IN6_IS_ADDR_UNSPECIFIED((const struct in6_addr *)addr);
}

/*
 * Whether entry e is the socket asked for: the unix path, or the TCP
 * address of family at port (exact 0: where either side is a wildcard).
 */
static int
entry_is(const struct entry *e, int family, const void *addr,
    unsigned short port, const char *path, int exact)
{
	if (addr == NULL)
		return e->family == AF_UNIX && strcmp(e->path, path) == 0;
	if (e->family == AF_UNIX || e->port != port || port == 0)
		return 0;
	if (e->family == family && memcmp(&e->addr, addr, e->family ==
	    AF_INET ? sizeof e->addr.v4 : sizeof e->addr.v6) == 0)
		return 1;
	return !exact && (wildcard(e->family, &e->addr) ||
	    wildcard(family, addr));
}

/*
 * Which of pmd's sockets sa asks for: the same address, else (exact 0) a
 * TCP one on the same port where either side is a wildcard (Node and
 * Python bind [::] where pmd may hold 0.0.0.0). -1: none.
 */
static int
entry_find(const struct sockaddr *sa, socklen_t len, int exact,
    struct entry *found)
{
	const char			*spec = getenv("PMD_LISTEN"), *end;
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_un	*sun = (const struct sockaddr_un *)sa;
	struct entry			 e;
	char				 path[sizeof sun->sun_path];
	const void			*addr;
	unsigned short			 port;
	int				 i;

	if (spec == NULL || sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET && len >= sizeof *sin) {
		addr = &sin->sin_addr;
		port = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6 && len >= sizeof *sin6) {
		addr = &sin6->sin6_addr;
		port = ntohs(sin6->sin6_port);
	} else if (sa->sa_family == AF_UNIX &&
	    len > offsetof(struct sockaddr_un, sun_path) &&
	    sun->sun_path[0] != '\0') {
		addr = NULL;
		port = 0;
		len -= offsetof(struct sockaddr_un, sun_path);
		if (len >= sizeof path)
			len = sizeof path - 1;
		memcpy(path, sun->sun_path, len);
		path[len] = '\0';
	} else
		return -1;
	for (i = 0; *spec != '\0' && i < MAX_SOCKETS; i++) {
		end = strchr(spec, ',');
		if (end == NULL)
			end = spec + strlen(spec);
		if (entry_parse(spec, end - spec, &e) == 0 &&
		    entry_is(&e, sa->sa_family, addr, port, path, exact)) {
			if (found != NULL)
				*found = e;
			return i;
		}
		spec = *end == ',' ? end + 1 : end;
	}
	return -1;
}

static int
entry_match(const struct sockaddr *sa, socklen_t len, struct entry *found)
{
	int	i;

	if ((i = entry_find(sa, len, 1, found)) == -1)
		i = entry_find(sa, len, 0, found);
	return i;
}

/*
 * Whether fd, bound to sa, is a dual-stack socket on the IPv6 wildcard
 * (IPV6_V6ONLY off: Node's server.listen(PORT)) where pmd's socket e is
 * IPv4's: then pmd is asked for [::]:PORT, so that the socket the program
 * gets keeps its family and takes IPv6 as its own would.
 */
static int
widens(int fd, const struct sockaddr *sa, socklen_t len,
    const struct entry *e)
{
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)sa;
	socklen_t			 olen = sizeof(int);
	int				 v6only = 1;

	return sa->sa_family == AF_INET6 && len >= sizeof *sin6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr) &&
	    e->family == AF_INET && wildcard(AF_INET, &e->addr) &&
	    getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &olen) == 0 &&
	    v6only == 0;
}

/*
 * Ask pmd for the app's sockets: their number, the fds in fds. Connecting
 * is also what tells pmd the worker listens. With url (listen_share), pmd
 * binds it if it must and *index is its place among them. -1 if pmd does
 * not answer or sends none (not one of its workers), -2 with errno if it
 * refuses url.
 */
static int
handoff(int *fds, const char *url, int *index)
{
	static unsigned		 asked;
	const char		*name = getenv("PMD_LISTEN_SOCKET");
	struct sockaddr_un	 sun;
	struct timeval		 tv = { 5, 0 };
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(MAX_SOCKETS * sizeof(int))];
	}			 cbuf;
	struct msghdr		 msg;
	struct cmsghdr		*cm;
	char			 byte[64];
	struct iovec		 iov = { byte, sizeof byte - 1 };
	ssize_t			 r;
	int			 s, n = 0, k, e, want = -1;
	socklen_t		 len;

	if (name == NULL || name[0] != '@' ||
	    strlen(name) >= sizeof sun.sun_path)
		return -1;
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (url != NULL) {
		/* The request: the name of this end, which pmd reads. */
		memset(&sun, 0, sizeof sun);
		sun.sun_family = AF_UNIX;
		k = snprintf(sun.sun_path + 1, sizeof sun.sun_path - 1,
		    "pmd-bind/%ld/%u %s", (long)getpid(),
		    __atomic_fetch_add(&asked, 1, __ATOMIC_RELAXED), url);
		if (k < 0 || (size_t)k >= sizeof sun.sun_path - 1 ||
		    bind(s, (struct sockaddr *)&sun, (socklen_t)(offsetof(
		    struct sockaddr_un, sun_path) + 1 + k)) == -1) {
			close(s);
			return -1;
		}
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path + 1, name + 1, strlen(name + 1));
	len = offsetof(struct sockaddr_un, sun_path) + strlen(name);
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (connect(s, (struct sockaddr *)&sun, len) == -1) {
		close(s);
		return -1;
	}
	memset(&msg, 0, sizeof msg);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof cbuf.buf;
	do
		r = recvmsg(s, &msg, MSG_CMSG_CLOEXEC);
	while (r == -1 && errno == EINTR);
	close(s);
	if (r <= 0)
		return -1;
	byte[r] = '\0';
	for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS) {
			n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(fds, CMSG_DATA(cm), n * sizeof(int));
		}
	}
	if (url != NULL && sscanf(byte, "err %d", &e) == 1) {
		for (k = 0; k < n; k++)
			close(fds[k]);
		errno = e > 0 ? e : EADDRINUSE;
		return -2;
	}
	if (url != NULL && (sscanf(byte, "pmd %d %d", &k, &want) != 2 ||
	    want < 0 || want >= n)) {
		for (k = 0; k < n; k++)
			close(fds[k]);
		return -1;
	}
	if (index != NULL)
		*index = want;
	__atomic_store_n(&announced, 1, __ATOMIC_RELAXED);
	return n > 0 ? n : -1;
}

/*
 * sa as PMD_LISTEN writes it, into buf: a TCP address with a port, or an
 * absolute unix path. -1 for anything else (port 0, abstract, relative).
 */
static int
url_of(const struct sockaddr *sa, socklen_t len, char *buf, size_t size)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_un	*sun = (const struct sockaddr_un *)sa;
	char				 host[INET6_ADDRSTRLEN];
	size_t				 n;
	int				 k;

	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET && len >= sizeof *sin &&
	    sin->sin_port != 0) {
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		k = snprintf(buf, size, "tcp://%s:%u", host,
		    ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6 && len >= sizeof *sin6 &&
	    sin6->sin6_port != 0) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
		k = snprintf(buf, size, "tcp://[%s]:%u", host,
		    ntohs(sin6->sin6_port));
	} else if (sa->sa_family == AF_UNIX &&
	    len > offsetof(struct sockaddr_un, sun_path) &&
	    sun->sun_path[0] == '/') {
		n = len - offsetof(struct sockaddr_un, sun_path);
		if (n > sizeof sun->sun_path)
			n = sizeof sun->sun_path;
		n = strnlen(sun->sun_path, n);
		k = snprintf(buf, size, "unix:%.*s", (int)n, sun->sun_path);
	} else
		return -1;
	return k > 0 && (size_t)k < size ? 0 : -1;
}

/*
 * The options a program sets on its listening socket before bind, which
 * the connections it accepts inherit: copied from its own socket to
 * pmd's, which takes its place. (Every instance runs the same program,
 * so they set the same.)
 */
static const struct {
	int	level;
	int	name;
} kept_options[] = {
	{ SOL_SOCKET, SO_KEEPALIVE },
	{ IPPROTO_TCP, TCP_NODELAY },
	{ IPPROTO_TCP, TCP_KEEPIDLE },
	{ IPPROTO_TCP, TCP_KEEPINTVL },
	{ IPPROTO_TCP, TCP_KEEPCNT },
	{ IPPROTO_TCP, TCP_DEFER_ACCEPT },
	{ IPPROTO_TCP, TCP_USER_TIMEOUT },
};

static void
options_copy(int from, int to)
{
	socklen_t	len;
	size_t		i;
	int		v;

	for (i = 0; i < sizeof kept_options / sizeof kept_options[0]; i++) {
		len = sizeof v;
		if (getsockopt(from, kept_options[i].level,
		    kept_options[i].name, &v, &len) == 0)
			setsockopt(to, kept_options[i].level,
			    kept_options[i].name, &v, len);
	}
}

static int
sock_type(int fd)
{
	int		type = -1;
	socklen_t	len = sizeof type;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1)
		return -1;
	return type;
}

/* fds[i] in place of the caller's fd, with its flags and options. */
static int
take(int fd, int *fds, int n, int i)
{
	struct stat	st;
	int		fdflags, flflags, k, rc = 0;

	fdflags = fcntl(fd, F_GETFD);
	flflags = fcntl(fd, F_GETFL);
	options_copy(fd, fds[i]);
	if (dup3(fds[i], fd, (fdflags & FD_CLOEXEC) ? O_CLOEXEC : 0) == -1)
		rc = -1;
	else {
		if (flflags != -1)
			fcntl(fd, F_SETFL, flflags);
		if (fstat(fd, &st) == 0) {
			for (k = 0; k < MAX_SOCKETS; k++) {
				if (handed[k] == 0 || handed[k] == st.st_ino) {
					handed[k] = st.st_ino;
					break;
				}
			}
		}
	}
	for (k = 0; k < n; k++)
		close(fds[k]);
	return rc;
}

/* listen_share: the first stream address bound goes to pmd. */
static int
share(int fd, const struct sockaddr *sa, socklen_t len, const char *url,
    int saved)
{
	int	fds[MAX_SOCKETS], n, i = -1;

	__atomic_store_n(&shared_once, 1, __ATOMIC_RELAXED);
	if ((n = handoff(fds, url, &i)) == -2)
		return -1;			/* errno: pmd's bind's */
	if (n == -1 || take(fd, fds, n, i) == -1) {
		errno = saved;
		return real_bind(fd, sa, len);
	}
	errno = saved;
	return 0;
}

PUBLIC int
bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct entry	e;
	int		fds[MAX_SOCKETS], n, i, k;
	int		saved = errno;
	char		url[160];

	if (real_bind == NULL)
		real_bind = next("bind");
	if (sock_type(fd) != SOCK_STREAM)
		return real_bind(fd, sa, len);
	if (getenv("PMD_LISTEN_SHARE") != NULL &&
	    !__atomic_load_n(&shared_once, __ATOMIC_RELAXED) &&
	    url_of(sa, len, url, sizeof url) == 0)
		return share(fd, sa, len, url, saved);
	if ((i = entry_match(sa, len, &e)) == -1)
		return real_bind(fd, sa, len);
	if (widens(fd, sa, len, &e) && url_of(sa, len, url, sizeof url) == 0)
		n = handoff(fds, url, &i);
	else
		n = handoff(fds, NULL, NULL);
	if (n < 0 || i >= n) {
		for (k = 0; k < n; k++)
			close(fds[k]);
		errno = saved;
		return real_bind(fd, sa, len);
	}
	if (take(fd, fds, n, i) == -1) {
		errno = saved;
		return real_bind(fd, sa, len);
	}
	errno = saved;
	return 0;
}

PUBLIC int
listen(int fd, int backlog)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof ss;
	struct stat		st;
	int			fds[MAX_SOCKETS], n, k, saved;

	if (real_listen == NULL)
		real_listen = next("listen");
	if (getenv("PMD_LISTEN") == NULL)
		return real_listen(fd, backlog);
	/* One pmd handed over: it listens already, with pmd's backlog. */
	if (fstat(fd, &st) == 0 && st.st_ino != 0) {
		for (k = 0; k < MAX_SOCKETS && handed[k] != 0; k++)
			if (handed[k] == st.st_ino)
				return 0;
	}
	if (real_listen(fd, backlog) == -1)
		return -1;
	saved = errno;
	/* One of pmd's sockets it inherited (fd 3..): tell pmd. */
	if (!__atomic_load_n(&announced, __ATOMIC_RELAXED) &&
	    getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    entry_find((struct sockaddr *)&ss, len, 1, NULL) != -1 &&
	    (n = handoff(fds, NULL, NULL)) > 0) {
		for (k = 0; k < n; k++)
			close(fds[k]);
	}
	errno = saved;
	return 0;
}

/* Whether path names one of pmd's unix sockets. */
static int
pmd_path(const char *path)
{
	struct sockaddr_un	sun;

	if (path == NULL || getenv("PMD_LISTEN") == NULL ||
	    strlen(path) >= sizeof sun.sun_path)
		return 0;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	return entry_find((struct sockaddr *)&sun, sizeof sun, 1, NULL) != -1;
}

PUBLIC int
unlink(const char *path)
{
	if (real_unlink == NULL)
		real_unlink = next("unlink");
	return pmd_path(path) ? 0 : real_unlink(path);
}

PUBLIC int
unlinkat(int dirfd, const char *path, int flags)
{
	/*
	 * libc's answer for NULL (EFAULT), not a crash here. libc declares
	 * path nonnull: through a volatile, the check is kept.
	 */
	const char *volatile p = path;

	if (real_unlinkat == NULL)
		real_unlinkat = next("unlinkat");
	if (p != NULL && p[0] == '/' && pmd_path(p))
		return 0;
	return real_unlinkat(dirfd, path, flags);
}

PUBLIC int
remove(const char *path)
{
	if (real_remove == NULL)
		real_remove = next("remove");
	return pmd_path(path) ? 0 : real_remove(path);
}
