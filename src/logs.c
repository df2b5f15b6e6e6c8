/*
 * Worker output: each worker's stdout and stderr are non-blocking pipes
 * read in the event loop and written, in whole lines, to the app's log
 * files (O_APPEND, so lines of several instances never mix mid-line).
 * All pipes share one read buffer; a pipe keeps only its unfinished last
 * line, and that at most LINE_MAX_BYTES, so pmd's memory does not grow
 * with the volume of output. A pipe lives until EOF, which may come after
 * its worker exited (a child of the worker may still hold it).
 */
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmd.h"

#define READ_SIZE	65536
#define LINE_MAX_BYTES	65536	/* a longer line is written in pieces */

struct logfile {
	int		 fd;		/* -1 if it could not be opened */
	char		*path;
	int		 refs;
	uint64_t	 dropped;	/* lines that could not be written */
};

struct logpipe {
	LIST_ENTRY(logpipe)	 entry;
	ev_io			 io_w;
	struct logfile		*file;
	struct tail		**tail;		/* NULL once detached */
	struct logpipe		**self;		/* the owner's pointer to us */
	char			*partial;
	size_t			 plen;
};

static LIST_HEAD(, logpipe) pipes = LIST_HEAD_INITIALIZER(pipes);
static char readbuf[READ_SIZE];

struct logfile *
logfile_open(const char *path)
{
	struct logfile	*f = xcalloc(1, sizeof *f);

	f->refs = 1;
	f->path = xstrdup(path);
	if (strcmp(path, "/dev/null") == 0)
		f->fd = -1;
	else if ((f->fd = open(path, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC | O_NOCTTY, 0640)) == -1)
		log_warn("log file %s: %s; its lines are dropped", path,
		    strerror(errno));
	return f;
}

void
logfile_ref(struct logfile *f)
{
	f->refs++;
}

void
logfile_unref(struct logfile *f)
{
	if (f == NULL || --f->refs > 0)
		return;
	if (f->fd != -1)
		close(f->fd);
	free(f->path);
	free(f);
}

uint64_t
logfile_dropped(struct logfile *f)
{
	return f->dropped;
}

/* Write the iovecs in full, or count the lines as dropped. */
static void
logfile_write(struct logfile *f, struct iovec *iov, int n, size_t lines)
{
	ssize_t	w;

	if (f->fd == -1) {
		if (strcmp(f->path, "/dev/null") != 0)
			f->dropped += lines;
		return;
	}
	while (n > 0) {
		w = writev(f->fd, iov, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			f->dropped += lines;
			return;
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= w;
		}
	}
}

void
tail_append(struct tail **tp, const char *data, size_t len)
{
	struct tail	*t = *tp;

	if (t == NULL)
		t = *tp = xcalloc(1, sizeof *t);
	if (len >= TAIL_SIZE) {
		memcpy(t->buf, data + len - TAIL_SIZE, TAIL_SIZE);
		t->len = TAIL_SIZE;
		return;
	}
	if (t->len + len > TAIL_SIZE) {
		memmove(t->buf, t->buf + (t->len + len - TAIL_SIZE),
		    TAIL_SIZE - len);
		t->len = TAIL_SIZE - len;
	}
	memcpy(t->buf + t->len, data, len);
	t->len += len;
}

static size_t
count_lines(const char *p, size_t len)
{
	const char	*end = p + len;
	size_t		 n = 0;

	while ((p = memchr(p, '\n', end - p)) != NULL) {
		n++;
		p++;
	}
	return n;
}

/* Write the whole lines of data (after any stored partial), keep the rest. */
static void
logpipe_consume(struct logpipe *lp, const char *data, size_t len, int eof)
{
	struct iovec	 iov[3];
	const char	*nl;
	size_t		 whole, rest;
	int		 n = 0;

	if (lp->tail != NULL && len > 0)
		tail_append(lp->tail, data, len);
	nl = len > 0 ? memrchr(data, '\n', len) : NULL;
	whole = nl != NULL ? (size_t)(nl - data) + 1 : 0;
	rest = len - whole;
	if (whole > 0) {
		if (lp->plen > 0) {
			iov[n].iov_base = lp->partial;
			iov[n++].iov_len = lp->plen;
		}
		iov[n].iov_base = (void *)data;
		iov[n++].iov_len = whole;
		logfile_write(lp->file, iov, n, count_lines(data, whole));
		lp->plen = 0;
	}
	if (rest > 0) {
		if (lp->plen + rest > LINE_MAX_BYTES) {
			/* Too long for one line: write what we have as a piece. */
			iov[0].iov_base = lp->partial;
			iov[0].iov_len = lp->plen;
			iov[1].iov_base = (void *)(data + whole);
			iov[1].iov_len = rest;
			iov[2].iov_base = "\n";
			iov[2].iov_len = 1;
			logfile_write(lp->file, iov, 3, 1);
			lp->plen = 0;
		} else {
			if (lp->partial == NULL)
				lp->partial = xmalloc(LINE_MAX_BYTES);
			memcpy(lp->partial + lp->plen, data + whole, rest);
			lp->plen += rest;
		}
	}
	if (eof && lp->plen > 0) {
		iov[0].iov_base = lp->partial;
		iov[0].iov_len = lp->plen;
		iov[1].iov_base = "\n";
		iov[1].iov_len = 1;
		logfile_write(lp->file, iov, 2, 1);
		lp->plen = 0;
	}
	if (lp->plen == 0 && lp->partial != NULL) {
		free(lp->partial);
		lp->partial = NULL;
	}
}

static void
logpipe_free(struct logpipe *lp)
{
	if (lp->self != NULL)
		*lp->self = NULL;
	ev_io_stop(EV_DEFAULT, &lp->io_w);
	close(lp->io_w.fd);
	LIST_REMOVE(lp, entry);
	logfile_unref(lp->file);
	free(lp->partial);
	free(lp);
}

/* Read what is there now; at EOF flush and free. Returns 0 once freed. */
static int
logpipe_read(struct logpipe *lp)
{
	ssize_t	n;

	for (;;) {
		n = read(lp->io_w.fd, readbuf, sizeof readbuf);
		if (n > 0) {
			logpipe_consume(lp, readbuf, n, 0);
			if ((size_t)n < sizeof readbuf)
				return 1;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 1;
		logpipe_consume(lp, NULL, 0, 1);
		logpipe_free(lp);
		return 0;
	}
}

static void
logpipe_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop; (void)revents;
	logpipe_read(container_of(w, struct logpipe, io_w));
}

/*
 * Read fd (taking it) into file; stderr also feeds *tail. *self points to
 * the pipe until it is freed at EOF or detached.
 */
void
logpipe_new(int fd, struct logfile *file, struct tail **tail,
    struct logpipe **self)
{
	struct logpipe	*lp = xcalloc(1, sizeof *lp);

	lp->self = self;
	*self = lp;
	fd_nonblock(fd);
	logfile_ref(file);
	lp->file = file;
	lp->tail = tail;
	ev_io_init(&lp->io_w, logpipe_cb, fd, EV_READ);
	ev_io_start(EV_DEFAULT, &lp->io_w);
	LIST_INSERT_HEAD(&pipes, lp, entry);
}

/*
 * Read everything its dead writer left in the pipe now, before the exit is
 * handled, so the stderr tail is complete; then let the pipe drain on its
 * own (a child of the worker may hold it) without the owner.
 */
void
logpipe_release(struct logpipe **lpp)
{
	struct logpipe	*lp = *lpp;

	if (lp == NULL || !logpipe_read(lp))
		return;
	lp->tail = NULL;
	lp->self = NULL;
	*lpp = NULL;
}

/* At exit: take what is in the pipes, write it, close everything. */
void
logs_close_all(void)
{
	struct logpipe	*lp;

	while ((lp = LIST_FIRST(&pipes)) != NULL) {
		if (logpipe_read(lp))
			logpipe_free(lp);
	}
}
