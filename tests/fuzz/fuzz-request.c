/*
 * The control path, end to end on a real socket: accept, SO_PEERCRED,
 * line framing, the fields check and every command's exec, replies and
 * deferred replies. The input is what a client sends; an app is running
 * so that commands have something to act on.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmd.h"
#include "fuzz.h"

int	LLVMFuzzerTestOneInput(const unsigned char *, size_t);

static char	*sock_path;

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t len)
{
	struct sockaddr_un	 sun;
	struct app_config	*cfg;
	char			 buf[65536], *cause, **argv;
	int			 fd;
	size_t			 off = 0;
	ssize_t			 n;

	fuzz_init();
	if (sock_path == NULL)
		sock_path = xprintf("%s/pmd.sock", fuzz_dir);
	if (control_listen(sock_path, (gid_t)-1, -1, &cause) == -1)
		abort();
	argv = xcalloc(3, sizeof *argv);
	argv[0] = xstrdup("sleep");
	argv[1] = xstrdup("1000");
	cfg = appcfg_adhoc("api", argv, "/", 2);
	app_create(cfg, NULL, 1, NULL);
	appcfg_unref(cfg);

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1)
		abort();
	fuzz_loop(2);
	while (off < len) {
		n = send(fd, data + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += n;
		fuzz_loop(2);
		while (read(fd, buf, sizeof buf) > 0)
			;
	}
	(void)!send(fd, "\n", 1, MSG_NOSIGNAL);
	fuzz_loop(4);
	while (read(fd, buf, sizeof buf) > 0)
		;
	close(fd);
	fuzz_loop(2);
	/* Clients still waiting (a kill, a deferred reply) go with the socket. */
	control_kill_replies();
	control_close();
	fuzz_reset();
	return 0;
}
