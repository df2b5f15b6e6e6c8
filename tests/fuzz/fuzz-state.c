/*
 * The state reader of pmctl update (state-read.c), on any bytes: a state
 * that is truncated, garbage or names fds that are not what it says is
 * refused with a reason, and never crashes. Fds 100 (a file) and 101 (a
 * socket) are open, so that inputs can name a lock and a control socket.
 */
#include <sys/socket.h>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "fuzz.h"

int	LLVMFuzzerTestOneInput(const unsigned char *, size_t);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t len)
{
	static int		 opened;
	struct state_daemon	 d;
	struct follower		*f;
	cJSON			*root;
	char			*cause;

	if (!opened) {
		dup2(open("/dev/null", O_RDONLY), 100);
		dup2(socket(AF_UNIX, SOCK_STREAM, 0), 101);
		opened = 1;
	}
	if (state_check((const char *)data, len, &root, &cause) == -1) {
		free(cause);
		return 0;
	}
	state_daemon(root, &d);
	state_followers(root, &f);
	free(f);
	cJSON_Delete(root);
	return 0;
}
