/*
 * The floor of log capture with timestamps, for make bench: stdin to
 * stdout, each line with a timestamp before it (the same one for every
 * line of one read), in large reads and writes, and nothing else. What
 * any capture that stamps lines costs on this machine: the pipe's copy,
 * the bytes the stamps add to the file, and the page cache's writes.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char	in[1 << 18], out[1 << 19];

static int
flush(size_t *len)
{
	size_t	off = 0;
	ssize_t	w;

	while (off < *len) {
		if ((w = write(1, out + off, *len - off)) <= 0)
			return -1;
		off += w;
	}
	*len = 0;
	return 0;
}

int
main(void)
{
	char		 stamp[64], *nl, *p, *end;
	struct timespec	 ts;
	struct tm	 tm;
	size_t		 olen = 0, slen, n, have = 0;
	ssize_t		 r;

	fcntl(0, F_SETPIPE_SZ, 1 << 20);	/* as pmd does for a chatty worker */
	while ((r = read(0, in + have, sizeof in - have)) > 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		slen = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
		slen += snprintf(stamp + slen, sizeof stamp - slen, ".%03ld ",
		    ts.tv_nsec / 1000000);
		p = in;
		end = in + have + r;
		while ((nl = memchr(p, '\n', end - p)) != NULL) {
			n = nl + 1 - p;
			if (olen + slen + n > sizeof out && flush(&olen) == -1)
				return 1;
			memcpy(out + olen, stamp, slen);
			memcpy(out + olen + slen, p, n);
			olen += slen + n;
			p = nl + 1;
		}
		if ((have = end - p) == sizeof in) {
			/* A line longer than in: out as a piece of its own. */
			if (flush(&olen) == -1 || write(1, in, have) != (ssize_t)have)
				return 1;
			have = 0;
		}
		memmove(in, p, have);
	}
	return flush(&olen) == 0 ? 0 : 1;
}
