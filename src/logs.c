/*
 * Worker output: each worker's stdout and stderr are non-blocking pipes
 * read in the event loop and written in whole lines, with an optional
 * timestamp, to log files opened O_APPEND (so the lines of several
 * instances never mix mid-line). Files rotate by size and can be flushed,
 * reopened and tailed; followers get each line as it comes.
 *
 * Memory does not grow with output: all pipes share one read buffer and
 * one output buffer, and a pipe keeps only its unfinished last line, at
 * most LINE_MAX_BYTES. A file that cannot be written loses lines, counted
 * and marked in the file once writing works again; the pipes are read all
 * the same, so no worker ever blocks on its output because of pmd.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pmd.h"

#define READ_SIZE	262144
#define READS_MAX	4		/* per wake-up, then the others' turn */
#define LINE_MAX_BYTES	65536		/* a longer line is written in pieces */
#define OUT_SIZE	(2 * READ_SIZE)	/* whole lines, flushed when full */
#define PIPE_DEFAULT	65536		/* Linux's pipe size */
#define PIPE_BIG	(1024 * 1024)	/* a chatty worker's pipe */
#define RETRY_SECONDS	1.0		/* between tries to open a lost file */
#define TAIL_READ_MAX	(1024 * 1024)	/* logs --lines reads at most this */

struct logfile {
	LIST_ENTRY(logfile)	 entry;
	char			*path;
	char			*app;
	int			 instance;	/* -1: every instance's lines */
	int			 stream;	/* LOG_OUT or LOG_ERR */
	int			 refs;
	int			 fd;		/* -1: not open (see error) */
	int			 discard;	/* /dev/null: drop silently */
	int			 stdfd;		/* container: pmd's fd 1 or 2, or 0 */
	char			*prefix;	/* container: "app:N | " */
	uint64_t		 size;
	uint64_t		 max_size;
	unsigned		 retain;
	char			*date_format;	/* NULL: no timestamp */
	uint64_t		 dropped;	/* lines lost, in all */
	uint64_t		 unreported;	/* lost since the last marker */
	int			 midline;	/* a write stopped inside a line */
	char			*error;		/* why lines are being lost */
	double			 retry_at;
};

struct logpipe {
	LIST_ENTRY(logpipe)	 entry;
	ev_io			 io_w;
	struct logfile		*file;
	struct tail		**tail;		/* NULL once released */
	struct logpipe		**self;		/* the owner's pointer to us */
	int			 instance;	/* of the worker, for followers */
	int			 grown;		/* pipe made PIPE_BIG */
	char			*partial;
	size_t			 plen;
};

static LIST_HEAD(, logfile) files = LIST_HEAD_INITIALIZER(files);
static LIST_HEAD(, logpipe) pipes = LIST_HEAD_INITIALIZER(pipes);
static char	 readbuf[READ_SIZE];
static char	 outbuf[OUT_SIZE];
static size_t	 outlen;
static size_t	 outlines;

log_tap_fn	 log_tap;

static void
set_error(struct logfile *f, const char *what)
{
	char	*e = xprintf("%s: %s: %s", f->path, what, strerror(errno));

	if (f->error == NULL || strcmp(f->error, e) != 0) {
		log_warn("log file %s; its lines are dropped until it works",
		    e);
		event_emit(app_find(f->app), NULL, "dropped", NULL,
		    "log file %s; its lines are dropped until it works", e);
	}
	free(f->error);
	f->error = e;
}

static int
logfile_reopen(struct logfile *f)
{
	struct stat	st;

	char		path[32];

	if (f->fd != -1)
		close(f->fd);
	f->retry_at = mono_now() + RETRY_SECONDS;
	/* Container mode: a description of pmd's own stdout or stderr of
	 * its own, so that O_NONBLOCK leaves pmd's fds as they are. */
	if (f->stdfd != 0)
		snprintf(path, sizeof path, "/proc/self/fd/%d", f->stdfd);
	f->fd = open(f->stdfd != 0 ? path : f->path, O_WRONLY | O_APPEND |
	    O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0640);
	if (f->fd == -1 && f->stdfd != 0)
		f->fd = fcntl(f->stdfd, F_DUPFD_CLOEXEC, 3);
	if (f->fd == -1) {
		set_error(f, "open");
		return -1;
	}
	f->size = fstat(f->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	if (f->size == 0)
		f->midline = 0;
	return 0;
}

/* The file at path for app's lines; one struct per path, shared. */
struct logfile *
logfile_open(const char *path, const char *app, int instance, int stream,
    const struct app_config *cfg)
{
	struct logfile	*f;

	LIST_FOREACH(f, &files, entry) {
		if (strcmp(f->path, path) == 0) {
			f->refs++;
			return f;
		}
	}
	f = xcalloc(1, sizeof *f);
	f->refs = 1;
	f->fd = -1;
	f->path = xstrdup(path);
	f->app = xstrdup(app);
	f->instance = instance;
	f->stream = stream;
	f->max_size = cfg->log_max_size;
	f->retain = cfg->log_retain;
	if (cfg->log_date_format != NULL)
		f->date_format = xstrdup(cfg->log_date_format);
	f->discard = strcmp(path, "/dev/null") == 0;
	/* "stdout:APP:N" (app.c, container mode): never rotated or read. */
	if (strncmp(path, "stdout:", 7) == 0 || strncmp(path, "stderr:", 7) == 0) {
		f->stdfd = path[3] == 'o' ? STDOUT_FILENO : STDERR_FILENO;
		f->prefix = xprintf("%s | ", path + 7);
		f->max_size = 0;
	}
	if (!f->discard)
		logfile_reopen(f);
	LIST_INSERT_HEAD(&files, f, entry);
	return f;
}

void
logfile_unref(struct logfile *f)
{
	if (f == NULL || --f->refs > 0)
		return;
	LIST_REMOVE(f, entry);
	if (f->fd != -1)
		close(f->fd);
	free(f->path);
	free(f->app);
	free(f->date_format);
	free(f->prefix);
	free(f->error);
	free(f);
}

/* What show tells of a log file. */
void
logfile_info(const struct logfile *f, struct logfile_info *info)
{
	info->path = f->path;
	info->size = f->size;
	info->dropped = f->dropped;
	info->error = f->error;
}

static void
rotated_name(char *buf, size_t size, const char *path, unsigned n)
{
	snprintf(buf, size, "%s.%u", path, n);
}

/*
 * Make room for len more bytes: if they would take the file past its
 * max_size, shift NAME.1 .. NAME.(retain-1) up one, NAME to NAME.1, and
 * start a new NAME. A size changed behind our back (copytruncate) counts.
 */
static void
logfile_make_room(struct logfile *f, size_t len)
{
	char		 from[4200], to[4200];
	struct stat	 st;
	unsigned	 i;

	if (f->max_size == 0 || f->fd == -1 || f->size + len <= f->max_size ||
	    f->size == 0)
		return;
	if (fstat(f->fd, &st) == 0 && (uint64_t)st.st_size != f->size) {
		f->size = st.st_size;
		if (f->size == 0 || f->size + len <= f->max_size)
			return;
	}
	if (f->retain == 0) {
		if (ftruncate(f->fd, 0) == 0)
			f->size = 0;
		return;
	}
	/*
	 * Unlink the oldest first, so no rename replaces a file: ext4 writes
	 * a file out at once when it is renamed over another (auto_da_alloc).
	 */
	rotated_name(to, sizeof to, f->path, f->retain);
	unlink(to);
	for (i = f->retain; i > 1; i--) {
		rotated_name(from, sizeof from, f->path, i - 1);
		rotated_name(to, sizeof to, f->path, i);
		rename(from, to);
	}
	rotated_name(to, sizeof to, f->path, 1);
	if (rename(f->path, to) == -1)
		set_error(f, "rotate");
	logfile_reopen(f);
}

/* Write buf in full, or count its lines as lost. */
static int
logfile_write_all(struct logfile *f, const char *buf, size_t len,
    size_t lines)
{
	ssize_t	w;

	while (len > 0) {
		w = write(f->fd, buf, len);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			set_error(f, "write");
			f->dropped += lines;
			f->unreported += lines;
			return -1;
		}
		f->size += w;
		f->midline = buf[w - 1] != '\n';
		buf += w;
		len -= w;
	}
	return 0;
}

/* Write the output buffer (whole lines of f) to f. */
static void
out_flush(struct logfile *f)
{
	char	marker[128];
	int	n;

	if (outlen == 0)
		return;
	if (f->fd == -1 && mono_now() >= f->retry_at)
		logfile_reopen(f);
	if (f->fd == -1) {
		f->dropped += outlines;
		f->unreported += outlines;
	} else {
		if (f->unreported > 0) {
			/* On a line of its own, after a line cut short. */
			n = snprintf(marker, sizeof marker, "%s[pmd] %llu lines "
			    "dropped: this file could not be written\n",
			    f->midline ? "\n" : "",
			    (unsigned long long)f->unreported);
			if (logfile_write_all(f, marker, n, 0) == 0) {
				f->unreported = 0;
				free(f->error);
				f->error = NULL;
			}
		}
		logfile_write_all(f, outbuf, outlen, outlines);
	}
	outlen = outlines = 0;
}

/* The timestamp prefix for now, with %L as milliseconds; "" for none. */
static const char *
stamp_for(struct logfile *f, size_t *len)
{
	static char		 stamp[160], fmt[200];
	static size_t		 stamplen;
	static double		 at = -1;
	static const char	*made_for;
	struct tm		 tm;
	double			 now = ev_now(pmd_loop);
	time_t			 secs;
	const char		*p;
	size_t			 i = 0;
	int			 ms;

	if (f->date_format == NULL) {
		*len = 0;
		return "";
	}
	if (now != at || made_for != f->date_format) {
		secs = (time_t)now;
		ms = (int)((now - secs) * 1000);
		for (p = f->date_format; *p != '\0' && i < sizeof fmt - 4; p++) {
			if (p[0] == '%' && p[1] == 'L') {
				i += snprintf(fmt + i, sizeof fmt - i, "%03d", ms);
				p++;
			} else if (p[0] == '%' && p[1] != '\0') {
				fmt[i++] = *p++;
				fmt[i++] = *p;
			} else
				fmt[i++] = *p;
		}
		fmt[i] = '\0';
		localtime_r(&secs, &tm);
		i = strftime(stamp, sizeof stamp - 1, fmt, &tm);
		stamp[i++] = ' ';
		stamp[i] = '\0';
		stamplen = i;
		at = now;
		made_for = f->date_format;
	}
	*len = stamplen;
	return stamp;
}

/*
 * Container mode's JSON lines: {"time","app","instance","stream","line"},
 * one write per line (a line may not fit the shared buffer once quoted).
 */
static void
json_line(struct logfile *f, int instance, const char *line, size_t len)
{
	struct timespec	 ts;
	struct tm	 tm;
	char		 stamp[40], *copy, *q, *out;
	size_t		 n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp + n, sizeof stamp - n, ".%03ldZ", ts.tv_nsec / 1000000);
	copy = xmalloc(len + 1);
	memcpy(copy, line, len);
	copy[len] = '\0';
	copy = utf8_fix(copy);
	q = json_quote(copy, strlen(copy));
	out = xprintf("{\"time\":\"%s\",\"app\":\"%s\",\"instance\":%d,"
	    "\"stream\":\"%s\",\"line\":%s}\n", stamp, f->app, instance,
	    f->stream == LOG_ERR ? "err" : "out", q);
	if (f->fd == -1 && mono_now() >= f->retry_at)
		logfile_reopen(f);
	if (f->fd == -1) {
		f->dropped++;
		f->unreported++;
	} else
		logfile_write_all(f, out, strlen(out), 1);
	free(out);
	free(q);
	free(copy);
}

/* Queue one line (a then b, then a newline) for f, rotating first. */
static void
out_line(struct logpipe *lp, const char *a, size_t alen, const char *b,
    size_t blen)
{
	struct logfile	*f = lp->file;
	const char	*stamp;
	size_t		 slen, len, plen;

	if (log_tap != NULL) {
		char *line = xmalloc(alen + blen + 1);
		if (alen > 0)
			memcpy(line, a, alen);
		if (blen > 0)
			memcpy(line + alen, b, blen);
		line[alen + blen] = '\0';
		log_tap(f->app, lp->instance, f->stream, line);
		free(line);
	}
	if (f->discard)
		return;
	if (f->stdfd != 0 && daemon_container == 2) {
		char *line = xmalloc(alen + blen + 1);

		if (alen > 0)
			memcpy(line, a, alen);
		if (blen > 0)
			memcpy(line + alen, b, blen);
		out_flush(f);
		json_line(f, lp->instance, line, alen + blen);
		free(line);
		return;
	}
	stamp = stamp_for(f, &slen);
	plen = f->prefix != NULL ? strlen(f->prefix) : 0;
	len = plen + slen + alen + blen + 1;
	if (outlen + len > sizeof outbuf ||
	    (f->max_size != 0 && f->size + outlen + len > f->max_size))
		out_flush(f);
	logfile_make_room(f, len);
	if (plen > 0) {
		memcpy(outbuf + outlen, f->prefix, plen);
		outlen += plen;
		len -= plen;
	}
	memcpy(outbuf + outlen, stamp, slen);
	if (alen > 0)
		memcpy(outbuf + outlen + slen, a, alen);
	if (blen > 0)
		memcpy(outbuf + outlen + slen + alen, b, blen);
	outbuf[outlen + len - 1] = '\n';
	outlen += len;
	outlines++;
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

/*
 * The whole lines at the start of [p, end) in one go: without prefix and
 * timestamp, one write straight from the read buffer; with them, copied
 * with theirs (the same timestamp for every line of one read) into the
 * output buffer, which measured faster for short lines than a writev of
 * three slices each. Returns where it stopped: at the first unfinished or
 * too long line, or at once when out_line must do the work (a follower,
 * JSON, a file that is failing, the rest of a line from the last read).
 */
static const char *
direct_lines(struct logpipe *lp, const char *p, const char *end)
{
	struct logfile		*f = lp->file;
	const char		*stamp, *nl, *run = p;	/* lines not yet written */
	size_t			 slen, plen, n, pending = 0, lines = 0;

	if (log_tap != NULL || f->discard || lp->plen > 0 ||
	    (f->stdfd != 0 && daemon_container == 2))
		return p;
	if (f->fd == -1 && mono_now() >= f->retry_at)
		logfile_reopen(f);
	if (f->fd == -1 || f->unreported > 0)
		return p;
	out_flush(f);
	stamp = stamp_for(f, &slen);
	plen = f->prefix != NULL ? strlen(f->prefix) : 0;
	while (p < end) {
		nl = memchr(p, '\n', end - p);
		if (nl == NULL || (size_t)(nl - p) > LINE_MAX_BYTES)
			break;
		n = nl + 1 - p;
		if (f->max_size != 0 &&
		    f->size + pending + outlen + plen + slen + n > f->max_size) {
			if (pending > 0 &&
			    logfile_write_all(f, run, pending, lines) == -1)
				return nl + 1;	/* counted as lost */
			out_flush(f);
			pending = lines = 0;
			logfile_make_room(f, plen + slen + n);
			if (f->fd == -1)
				break;
		}
		if (plen == 0 && slen == 0) {
			/* The lines as they came: one write for all of them. */
			if (pending == 0)
				run = p;
			pending += n;
			lines++;
		} else {
			/* Short pieces copy faster than the kernel walks
			 * iovecs: prefix, stamp and line into outbuf. */
			if (outlen + plen + slen + n > sizeof outbuf)
				out_flush(f);
			if (plen > 0)
				memcpy(outbuf + outlen, f->prefix, plen);
			memcpy(outbuf + outlen + plen, stamp, slen);
			memcpy(outbuf + outlen + plen + slen, p, n);
			outlen += plen + slen + n;
			outlines++;
		}
		p = nl + 1;
	}
	if (pending > 0)
		logfile_write_all(f, run, pending, lines);
	out_flush(f);
	return p;
}

/* Turn data into lines; keep an unfinished last line for the next read. */
static void
logpipe_consume(struct logpipe *lp, const char *data, size_t len, int eof)
{
	const char	*p = data, *end = data + len, *nl;
	size_t		 n;

	if (lp->tail != NULL && len > 0)
		tail_append(lp->tail, data, len);
	while (p < end) {
		/* Whole lines go out as they are, without a copy. */
		if ((p = direct_lines(lp, p, end)) == end)
			break;
		nl = memchr(p, '\n', end - p);
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (lp->plen + n > LINE_MAX_BYTES) {
			/* Too long for one line: a piece of the maximum. */
			n = LINE_MAX_BYTES - lp->plen;
			out_line(lp, lp->partial, lp->plen, p, n);
			lp->plen = 0;
			p += n;
		} else if (nl != NULL) {
			out_line(lp, lp->partial, lp->plen, p, n);
			lp->plen = 0;
			p = nl + 1;
		} else {
			/* Unfinished: kept for the next read. */
			if (lp->partial == NULL)
				lp->partial = xmalloc(LINE_MAX_BYTES);
			memcpy(lp->partial + lp->plen, p, n);
			lp->plen += n;
			p += n;
		}
	}
	if (eof && lp->plen > 0) {
		out_line(lp, lp->partial, lp->plen, "", 0);
		lp->plen = 0;
	}
	out_flush(lp->file);
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
	ev_io_stop(pmd_loop, &lp->io_w);
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
	int	reads = 0;

	for (;;) {
		n = read(lp->io_w.fd, readbuf, sizeof readbuf);
		if (n > 0) {
			logpipe_consume(lp, readbuf, n, 0);
			/*
			 * A full default pipe: a larger one means fewer,
			 * larger reads (best effort; only chatty workers get
			 * one, so the per-user pipe budget lasts).
			 */
			if (!lp->grown && n >= PIPE_DEFAULT) {
				lp->grown = 1;
				fcntl(lp->io_w.fd, F_SETPIPE_SZ, PIPE_BIG);
			}
			if ((size_t)n < sizeof readbuf)
				return 1;
			if (++reads == READS_MAX)
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
 * Read fd (taking it) into file (taking a reference); stderr also feeds
 * *tail. *self points to the pipe until it is freed at EOF or released.
 */
void
logpipe_new(int fd, struct logfile *file, int instance, struct tail **tail,
    struct logpipe **self)
{
	struct logpipe	*lp = xcalloc(1, sizeof *lp);

	lp->instance = instance;
	lp->self = self;
	*self = lp;
	fd_nonblock(fd);
	file->refs++;
	lp->file = file;
	lp->tail = tail;
	ev_io_init(&lp->io_w, logpipe_cb, fd, EV_READ);
	ev_io_start(pmd_loop, &lp->io_w);
	LIST_INSERT_HEAD(&pipes, lp, entry);
}

/*
 * pmctl update: a pipe the pmd before this one read, with the start of a
 * line it had read (partial, plen; copied): the line goes on whole.
 */
void
logpipe_adopt(int fd, struct logfile *file, int instance, struct tail **tail,
    struct logpipe **self, const char *partial, size_t plen)
{
	logpipe_new(fd, file, instance, tail, self);
	if (plen > 0 && plen <= LINE_MAX_BYTES) {
		(*self)->partial = xmalloc(LINE_MAX_BYTES);
		memcpy((*self)->partial, partial, plen);
		(*self)->plen = plen;
	}
}

/* What pmctl update carries of a pipe: its fd and the line begun. */
int
logpipe_carry(const struct logpipe *lp, const char **partial, size_t *plen)
{
	*partial = lp->partial;
	*plen = lp->plen;
	return lp->io_w.fd;
}

/*
 * Before pmctl update: the pipes whose worker is gone (a child of it may
 * still write) are read out and closed; the new pmd does not know them.
 */
void
logs_drop_released(void)
{
	struct logpipe	*lp, *next;

	for (lp = LIST_FIRST(&pipes); lp != NULL; lp = next) {
		next = LIST_NEXT(lp, entry);
		if (lp->self != NULL || !logpipe_read(lp))
			continue;
		logpipe_consume(lp, NULL, 0, 1);
		logpipe_free(lp);
	}
}

/*
 * Read everything its dead writer left in the pipe now, before the exit is
 * handled, so the stderr tail is complete; then let the pipe drain on its
 * own (a child of the worker may hold it) without the owner.
 */
/* Whether f is /dev/null: its stream needs no pipe at all. */
int
logfile_discards(const struct logfile *f)
{
	return f->discard;
}

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

/* SIGUSR1, reopen-logs: after logrotate moved the files (create mode). */
int
logs_reopen_all(void)
{
	struct logfile	*f;
	int		 n = 0;

	LIST_FOREACH(f, &files, entry) {
		if (!f->discard && logfile_reopen(f) == 0)
			n++;
	}
	log_info("reopened %d log files", n);
	return n;
}

/*
 * Whether path is pmd's to write: in log_dir, or an open log file or one
 * of its rotated or temporary companions (watch leaves them out).
 */
int
logs_own(const char *path)
{
	struct logfile	*f;
	size_t		 n = log_dir != NULL ? strlen(log_dir) : 0;

	if (n > 0 && strncmp(path, log_dir, n) == 0 &&
	    (path[n] == '/' || path[n] == '\0'))
		return 1;
	LIST_FOREACH(f, &files, entry) {
		if (!f->discard && strncmp(path, f->path, strlen(f->path)) == 0)
			return 1;
	}
	return 0;
}

/*
 * Empty app's log files (all apps' if NULL), and remove rotated ones;
 * the paths emptied.
 */
char **
logs_flush(const char *app)
{
	struct logfile	*f;
	char		**done = NULL;
	char		 name[4200];
	unsigned	 i;

	LIST_FOREACH(f, &files, entry) {
		if (f->discard || f->stdfd != 0 ||
		    (app != NULL && strcmp(app, f->app) != 0))
			continue;
		if (f->fd != -1 && ftruncate(f->fd, 0) == 0)
			f->size = 0;
		for (i = 1; i <= f->retain; i++) {
			rotated_name(name, sizeof name, f->path, i);
			unlink(name);
		}
		strv_add(&done, f->path);
	}
	return done;
}

/*
 * Call fn with the last n lines of each log file of app (all apps if
 * NULL) whose stream is in mask, newest file first.
 */
void
logs_tail(const char *app, int mask, unsigned n, log_tail_fn fn, void *arg)
{
	struct logfile	*f;
	char		**lines;

	LIST_FOREACH(f, &files, entry) {
		if (f->discard || f->stdfd != 0 || !(mask & (1 << f->stream)) ||
		    (app != NULL && strcmp(app, f->app) != 0))
			continue;
		lines = file_last_lines(f->path, n, TAIL_READ_MAX);
		fn(arg, f->app, f->instance, f->stream, f->path, lines);
		argv_free(lines);
	}
}
