/*
 * A control client, once control-admit.c has let it in: reads one JSON
 * request per line, checks its fields against the command's entry, runs
 * it and queues the reply. Nothing here blocks, and no client can cost
 * the others much:
 * - a client with nothing in flight is closed after client_idle_timeout;
 * - a request is run only once the replies before it have been sent, and
 *   at most REQ_BATCH of one client's requests run per loop iteration, so
 *   a client that pipelines and never reads pins one reply, not megabytes;
 * - a client that stops reading for STALL_SECONDS, or lets OUT_MAX bytes
 *   pile up, is dropped.
 * A command may defer its reply until the workers it acted on have settled
 * (client_wait). A reply that carries the table of every worker (list, and
 * the commands that answer with it) is made ROWS_BATCH rows per loop
 * iteration, each batch once the last is sent (client_rows): sampling
 * 10,000 workers in /proc takes about 100 ms, which would otherwise hold up
 * supervision. Replies are valid UTF-8 whatever bytes they echo. A
 * follower (logs or events --follow) gets lines as they come, and is
 * dropped when it falls FOLLOW_MAX bytes behind.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "control.h"

#define OUT_MAX		(8 * 1024 * 1024)
#define FOLLOW_MAX	(1024 * 1024)	/* a follower this far behind goes */
#define ROWS_ASKED	1		/* the next reply carries the table */
#define ROWS_MAKING	2		/* its head is sent, rows follow */
#define REQ_BATCH	4		/* requests of one client per wake-up */
#define ROWS_BATCH	256		/* rows of the table per wake-up */

struct client_list clients = LIST_HEAD_INITIALIZER(clients);
unsigned	 nclients;
struct control_limits control_limits = { MAX_CLIENTS, IDLE_MS };
static unsigned	 nfollowers;

static void	client_process(struct client *);

/* Whether a whole request line waits in c->in. */
static int
has_line(const struct client *c)
{
	return c->inlen > 0 && memchr(c->in, '\n', c->inlen) != NULL;
}

/* c waits no more: its wait's argument goes. */
static void
wait_end(struct client *c)
{
	if (c->wait_free != NULL)
		c->wait_free(c->wait_arg);
	c->wait = NULL;
	c->wait_arg = NULL;
	c->wait_free = NULL;
}

void
client_free(struct client *c)
{
	ev_io_stop(pmd_loop, &c->read_w);
	ev_io_stop(pmd_loop, &c->write_w);
	ev_timer_stop(pmd_loop, &c->stall_w);
	ev_timer_stop(pmd_loop, &c->idle_w);
	ev_timer_stop(pmd_loop, &c->more_w);
	close(c->read_w.fd);
	LIST_REMOVE(c, entry);
	if (c->counted)
		nclients--;
	if (c->spare)
		spare_take();
	if (c->follow == FOLLOW_LOGS && --nfollowers == 0)
		log_tap = NULL;
	free(c->follow_app);
	wait_end(c);
	free(c->in);
	free(c->out);
	free(c);
}

/* Write what the socket takes. Returns -1 if c was freed. */
static int
client_flush(struct client *c)
{
	ssize_t	n;

	while (c->outoff < c->outlen) {
		n = send(c->read_w.fd, c->out + c->outoff,
		    c->outlen - c->outoff, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0) {
			client_free(c);
			return -1;
		}
		c->outoff += n;
		ev_timer_again(pmd_loop, &c->stall_w);
	}
	if (c->outoff < c->outlen) {
		ev_io_start(pmd_loop, &c->write_w);
		if (!ev_is_active(&c->stall_w))
			ev_timer_again(pmd_loop, &c->stall_w);
		return 0;
	}
	c->outoff = c->outlen = 0;
	ev_io_stop(pmd_loop, &c->write_w);
	ev_timer_stop(pmd_loop, &c->stall_w);
	if (c->closing) {
		client_free(c);
		return -1;
	}
	client_idle(c);
	return 0;
}

/*
 * Queue len bytes of s (taking it), and a newline if the reply ends there.
 * Returns -1 if c was freed.
 */
static int
client_put(struct client *c, char *s, size_t len, int end)
{
	size_t	 need = len + (end != 0);

	if (c->outlen - c->outoff + need > OUT_MAX) {
		log_warn("control: client (uid %ld) does not read its "
		    "replies; dropped", (long)c->cred.uid);
		free(s);
		client_free(c);
		return -1;
	}
	if (c->outlen + need > c->outcap && c->outoff > 0) {
		memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
		c->outlen -= c->outoff;
		c->outoff = 0;
	}
	if (c->outlen + need > c->outcap) {
		while (c->outlen + need > c->outcap)
			c->outcap = c->outcap ? c->outcap * 2 : 4096;
		c->out = xrealloc(c->out, c->outcap);
	}
	if (len > 0)
		memcpy(c->out + c->outlen, s, len);
	if (end)
		c->out[c->outlen + len] = '\n';
	c->outlen += need;
	free(s);
	ev_timer_stop(pmd_loop, &c->idle_w);
	/* While the socket is full, write_cb sends when it has room. */
	if (ev_is_active(&c->write_w))
		return 0;
	return client_flush(c);
}

/* Run c's next step (requests, or the next rows) in the next iteration. */
static void
client_more(struct client *c)
{
	if (ev_is_active(&c->more_w))
		return;
	ev_timer_set(&c->more_w, 0, 0);
	ev_timer_start(pmd_loop, &c->more_w);
}

/*
 * Queue obj (taking it) as one line. Returns -1 if c was freed. If the
 * reply carries the table, this is its head: {"ok":true,"workers":[ and
 * the rows follow.
 */
static int
client_send(struct client *c, cJSON *obj)
{
	char	*s = utf8_fix(cJSON_PrintUnformatted(obj));
	size_t	 len = strlen(s);
	int	 rows = c->rows == ROWS_ASKED && cJSON_IsTrue(
		    cJSON_GetObjectItemCaseSensitive(obj, "ok"));

	cJSON_Delete(obj);
	c->rows = 0;
	if (!rows)
		return client_put(c, s, len, 1);
	s = xrealloc(s, len + 16);
	strcpy(s + len - 1, ",\"workers\":[");	/* over the closing } */
	c->rows = ROWS_MAKING;
	memset(&c->rows_at, 0, sizeof c->rows_at);
	if (client_put(c, s, strlen(s), 0) == -1)
		return -1;
	client_more(c);
	return 0;
}

/*
 * Queue up to max more rows of the table, and its end after the last.
 * Returns -1 if c was freed, 1 once the table is whole, else 0.
 */
static int
client_rows_put(struct client *c, unsigned max)
{
	char	*s;
	size_t	 len;
	int	 done;

	done = cmd_list_rows(&c->rows_at, max, &s, &len);
	if (done) {
		s = xrealloc(s, len + 2);
		memcpy(s + len, "]}", 2);
		len += 2;
		c->rows = 0;
	}
	if (client_put(c, s, len, done) == -1)
		return -1;
	return done;
}

/* The next ROWS_BATCH rows; the requests after the table once it is whole. */
static void
client_rows_more(struct client *c)
{
	switch (client_rows_put(c, ROWS_BATCH)) {
	case -1:
		return;
	case 1:
		client_process(c);
		return;
	}
	if (c->outlen == c->outoff)
		client_more(c);
	/* else write_cb asks for more once the socket took these */
}

/* An error for a request we cannot go on from: reply, then close. */
void
client_refuse(struct client *c, cJSON *reply)
{
	c->closing = 1;
	ev_io_stop(pmd_loop, &c->read_w);
	client_send(c, reply);
}

/* Run one request line. Returns -1 if c was freed. */
static int
client_request(struct client *c, const char *line, size_t len)
{
	const struct cmd_entry	*ce;
	cJSON			*req, *v, *reply;
	const char		*name;

	if (memchr(line, '\0', len) != NULL) {
		client_refuse(c, reply_error(PMD_E_PROTO, "request contains a "
		    "NUL byte"));
		return -1;
	}
	req = cJSON_ParseWithLength(line, len);
	if (req == NULL || !cJSON_IsObject(req)) {
		cJSON_Delete(req);
		client_refuse(c, reply_error(PMD_E_PROTO, "request is not a "
		    "JSON object"));
		return -1;
	}
	v = cJSON_GetObjectItemCaseSensitive(req, "v");
	if (!cJSON_IsNumber(v) || v->valuedouble != PMD_PROTOCOL_VERSION) {
		cJSON_Delete(req);
		client_refuse(c, reply_error(PMD_E_VERSION, "field \"v\": "
		    "protocol version %d expected", PMD_PROTOCOL_VERSION));
		return -1;
	}
	if ((name = json_string(req, "cmd")) == NULL) {
		cJSON_Delete(req);
		client_refuse(c, reply_error(PMD_E_PROTO, "field \"cmd\": "
		    "expected a string"));
		return -1;
	}
	if ((ce = cmd_find(name, 0)) == NULL) {
		reply = reply_error(PMD_E_NOCMD, "unknown command \"%.64s\"",
		    name);
		cJSON_Delete(req);
		client_refuse(c, reply);
		return -1;
	}
	c->since = mono_now();	/* before the command spawns anything */
	if (c->follow)
		reply = reply_error(PMD_E_ARGS, "this connection follows %s "
		    "and takes no more requests; open another",
		    c->follow == FOLLOW_LOGS ? "logs" : "events");
	else if (daemon_stopping && !(ce->flags & CMD_WHILE_STOPPING))
		reply = reply_error(PMD_E_SHUTDOWN, "pmd is shutting down");
	else if ((reply = cmd_args_check(ce, req)) == NULL &&
	    (reply = ce->exec(c, req)) == NULL) {
		/* Deferred: run nothing more until it is answered. */
		cJSON_Delete(req);
		ev_timer_stop(pmd_loop, &c->idle_w);
		return 0;
	}
	cJSON_Delete(req);
	return client_send(c, reply);
}

/*
 * Run up to REQ_BATCH complete lines of c->in: none while a reply is
 * deferred or unsent. Reads no more while a complete line waits; a batch
 * cut short goes on in the next loop iteration.
 */
static void
client_process(struct client *c)
{
	char	*nl, *line;
	size_t	 off = 0, len;
	int	 n = 0, gone;

	if (c->rows == ROWS_MAKING) {
		if (c->outlen == c->outoff)
			client_more(c);
		return;
	}
	while (c->wait == NULL && !c->kill_reply && !c->closing &&
	    !c->rows && c->outlen == c->outoff && off < c->inlen &&
	    (nl = memchr(c->in + off, '\n', c->inlen - off)) != NULL) {
		if (n++ == REQ_BATCH) {
			/* The others' events first: on with c next iteration. */
			client_more(c);
			break;
		}
		len = nl - (c->in + off);
		/* client_request may free c: take the line out first. */
		line = xmalloc(len + 1);
		memcpy(line, c->in + off, len);
		line[len] = '\0';
		off += len + 1;
		gone = client_request(c, line, len);
		free(line);
		if (gone)
			return;
	}
	if (off > 0) {
		memmove(c->in, c->in + off, c->inlen - off);
		c->inlen -= off;
	}
	if (c->closing)
		return;
	if (c->inlen > PMD_MAX_REQUEST && !has_line(c)) {
		client_refuse(c, reply_error(PMD_E_TOOBIG, "request longer "
		    "than %d bytes", PMD_MAX_REQUEST));
		return;
	}
	/* Read on only when every line read so far has run. */
	if (c->wait == NULL && !c->kill_reply && !c->rows && !has_line(c))
		ev_io_start(pmd_loop, &c->read_w);
	else
		ev_io_stop(pmd_loop, &c->read_w);
}

/* Nothing in flight: the idle timeout runs. */
void
client_idle(struct client *c)
{
	if (c->wait != NULL || c->kill_reply || c->follow || c->closing ||
	    c->rows || c->outlen != c->outoff || control_limits.idle_ms == 0)
		return;
	ev_timer_again(pmd_loop, &c->idle_w);
}

static void
read_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct client	*c = container_of(io, struct client, read_w);
	ssize_t		 n;

	(void)loop; (void)revents;
	/* Lines left from the last batch run before anything is read. */
	if (!has_line(c)) {
		if (c->incap - c->inlen < 65536) {
			c->incap = c->inlen + 65536;
			c->in = xrealloc(c->in, c->incap);
		}
		n = recv(io->fd, c->in + c->inlen, c->incap - c->inlen,
		    MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			client_free(c);
			return;
		}
		c->inlen += n;
		if (ev_is_active(&c->idle_w))
			ev_timer_again(loop, &c->idle_w);
	}
	client_process(c);
}

static void
write_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct client	*c = container_of(io, struct client, write_w);

	(void)loop; (void)revents;
	/* All sent: the requests that waited for it may run. */
	if (client_flush(c) == 0 && c->outlen == c->outoff)
		client_process(c);
}

static void
more_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct client	*c = container_of(t, struct client, more_w);

	(void)loop; (void)revents;
	if (c->rows == ROWS_MAKING)
		client_rows_more(c);
	else
		client_process(c);
}

static void
stall_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct client	*c = container_of(t, struct client, stall_w);

	(void)loop; (void)revents;
	log_warn("control: client (uid %ld) stopped reading; dropped",
	    (long)c->cred.uid);
	client_free(c);
}

static void
idle_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop; (void)revents;
	client_free(container_of(t, struct client, idle_w));
}

/* A client on fd (spare: on the spare fd's slot), not yet reading. */
struct client *
client_new(int fd, int spare)
{
	struct client	*c = xcalloc(1, sizeof *c);

	c->spare = spare;
	ev_io_init(&c->read_w, read_cb, fd, EV_READ);
	ev_io_init(&c->write_w, write_cb, fd, EV_WRITE);
	ev_init(&c->stall_w, stall_cb);
	c->stall_w.repeat = STALL_SECONDS;
	ev_init(&c->more_w, more_cb);
	ev_init(&c->idle_w, idle_cb);
	c->idle_w.repeat = control_limits.idle_ms / 1000.0;
	LIST_INSERT_HEAD(&clients, c, entry);
	return c;
}

/* c is let in: its requests are read. */
void
client_start(struct client *c)
{
	ev_io_start(pmd_loop, &c->read_w);
	client_idle(c);
}

/* Nothing in flight on c: no request running, no reply or table unsent. */
int
client_quiet(const struct client *c)
{
	return c->wait == NULL && !c->kill_reply && !c->rows &&
	    !c->closing && c->outlen == c->outoff && !has_line(c);
}

/*
 * Defer c's reply until fn (called with arg after each loop turn that
 * changed something) says it is made; arg_free, if not NULL, frees arg
 * then or when c goes. Without fn, c is answered just before pmd exits.
 */
void
client_wait(struct client *c, client_wait_fn fn, void *arg,
    void (*arg_free)(void *))
{
	wait_end(c);
	c->wait_arg = arg;
	c->wait_free = arg_free;
	if (fn == NULL)
		c->kill_reply = 1;
	else
		c->wait = fn;
	daemon_dirty();
}

/* The reply c is about to get carries the table of workers. */
void
client_rows(struct client *c)
{
	c->rows = ROWS_ASKED;
}

/* Who is asking: uid, gid and pid of the peer. */
const struct ucred *
client_peer(struct client *c)
{
	return &c->cred;
}

/*
 * Whether the peer has less privilege than pmd (a member of the socket's
 * group talking to a root pmd): what it starts must run as itself.
 */
int
client_unprivileged(struct client *c)
{
	return geteuid() == 0 && c->cred.uid != 0;
}

/* When the request c waits for began (mono_now()). */
double
client_since(struct client *c)
{
	return c->since;
}

void
control_check_waiters(void)
{
	struct client	*c, *next;
	cJSON		*reply;

	for (c = LIST_FIRST(&clients); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		if (c->wait == NULL || !c->wait(c, c->wait_arg, &reply))
			continue;
		wait_end(c);
		if (client_send(c, reply) == -1)
			continue;
		client_process(c);
	}
}

/*
 * pmd is about to exit: finish the tables being made and answer `pmctl
 * kill`, as far as the socket takes.
 */
void
control_kill_replies(void)
{
	struct client	*c, *next;

	for (c = LIST_FIRST(&clients); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		/* A table half made is finished: the client gets it whole. */
		if (c->rows == ROWS_MAKING &&
		    client_rows_put(c, UINT_MAX) == -1)
			continue;
		if (c->kill_reply) {
			c->kill_reply = 0;
			client_send(c, reply_ok());
		}
	}
}

/* Whether c follows the lines of app: all, that app, or its namespace. */
static int
follows(const struct client *c, const char *app)
{
	const struct app	*a;

	if (c->follow_app == NULL)
		return 1;
	if (!c->follow_ns)
		return strcmp(c->follow_app, app) == 0;
	return (a = app_find(app)) != NULL &&
	    strcmp(a->cfg->namespace, c->follow_app) == 0;
}

/* Send each new log line to the followers that want it. */
static void
control_tap(const char *app, int instance, int stream, const char *line)
{
	struct client	*c, *next;
	cJSON		*o;

	for (c = LIST_FIRST(&clients); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		if (c->follow != FOLLOW_LOGS ||
		    !(c->follow_mask & (1 << stream)) || !follows(c, app))
			continue;
		if (c->outlen - c->outoff > FOLLOW_MAX) {
			log_warn("control: log follower (uid %ld) does not keep "
			    "up; dropped", (long)c->cred.uid);
			client_free(c);
			continue;
		}
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "app", app);
		cJSON_AddNumberToObject(o, "instance", instance);
		cJSON_AddStringToObject(o, "stream", stream == LOG_ERR ? "err" :
		    "out");
		cJSON_AddStringToObject(o, "line", line);
		client_send(c, o);
	}
}

/*
 * From now on c gets the log lines of app (every app if NULL; with ns,
 * the apps of that namespace) in mask.
 */
void
client_follow(struct client *c, const char *app, int ns, int mask)
{
	/* One follow per connection: client_request refuses a second. */
	if (c->follow)
		return;
	ev_timer_stop(pmd_loop, &c->idle_w);
	c->follow = FOLLOW_LOGS;
	c->follow_app = app != NULL ? xstrdup(app) : NULL;
	c->follow_ns = ns;
	c->follow_mask = mask;
	nfollowers++;
	log_tap = control_tap;
}

/* Send each new event to the followers that want it. */
static void
control_event(const struct event *e)
{
	struct client	*c, *next;

	for (c = LIST_FIRST(&clients); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		if (c->follow != FOLLOW_EVENTS || (c->follow_app != NULL &&
		    (e->app == NULL || strcmp(c->follow_app, e->app) != 0)))
			continue;
		if (c->outlen - c->outoff > FOLLOW_MAX) {
			log_warn("control: event follower (uid %ld) does not "
			    "keep up; dropped", (long)c->cred.uid);
			client_free(c);
			continue;
		}
		client_send(c, event_json(e));
	}
}

/* From now on c gets the events of app (every app if NULL). */
void
client_follow_events(struct client *c, const char *app)
{
	if (c->follow)
		return;
	ev_timer_stop(pmd_loop, &c->idle_w);
	c->follow = FOLLOW_EVENTS;
	c->follow_app = app != NULL ? xstrdup(app) : NULL;
	event_tap = control_event;
}

/*
 * pmctl update is about to execute the new pmd: the followers (logs and
 * events --follow) that have all they were owed written go on with it,
 * in *list (their fds and what they follow). One still owed bytes its
 * socket cannot take now is closed by the exec: pmctl says so.
 */
size_t
control_followers(struct follower **list)
{
	struct client	*c;
	size_t		 n = 0;

	*list = NULL;
	LIST_FOREACH(c, &clients, entry) {
		if (!c->follow || (c->outoff < c->outlen && send(c->read_w.fd,
		    c->out + c->outoff, c->outlen - c->outoff, MSG_DONTWAIT |
		    MSG_NOSIGNAL) != (ssize_t)(c->outlen - c->outoff)))
			continue;
		*list = xrealloc(*list, (n + 1) * sizeof **list);
		(*list)[n].fd = c->read_w.fd;
		(*list)[n].events = c->follow == FOLLOW_EVENTS;
		(*list)[n].app = c->follow_app;
		(*list)[n].ns = c->follow_ns;
		(*list)[n].mask = c->follow_mask;
		(*list)[n].uid = c->cred.uid;
		(*list)[n].gid = c->cred.gid;
		(*list)[n++].pid = c->cred.pid;
	}
	return n;
}

/* The new pmd: a follower the old one had, following on. */
void
control_adopt_follower(const struct follower *f)
{
	struct client	*c = client_new(f->fd, 0);

	c->cred.uid = f->uid;
	c->cred.gid = f->gid;
	c->cred.pid = f->pid;
	client_start(c);
	if (f->events)
		client_follow_events(c, f->app);
	else
		client_follow(c, f->app, f->ns, f->mask);
}

/*
 * The new pmd answers who asked for the update (fd, cred), on the
 * connection the old one carried: one reply, then it closes.
 */
void
control_update_done(int fd, const struct ucred *cred,
    const struct update_done *done)
{
	struct client	*c = client_new(fd, 0);

	c->cred = *cred;
	client_start(c);
	client_refuse(c, cmd_update_reply(done));
}

/* The connection's fd, for pmctl update to carry to the next pmd. */
int
client_fd(struct client *c)
{
	return c->read_w.fd;
}
