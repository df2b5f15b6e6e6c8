/*
 * Sockets by address: `listen = tcp://HOST:PORT, unix:PATH` bound with an
 * app's options (all or none, as the member when pmd acts for one), the
 * control socket's, SO_REUSEPORT groups for listen_balance, an instance's
 * sockets out of and back into their group, and the sticky filter.
 * listen.c holds an app's sockets made from these.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmd.h"

/* A unix socket path in the way: remove it if nobody listens there. */
static int
unix_clear(const struct sockaddr_un *sun, char **cause)
{
	struct stat	st;
	int		fd, e;

	if (lstat(sun->sun_path, &st) == -1)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		*cause = xstrdup("the path exists and is not a socket");
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	e = connect(fd, (const struct sockaddr *)sun, sizeof *sun) == 0 ?
	    0 : errno;
	close(fd);
	if (e == 0) {
		*cause = xstrdup("another process listens there");
		return -1;
	}
	if (e == ECONNREFUSED)
		unlink(sun->sun_path);
	return 0;
}

/*
 * A listening stream socket (close-on-exec) at sa, or -1 with *cause. A
 * unix socket is made with mode from the start (never more open), over a
 * stale socket file but not over anything else; TCP gets SO_REUSEADDR.
 * Shared by the control socket and the apps' listen sockets.
 */
int
sock_listen(const struct sockaddr *sa, socklen_t len, mode_t mode,
    int backlog, char **cause)
{
	return sock_listen_opt(sa, len, mode, backlog, 0, cause);
}

/*
 * [::] takes IPv4 too, whatever net.ipv6.bindv6only says, as Node's and
 * libuv's do: IPV6_V6ONLY off before the bind.
 */
static void
dual_stack(int fd, const struct sockaddr *sa)
{
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){ 0 },
		    sizeof(int));
}

/* Whether a TCP bind to sa fails (errno set), as one without SO_REUSEPORT. */
static int
addr_taken(const struct sockaddr *sa, socklen_t len)
{
	int	fd, on = 1, e;

	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;	/* the real socket() says why */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	dual_stack(fd, sa);
	e = bind(fd, sa, len) == -1 ? errno : 0;
	close(fd);
	errno = e;
	return e != 0;
}

/*
 * The same; with reuseport, SO_REUSEPORT (TCP), for a balanced group.
 * REUSEPORT_FIRST begins a group: an address that another socket holds
 * fails with EADDRINUSE, as it would without SO_REUSEPORT, instead of
 * joining that socket's group.
 */
int
sock_listen_opt(const struct sockaddr *sa, socklen_t len, mode_t mode,
    int backlog, int reuseport, char **cause)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)sa;
	const char		*step;
	mode_t			 old;
	int			 fd = -1, on = 1, e;

	if (sa->sa_family == AF_UNIX && unix_clear(sun, cause) == -1)
		return -1;
	if (reuseport == REUSEPORT_FIRST && addr_taken(sa, len)) {
		step = "bind";
		goto fail;
	}
	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		step = "socket";
		goto fail;
	}
	if (sa->sa_family != AF_UNIX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	dual_stack(fd, sa);
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
	    sizeof on) == -1) {
		step = "SO_REUSEPORT";
		goto fail;
	}
	old = umask(~mode & 0777);
	e = bind(fd, sa, len);
	umask(old);
	if (e == -1) {
		step = "bind";
		goto fail;
	}
	if (listen(fd, backlog) == -1) {
		step = "listen";
		goto fail;
	}
	return fd_high(fd);

fail:
	*cause = xprintf("%s: %s", step, strerror(errno));
	if (fd != -1) {
		close(fd);
		if (sa->sa_family == AF_UNIX && strcmp(step, "bind") != 0)
			unlink(sun->sun_path);
	}
	return -1;
}

static int
listen_one(const char *url, const struct app_config *cfg, int balanced,
    int first, int *fdp, char **cause)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			*why;
	int			 e;

	if (url_sockaddr(url, &ss, &len, cause) == -1)
		return -1;
	*fdp = sock_listen_opt((struct sockaddr *)&ss, len, cfg->listen_mode,
	    (int)cfg->listen_backlog, !balanced ? 0 :
	    first ? REUSEPORT_FIRST : REUSEPORT_JOIN, &why);
	if (*fdp == -1) {
		e = errno;
		*cause = xprintf("listen %s: %s", url, why);
		free(why);
		errno = e;
		return -1;
	}
	/* Accepted connections inherit it: no Nagle delay on replies. */
	if (cfg->listen_nodelay && ss.ss_family != AF_UNIX &&
	    setsockopt(*fdp, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 },
	    sizeof(int)) == -1) {
		*cause = xprintf("listen %s: TCP_NODELAY: %s", url,
		    strerror(errno));
		close(*fdp);
		return -1;
	}
	return 0;
}

/*
 * Whether wide is tcp://[::]:PORT and url tcp://0.0.0.0:PORT, the same
 * port: the address listen_widen makes of url.
 */
int
url_widens(const char *url, const char *wide)
{
	struct sockaddr_storage	 a, b;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&a;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&b;
	socklen_t		 len;
	char			*cause = NULL;

	if (url_sockaddr(url, &a, &len, &cause) == -1 ||
	    url_sockaddr(wide, &b, &len, &cause) == -1) {
		free(cause);
		return 0;
	}
	return a.ss_family == AF_INET && sin->sin_addr.s_addr == INADDR_ANY &&
	    b.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr) &&
	    sin->sin_port == sin6->sin6_port;
}

/*
 * Whether every one of urls is an address of cfg's listen, or one
 * listen_widen made of it: the config's choice, not a worker's.
 */
static int
config_urls(const struct app_config *cfg, char *const *urls)
{
	size_t	 i, j;
	int	 found;

	if (urls == cfg->listen)
		return 1;
	for (i = 0; urls[i] != NULL; i++) {
		found = 0;
		for (j = 0; cfg->listen != NULL && cfg->listen[j] != NULL; j++)
			found |= strcmp(cfg->listen[j], urls[i]) == 0 ||
			    url_widens(cfg->listen[j], urls[i]);
		if (!found)
			return 0;
	}
	return 1;
}

/*
 * Bind a socket for each of urls (cfg->listen, or the addresses an app's
 * workers bound: app.c) with cfg's options into *fds (a new array of *n);
 * all or none. Balanced, first says they begin their groups (no other
 * instance of the app holds any). Returns -1 with *cause naming the URL
 * that failed, and errno as the failed call left it.
 */
int
listen_open(const struct app_config *cfg, char *const *urls, int **fds,
    size_t *n, int first, char **cause)
{
	struct creds	 member, saved;
	size_t		 i, count = argv_count(urls);
	int		*out, as_member, balanced, rc = 0, e = 0;

	*fds = NULL;
	*n = 0;
	if (count == 0)
		return 0;
	/*
	 * A group member's sockets are made as the member: the kernel then
	 * lets only its uid join their SO_REUSEPORT groups, as if it had
	 * bound them itself, and never root's into them. So are the
	 * addresses a worker chose (urls not of cfg->listen): a port it may
	 * not bind, pmd does not bind for it.
	 */
	as_member = cfg->user != NULL && geteuid() == 0 &&
	    (cfg->owner != OWNER_NONE || !config_urls(cfg, urls));
	if (as_member && creds_of(cfg->user, cfg->uid, cfg->gid, &member,
	    cause) == -1)
		return -1;
	if (as_member && creds_enter(&member, &saved) == -1) {
		*cause = xprintf("listen: cannot act as %s: %s", cfg->user,
		    strerror(errno));
		return -1;
	}
	balanced = listen_balanced_urls(cfg, urls);
	out = xcalloc(count, sizeof *out);
	for (i = 0; i < count && rc == 0; i++) {
		if ((rc = listen_one(urls[i], cfg, balanced, first, &out[i],
		    cause)) == -1) {
			e = errno;
			listen_close(urls, out, i);
		}
	}
	if (as_member)
		creds_leave(&saved);
	if (rc == -1) {
		errno = e;
		return -1;
	}
	*fds = out;
	*n = count;
	return 0;
}

/* Close the n sockets of fds (bound from urls) and remove unix paths. */
void
listen_close(char *const *urls, int *fds, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		close(fds[i]);
		if (strncmp(urls[i], "unix:", 5) == 0)
			unlink(urls[i] + 5);
	}
	free(fds);
}

/* net.ipv4.tcp_migrate_req: a closed listener's queue goes to its group. */
static int
migrate_req(void)
{
	char	c = '0';
	int	fd;

	if ((fd = open("/proc/sys/net/ipv4/tcp_migrate_req",
	    O_RDONLY | O_CLOEXEC)) != -1) {
		if (read(fd, &c, 1) != 1)
			c = '0';
		close(fd);
	}
	return c == '1';
}

/*
 * Whether connections wait on listening socket fd (or it cannot say): a
 * shutdown would reset them.
 */
int
listen_queued(int fd)
{
	struct tcp_info	ti;
	socklen_t	len = sizeof ti;

	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1 ||
	    ti.tcpi_unacked > 0;	/* for a listener: its queue */
}

/*
 * Take a balanced instance's n sockets out of their SO_REUSEPORT groups
 * (shutdown of a listener) while they stay bound, so that the kernel gives
 * new connections to the other instances; listen_resume() puts them back.
 * A listener's queue is reset when it leaves, or moved to the group where
 * net.ipv4.tcp_migrate_req is 1: without that, only sockets with nothing
 * queued leave. Returns 1 if they left.
 */
int
listen_pause(const int *fds, size_t n)
{
	size_t	i;

	if (!migrate_req()) {
		for (i = 0; i < n; i++) {
			if (listen_queued(fds[i]))
				return 0;
		}
	}
	for (i = 0; i < n; i++)
		shutdown(fds[i], SHUT_RD);
	return 1;
}

/*
 * The sockets of urls paused by listen_pause() listen again; -1 with
 * *cause.
 */
int
listen_resume(const struct app_config *cfg, char *const *urls,
    const int *fds, size_t n, char **cause)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (listen(fds[i], (int)cfg->listen_backlog) == -1) {
			*cause = xprintf("listen %s: %s", urls[i],
			    strerror(errno));
			return -1;
		}
	}
	return 0;
}

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF	51
#endif

/*
 * listen_balance = sticky: the SO_REUSEPORT group of fd, n sockets, gives
 * each connection to the socket a hash of the client's address picks, so
 * that a client always reaches the same instance while the group is the
 * same. A classic BPF program, which needs no privilege: the source
 * address (IPv4, or the four words of IPv6 xored), multiplied by the
 * golden ratio, its high half folded into the low, modulo n. The kernel
 * runs it on the SYN; the group keeps an instance's socket across its
 * restarts and reloads, so they move no client.
 */
int
listen_sticky(int fd, unsigned n, char **cause)
{
	struct sock_filter	code[] = {
		/* The IP version: the high nibble of the first byte. */
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, (unsigned)SKF_NET_OFF),
		BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 4),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 6, 0, 11),
		/* IPv6: the source at 8..23. */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (unsigned)SKF_NET_OFF + 8),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (unsigned)SKF_NET_OFF + 12),
		BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (unsigned)SKF_NET_OFF + 16),
		BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (unsigned)SKF_NET_OFF + 20),
		BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		BPF_JUMP(BPF_JMP | BPF_JA, 1, 0, 0),
		/* IPv4: the source at 12. */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (unsigned)SKF_NET_OFF + 12),
		/* The hash. */
		BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 0x9e3779b1U),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
		BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct sock_fprog	prog = { sizeof code / sizeof code[0], code };

	if (n == 0)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog,
	    sizeof prog) == -1) {
		*cause = xprintf("listen_balance = sticky: the kernel refuses "
		    "the reuseport filter that picks an instance by client "
		    "address (SO_ATTACH_REUSEPORT_CBPF: %s)", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Whether sockets for urls with cfg's options are one per instance:
 * balanced, or auto with tcp:// addresses only (a unix socket cannot be
 * balanced).
 */
int
listen_balanced_urls(const struct app_config *cfg, char *const *urls)
{
	size_t	i;

	if (cfg->listen_balance == LISTEN_SHARED)
		return 0;
	if (cfg->listen_balance == LISTEN_AUTO) {
		for (i = 0; urls != NULL && urls[i] != NULL; i++) {
			if (strncmp(urls[i], "unix:", 5) == 0)
				return 0;
		}
	}
	return 1;
}

/* The same for cfg's own listen. */
int
listen_balanced(const struct app_config *cfg)
{
	return listen_balanced_urls(cfg, cfg->listen);
}

/* Whether a and b listen on the same URLs, in the same order, alike. */
int
listen_same(const struct app_config *a, const struct app_config *b)
{
	size_t	i, n = argv_count(a->listen);

	/* An option set when the socket is made needs a new socket. */
	if (n != argv_count(b->listen) || (n > 0 &&
	    (a->listen_nodelay != b->listen_nodelay ||
	    a->listen_balance != b->listen_balance)))
		return 0;
	for (i = 0; i < n; i++) {
		if (strcmp(a->listen[i], b->listen[i]) != 0)
			return 0;
	}
	return 1;
}
