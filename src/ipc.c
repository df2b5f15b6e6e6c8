/*
 * A worker's message channel: one end of a socket pair, which the worker
 * gets on the fd named by PMD_IPC_FD (and, for Node, NODE_CHANNEL_FD with
 * JSON serialization, so that process.send and process.on('message')
 * work). It carries one JSON value per line, both ways.
 *
 * From the worker: {"type":"metrics","data":{NAME: NUMBER}} sets its
 * custom metrics; {"type":"broadcast",...} goes to the app's other
 * workers; the string "ready" (PM2's process.send('ready')) counts as
 * READY=1 for an app with wait_ready; Node's own messages ({"cmd":
 * "NODE_..."}) are Node's business. Every message of the app's becomes an
 * event. A line that is not JSON, or longer than IPC_LINE_MAX, is dropped
 * and counted. To the worker: pmctl send and broadcasts, through a queue
 * of at most IPC_OUT_MAX bytes; what does not fit is dropped and counted,
 * so a worker that never reads costs pmd nothing more. What all workers'
 * channels hold together (queues to them, lines from them not yet whole)
 * is at most IPC_HELD_MAX: past it, what would be added is dropped and
 * counted too, so no number of workers can make pmd grow without bound.
 * A buffer is freed once it is empty.
 */
#include <sys/socket.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"

#define IPC_LINE_MAX	(64 * 1024)
#define IPC_OUT_MAX	(256 * 1024)
#define IPC_HELD_MAX	(16 * 1024 * 1024)
#define IPC_METRICS_MAX	64

static size_t	ipc_held;	/* bytes in every channel's buffers */

static void	ipc_write_cb(struct ev_loop *, ev_io *, int);
static void	ipc_read_cb(struct ev_loop *, ev_io *, int);

void
ipc_init(struct worker *w)
{
	ev_io_init(&w->ipc.r, ipc_read_cb, -1, EV_READ);
	ev_io_init(&w->ipc.w, ipc_write_cb, -1, EV_WRITE);
}

/* A channel for the process about to start: the worker's end, or -1. */
int
ipc_open(struct worker *w)
{
	int	sv[2];

	ipc_close(w);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("%s:%u: no message channel: socketpair: %s",
		    w->app->name, w->instance, strerror(errno));
		return -1;
	}
	sv[0] = fd_high(sv[0]);
	fd_nonblock(sv[0]);
	ev_io_set(&w->ipc.r, sv[0], EV_READ);
	ev_io_set(&w->ipc.w, sv[0], EV_WRITE);
	ev_io_start(pmd_loop, &w->ipc.r);
	return sv[1];
}

/*
 * pmctl update: w's channel as the pmd before this one left it: its end
 * (fd), a line half read (in), what waited for the worker (out); both
 * taken. Before the loop runs.
 */
void
ipc_adopt(struct worker *w, int fd, char *in, size_t inlen, int skip,
    char *out, size_t outlen)
{
	ev_io_set(&w->ipc.r, fd, EV_READ);
	ev_io_set(&w->ipc.w, fd, EV_WRITE);
	ev_io_start(pmd_loop, &w->ipc.r);
	w->ipc.in = in;
	w->ipc.inlen = in != NULL ? inlen : 0;
	w->ipc.skip = skip;
	ipc_held += w->ipc.inlen;
	if (out != NULL && outlen > 0) {
		w->ipc.out = out;
		w->ipc.outcap = w->ipc.outlen = outlen;
		ipc_held += outlen;
		ev_io_start(pmd_loop, &w->ipc.w);
	} else
		free(out);
}

/* What every channel's buffers hold now, in bytes. */
size_t
ipc_held_bytes(void)
{
	return ipc_held;
}

/* Forget the line being read. */
static void
in_drop(struct worker *w)
{
	ipc_held -= w->ipc.inlen;
	free(w->ipc.in);
	w->ipc.in = NULL;
	w->ipc.inlen = 0;
}

/* Forget what waits for the worker. */
static void
out_drop(struct worker *w)
{
	ipc_held -= w->ipc.outlen - w->ipc.outoff;
	free(w->ipc.out);
	w->ipc.out = NULL;
	w->ipc.outcap = w->ipc.outlen = w->ipc.outoff = 0;
}

void
ipc_close(struct worker *w)
{
	if (w->ipc.r.fd == -1)
		return;
	ev_io_stop(pmd_loop, &w->ipc.r);
	ev_io_stop(pmd_loop, &w->ipc.w);
	close(w->ipc.r.fd);
	ev_io_set(&w->ipc.r, -1, EV_READ);
	ev_io_set(&w->ipc.w, -1, EV_WRITE);
	in_drop(w);
	w->ipc.skip = 0;
	out_drop(w);
}

/* The custom metrics of w's last process go (a new one starts). */
void
ipc_metrics_clear(struct worker *w)
{
	size_t	i;

	for (i = 0; i < w->ipc.nmetrics; i++)
		free(w->ipc.metrics[i].name);
	w->ipc.nmetrics = 0;
}

void
ipc_free(struct worker *w)
{
	ipc_close(w);
	ipc_metrics_clear(w);
	free(w->ipc.metrics);
	w->ipc.metrics = NULL;
}

/*
 * Queue one line for w. -1 (counted as dropped) if it has no channel, or
 * its queue or all channels' buffers together are full.
 */
int
ipc_send(struct worker *w, const char *line)
{
	size_t	len = strlen(line);

	if (w->ipc.r.fd == -1 || w->pid <= 0 ||
	    w->ipc.outlen - w->ipc.outoff + len + 1 > IPC_OUT_MAX ||
	    ipc_held + len + 1 > IPC_HELD_MAX) {
		w->ipc.dropped_out++;
		return -1;
	}
	if (w->ipc.outoff > 0) {
		memmove(w->ipc.out, w->ipc.out + w->ipc.outoff,
		    w->ipc.outlen - w->ipc.outoff);
		w->ipc.outlen -= w->ipc.outoff;
		w->ipc.outoff = 0;
	}
	if (w->ipc.outlen + len + 1 > w->ipc.outcap) {
		w->ipc.outcap = w->ipc.outcap * 2 > w->ipc.outlen + len + 1 ?
		    w->ipc.outcap * 2 : w->ipc.outlen + len + 1;
		w->ipc.out = xrealloc(w->ipc.out, w->ipc.outcap);
	}
	memcpy(w->ipc.out + w->ipc.outlen, line, len);
	w->ipc.out[w->ipc.outlen + len] = '\n';
	w->ipc.outlen += len + 1;
	ipc_held += len + 1;
	ev_io_start(pmd_loop, &w->ipc.w);
	return 0;
}

static void
ipc_write_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct worker	*w = container_of(io, struct worker, ipc.w);
	ssize_t		 n;

	(void)revents;
	while (w->ipc.outoff < w->ipc.outlen) {
		n = send(io->fd, w->ipc.out + w->ipc.outoff,
		    w->ipc.outlen - w->ipc.outoff, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n == -1) {
			/* The worker closed its end: what waits is lost. */
			w->ipc.dropped_out++;
			break;
		}
		w->ipc.outoff += n;
		ipc_held -= n;
	}
	out_drop(w);
	ev_io_stop(loop, io);
}

/* {"type":"metrics","data":{...}}: the worker's figures, numbers only. */
static int
set_metrics(struct worker *w, cJSON *data)
{
	cJSON	*v;
	size_t	 i, n = 0;

	if (!cJSON_IsObject(data))
		return -1;
	/* A name goes out as a label value: printable UTF-8 only. */
	cJSON_ArrayForEach(v, data) {
		if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
		    !text_printable(v->string, 64) || ++n > IPC_METRICS_MAX)
			return -1;
	}
	for (i = 0; i < w->ipc.nmetrics; i++)
		free(w->ipc.metrics[i].name);
	w->ipc.metrics = xrealloc(w->ipc.metrics, (n + 1) *
	    sizeof *w->ipc.metrics);
	w->ipc.nmetrics = 0;
	cJSON_ArrayForEach(v, data) {
		w->ipc.metrics[w->ipc.nmetrics].name = xstrdup(v->string);
		w->ipc.metrics[w->ipc.nmetrics++].value = v->valuedouble;
	}
	return 0;
}

/* To the app's other workers that run. */
static void
broadcast(struct worker *from, const char *line)
{
	struct app	*a = from->app;
	unsigned	 i;

	for (i = 0; i < a->nworkers; i++) {
		if (a->workers[i] != from && a->workers[i]->pid > 0)
			ipc_send(a->workers[i], line);
	}
}

static void
ipc_message(struct worker *w, char *line)
{
	cJSON		*m, *type, *cmd;

	/* A NUL (\u0000) would cut every string it is in: not taken. */
	if (strstr(line, "\\u0000") != NULL ||
	    (m = cJSON_Parse(line)) == NULL) {
		w->ipc.bad++;
		return;
	}
	cmd = cJSON_GetObjectItemCaseSensitive(m, "cmd");
	if (cJSON_IsObject(m) && cJSON_IsString(cmd) &&
	    strncmp(cmd->valuestring, "NODE_", 5) == 0) {
		cJSON_Delete(m);
		return;
	}
	type = cJSON_GetObjectItemCaseSensitive(m, "type");
	if (cJSON_IsString(m) && strcmp(m->valuestring, "ready") == 0) {
		if (w->app->cfg->wait_ready && w->sm.state == W_STARTING) {
			log_info("%s:%u: pid %ld is ready (process.send)",
			    w->app->name, w->instance, (long)w->pid);
			worker_ready(w);
		}
	} else if (cJSON_IsObject(m) && cJSON_IsString(type) &&
	    strcmp(type->valuestring, "metrics") == 0) {
		if (set_metrics(w, cJSON_GetObjectItemCaseSensitive(m,
		    "data")) == -1) {
			w->ipc.bad++;
			cJSON_Delete(m);
			return;
		}
	} else if (cJSON_IsObject(m) && cJSON_IsString(type) &&
	    strcmp(type->valuestring, "broadcast") == 0)
		broadcast(w, line);
	cJSON_Delete(m);
	event_emit(w->app, w, "message", xstrdup(line), "%s", line);
}

static void
ipc_read_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct worker	*w = container_of(io, struct worker, ipc.r);
	char		 buf[16384], *nl, *p, *line;
	ssize_t		 n;
	size_t		 len;
	int		 turns = 0;

	(void)loop; (void)revents;
	/* A few reads per turn: a flooding worker must not hold the loop. */
	while (turns++ < 4) {
		n = recv(io->fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			/* The worker closed its end (process.disconnect()). */
			ipc_close(w);
			return;
		}
		for (p = buf; p < buf + n; p = nl + 1) {
			nl = memchr(p, '\n', buf + n - p);
			len = (nl != NULL ? nl : buf + n) - p;
			if (w->ipc.skip) {
				/* The rest of a line that was too long. */
				if (nl == NULL)
					break;
				w->ipc.skip = 0;
				continue;
			}
			if (w->ipc.inlen + len > IPC_LINE_MAX || (nl == NULL &&
			    ipc_held + len > IPC_HELD_MAX)) {
				w->ipc.bad++;
				in_drop(w);
				w->ipc.skip = nl == NULL;
				if (nl == NULL)
					break;
				continue;
			}
			if (nl != NULL && w->ipc.inlen == 0) {
				/* Whole in this read: no copy. */
				*nl = '\0';
				line = p;
			} else {
				w->ipc.in = xrealloc(w->ipc.in, w->ipc.inlen +
				    len + 1);
				memcpy(w->ipc.in + w->ipc.inlen, p, len);
				w->ipc.inlen += len;
				ipc_held += len;
				if (nl == NULL)
					break;	/* the rest comes later */
				w->ipc.in[w->ipc.inlen] = '\0';
				line = w->ipc.in;
			}
			if (line[0] != '\0')
				ipc_message(w, line);
			if (w->ipc.r.fd == -1)
				return;
			in_drop(w);
		}
	}
}
