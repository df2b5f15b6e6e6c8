/*
 * An app's listening sockets by address (listen-addr.c), on real
 * sockets: tcp:// and unix: bound with the app's options, all or none,
 * a taken address refused naming the URL, a balanced group that cannot
 * begin on an address another socket holds, an instance's sockets out
 * of and back into their group.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "pmd.h"

static struct app_config cfg = {
	.listen_mode = 0660,
	.listen_backlog = 16,
	.listen_balance = LISTEN_SHARED,
	.owner = OWNER_NONE,
};

/* A port free on 127.0.0.1 now. */
static int
free_port(void)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET };
	socklen_t		len = sizeof sin;
	int			fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* Whether a client's connect to port on 127.0.0.1 is taken. */
static int
connects(int port)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET };
	int			fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	ok = connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0;
	close(fd);
	return ok;
}

static void
test_tcp(void **state)
{
	char	 url[64], *urls[] = { url, NULL }, *cause;
	int	*fds, *again, port = free_port();
	size_t	 n, m;

	(void)state;
	snprintf(url, sizeof url, "tcp://127.0.0.1:%d", port);
	assert_int_equal(listen_open(&cfg, urls, &fds, &n, 0, &cause), 0);
	assert_int_equal(n, 1);
	assert_true(connects(port));
	/* Taken: refused, naming the URL and why. */
	assert_int_equal(listen_open(&cfg, urls, &again, &m, 0, &cause), -1);
	assert_int_equal(errno, EADDRINUSE);
	assert_non_null(strstr(cause, url));
	free(cause);
	listen_close(urls, fds, n);
	assert_false(connects(port));
}

/* All or none: a bad second address closes the first. */
static void
test_all_or_none(void **state)
{
	char	 a[64], b[64], *urls[] = { a, b, NULL }, *cause;
	int	*fds, port = free_port();
	size_t	 n;
	char	*one[] = { b, NULL };
	int	*held;
	size_t	 nheld;

	(void)state;
	snprintf(a, sizeof a, "tcp://127.0.0.1:%d", port);
	snprintf(b, sizeof b, "tcp://127.0.0.1:%d", free_port());
	assert_int_equal(listen_open(&cfg, one, &held, &nheld, 0, &cause), 0);
	assert_int_equal(listen_open(&cfg, urls, &fds, &n, 0, &cause), -1);
	assert_null(fds);
	assert_int_equal(n, 0);
	assert_non_null(strstr(cause, b));
	free(cause);
	/* The first address was let go again. */
	assert_false(connects(port));
	listen_close(one, held, nheld);
}

static void
test_unix(void **state)
{
	char		 dir[] = "/tmp/pmd-test-listen-XXXXXX", url[128];
	char		*urls[] = { url, NULL }, *cause, path[100];
	struct stat	 st;
	int		*fds, fd;
	size_t		 n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/app.sock", dir);
	snprintf(url, sizeof url, "unix:%s", path);
	assert_int_equal(listen_open(&cfg, urls, &fds, &n, 0, &cause), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0660);
	/* A socket nobody listens on is stale: replaced. */
	close(fds[0]);
	free(fds);
	assert_int_equal(listen_open(&cfg, urls, &fds, &n, 0, &cause), 0);
	listen_close(urls, fds, n);
	assert_int_equal(stat(path, &st), -1);
	/* A file that is no socket stays, and the bind says why. */
	assert_true((fd = creat(path, 0600)) >= 0);
	close(fd);
	assert_int_equal(listen_open(&cfg, urls, &fds, &n, 0, &cause), -1);
	assert_non_null(strstr(cause, "not a socket"));
	free(cause);
	unlink(path);
	rmdir(dir);
}

/*
 * Balanced: the first socket of a group fails on an address a socket
 * outside it holds; members join; one member out of the group takes no
 * connection while another serves, and comes back.
 */
static void
test_balanced(void **state)
{
	struct app_config	 bal = cfg;
	char			 url[64], *urls[] = { url, NULL }, *cause;
	int			*plain, *a, *b, port = free_port();
	size_t			 n, nplain;

	(void)state;
	bal.listen_balance = LISTEN_BALANCED;
	snprintf(url, sizeof url, "tcp://127.0.0.1:%d", port);
	assert_int_equal(listen_open(&cfg, urls, &plain, &nplain, 0, &cause),
	    0);
	assert_int_equal(listen_open(&bal, urls, &a, &n, 1, &cause), -1);
	assert_int_equal(errno, EADDRINUSE);
	free(cause);
	listen_close(urls, plain, nplain);
	assert_int_equal(listen_open(&bal, urls, &a, &n, 1, &cause), 0);
	assert_int_equal(listen_open(&bal, urls, &b, &n, 0, &cause), 0);
	if (listen_pause(a, n)) {
		/* Every connection now goes to b's socket. */
		assert_true(connects(port));
		assert_int_equal(listen_resume(&bal, urls, a, n, &cause), 0);
	}
	assert_true(connects(port));
	listen_close(urls, a, n);
	listen_close(urls, b, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_all_or_none),
		cmocka_unit_test(test_unix),
		cmocka_unit_test(test_balanced),
	};

	return cmocka_run_group_tests_name("listen", tests, NULL, NULL);
}
