/*
 * An app's listening sockets: `listen = tcp://HOST:PORT, unix:PATH`.
 * pmd binds each once, holds it for the app's lifetime (never accepting),
 * and every worker gets them as fds 3.. with LISTEN_FDS, as systemd's
 * socket activation does. Connections wait in the kernel's queue while no
 * worker accepts, so a restart or a reload drops none.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmd.h"

/* Where url points: a socket address, or why it is not one. */
static int
listen_addr(const char *url, struct sockaddr_storage *ss, socklen_t *len,
    char **cause)
{
	struct sockaddr_un	*sun = (struct sockaddr_un *)ss;
	struct addrinfo		 hints, *res;
	const char		*hp, *colon, *port;
	char			*host;
	int			 e;

	memset(ss, 0, sizeof *ss);
	if (strncmp(url, "unix:", 5) == 0) {
		if (url[5] != '/') {
			*cause = xprintf("\"%s\": the path after unix: must be "
			    "absolute", url);
			return -1;
		}
		if (strlen(url + 5) >= sizeof sun->sun_path) {
			*cause = xprintf("\"%s\": path longer than %zu bytes",
			    url, sizeof sun->sun_path - 1);
			return -1;
		}
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, url + 5);
		*len = sizeof *sun;
		return 0;
	}
	if (strncmp(url, "tcp://", 6) != 0) {
		*cause = xprintf("\"%s\": expected tcp://HOST:PORT, "
		    "tcp://[IPV6]:PORT or unix:/PATH", url);
		return -1;
	}
	hp = url + 6;
	if (*hp == '[') {
		colon = strchr(hp, ']');
		if (colon == NULL || colon[1] != ':')
			goto bad;
		host = xstrndup(hp + 1, colon - hp - 1);
		port = colon + 2;
	} else {
		colon = strrchr(hp, ':');
		if (colon == NULL)
			goto bad;
		host = xstrndup(hp, colon - hp);
		port = colon + 1;
	}
	if (*port == '\0' || strspn(port, "0123456789") != strlen(port) ||
	    strlen(port) > 5 || atoi(port) > 65535) {
		free(host);
		goto bad;
	}
	/* Numbers only: resolving a name could block the event loop. */
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	e = getaddrinfo(*host != '\0' ? host : NULL, port, &hints, &res);
	free(host);
	if (e != 0) {
		*cause = xprintf("\"%s\": the host must be an IPv4 or IPv6 "
		    "address (%s)", url, gai_strerror(e));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;

bad:
	*cause = xprintf("\"%s\": expected tcp://HOST:PORT with a port from 0 "
	    "to 65535", url);
	return -1;
}

/* Check a listen URL, for the config parser. */
int
listen_check(const char *url, char **cause)
{
	struct sockaddr_storage	ss;
	socklen_t		len;

	return listen_addr(url, &ss, &len, cause);
}

/* A unix socket path in the way: remove it if nobody listens there. */
static int
unix_clear(const char *url, const struct sockaddr_un *sun, char **cause)
{
	struct stat	st;
	int		fd, e;

	if (lstat(sun->sun_path, &st) == -1)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		*cause = xprintf("listen %s: the path exists and is not a "
		    "socket", url);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	e = connect(fd, (const struct sockaddr *)sun, sizeof *sun) == 0 ?
	    0 : errno;
	close(fd);
	if (e == 0) {
		*cause = xprintf("listen %s: another process listens there",
		    url);
		return -1;
	}
	if (e == ECONNREFUSED)
		unlink(sun->sun_path);
	return 0;
}

static int
listen_one(const char *url, const struct app_config *cfg, int *fdp,
    char **cause)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd, on = 1;
	const char		*step;

	if (listen_addr(url, &ss, &len, cause) == -1)
		return -1;
	if (ss.ss_family == AF_UNIX &&
	    unix_clear(url, (struct sockaddr_un *)&ss, cause) == -1)
		return -1;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		step = "socket";
		goto fail;
	}
	if (ss.ss_family != AF_UNIX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	if (bind(fd, (struct sockaddr *)&ss, len) == -1) {
		step = "bind";
		goto fail;
	}
	if (ss.ss_family == AF_UNIX &&
	    chmod(((struct sockaddr_un *)&ss)->sun_path, cfg->listen_mode) ==
	    -1) {
		step = "chmod";
		goto fail;
	}
	if (listen(fd, (int)cfg->listen_backlog) == -1) {
		step = "listen";
		goto fail;
	}
	*fdp = fd;
	return 0;

fail:
	*cause = xprintf("listen %s: %s: %s", url, step, strerror(errno));
	if (fd != -1) {
		close(fd);
		if (ss.ss_family == AF_UNIX && strcmp(step, "bind") != 0)
			unlink(((struct sockaddr_un *)&ss)->sun_path);
	}
	return -1;
}

/*
 * Bind every socket of cfg into *fds (a new array of *n); all or none.
 * Returns -1 with *cause naming the URL that failed.
 */
int
listen_open(const struct app_config *cfg, int **fds, size_t *n,
    char **cause)
{
	size_t	i, count = argv_count(cfg->listen);
	int	*out;

	*fds = NULL;
	*n = 0;
	if (count == 0)
		return 0;
	out = xcalloc(count, sizeof *out);
	for (i = 0; i < count; i++) {
		if (listen_one(cfg->listen[i], cfg, &out[i], cause) == -1) {
			listen_close(cfg, out, i);
			return -1;
		}
	}
	*fds = out;
	*n = count;
	return 0;
}

/* Close the n sockets of fds (bound from cfg) and remove unix paths. */
void
listen_close(const struct app_config *cfg, int *fds, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		close(fds[i]);
		if (strncmp(cfg->listen[i], "unix:", 5) == 0)
			unlink(cfg->listen[i] + 5);
	}
	free(fds);
}

/* Whether a and b listen on the same URLs, in the same order. */
int
listen_same(const struct app_config *a, const struct app_config *b)
{
	size_t	i, n = argv_count(a->listen);

	if (n != argv_count(b->listen))
		return 0;
	for (i = 0; i < n; i++) {
		if (strcmp(a->listen[i], b->listen[i]) != 0)
			return 0;
	}
	return 1;
}
