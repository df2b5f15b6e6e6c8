/*
 * A worker's message channel, as pmd reads it: the input is what a worker
 * writes on PMD_IPC_FD (lines of JSON, broken lines, floods), read by
 * pmd's own callback from a real socket pair, each whole line parsed and
 * acted on (metrics, broadcast, ready, events and their hooks).
 */
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmd.h"
#include "fuzz.h"

int	LLVMFuzzerTestOneInput(const unsigned char *, size_t);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t len)
{
	struct app_config	*cfg;
	struct app		*a;
	char			**argv;
	size_t			 off = 0;
	ssize_t			 n;
	int			 peer;

	fuzz_init();
	argv = xcalloc(3, sizeof *argv);
	argv[0] = xstrdup("sleep");
	argv[1] = xstrdup("1000");
	cfg = appcfg_adhoc("api", argv, "/", 2);
	a = app_create(cfg, NULL, 1, NULL);
	appcfg_unref(cfg);
	/* Its spawn fails (as out of processes): then it waits to retry,
	 * and a channel opened now stays open. */
	fuzz_loop(4);
	if ((peer = ipc_open(a->workers[0])) == -1)
		abort();
	fd_nonblock(peer);
	while (off < len) {
		n = send(peer, data + off, len - off, MSG_NOSIGNAL);
		if (n > 0)
			off += n;
		fuzz_loop(2);
		if (n <= 0 && a->workers[0]->ipc.r.fd == -1)
			break;
	}
	close(peer);
	fuzz_loop(2);
	ipc_close(a->workers[0]);
	fuzz_reset();
	return 0;
}
