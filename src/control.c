/*
 * The control socket: accepts clients, checks them with SO_PEERCRED, reads
 * one JSON request per line, checks its fields against the command's entry,
 * runs it and queues the reply. Nothing here blocks, and no client can cost
 * the others much:
 * - at most max_clients are served; a client past them makes room by
 *   closing the longest-idle connection of the uid that holds the most
 *   (its own uid's when that is the one), so one uid's connections never
 *   lock another's out; with nothing idle to close it is answered ETOOMANY;
 * - one fd is held spare: out of fds, pmd closes it to accept one
 *   connection, serves it if the peer is root or pmd's own uid (else
 *   answers it with an error) and takes the spare again once it can, so the
 *   owner gets through whatever took the fds; accepting pauses meanwhile
 *   instead of spinning;
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
 * supervision. Replies are valid UTF-8 whatever bytes they echo.
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

#define STALL_SECONDS	10.0
#define OUT_MAX		(8 * 1024 * 1024)
#define FOLLOW_MAX	(1024 * 1024)	/* a follower this far behind goes */
#define FOLLOW_LOGS	1
#define FOLLOW_EVENTS	2
#define ROWS_ASKED	1		/* the next reply carries the table */
#define ROWS_MAKING	2		/* its head is sent, rows follow */
#define REQ_BATCH	4		/* requests of one client per wake-up */
#define ROWS_BATCH	256		/* rows of the table per wake-up */
#define MAX_CLIENTS	256		/* max_clients by default */
#define IDLE_MS		60000		/* client_idle_timeout by default */
#define ACCEPT_PAUSE	0.25		/* seconds without accept after EMFILE */
#define WARN_EVERY	10.0		/* seconds between two fd warnings */

struct client {
	LIST_ENTRY(client)	 entry;
	ev_io			 read_w;
	ev_io			 write_w;
	ev_timer		 stall_w;
	ev_timer		 idle_w;	/* nothing in flight for long */
	ev_timer		 more_w;	/* the next batch of requests */
	struct ucred		 cred;		/* the peer, from SO_PEERCRED */
	int			 counted;	/* served: counts to max_clients */
	int			 spare;		/* on the spare fd's slot */

	char			*in;
	size_t			 inlen;
	size_t			 incap;
	char			*out;		/* replies from outoff to outlen */
	size_t			 outlen;
	size_t			 outoff;
	size_t			 outcap;
	int			 closing;	/* close once out is flushed */

	client_wait_fn		 wait;
	void			*wait_arg;	/* the command's, for wait */
	void			(*wait_free)(void *);
	double			 since;		/* mono_now() its request began */
	int			 kill_reply;	/* answer when pmd exits */
	int			 rows;		/* ROWS_ASKED, ROWS_MAKING */
	struct rows_at		 rows_at;

	int			 follow;	/* streams: FOLLOW_LOGS, _EVENTS */
	char			*follow_app;	/* NULL: every app */
	int			 follow_ns;	/* follow_app names a namespace */
	int			 follow_mask;
};

static LIST_HEAD(, client) clients = LIST_HEAD_INITIALIZER(clients);
static unsigned	 nfollowers;
static unsigned	 nclients;
static ev_io	 listen_w;
static ev_timer	 pause_w;	/* accept again after running out of fds */
static int	 spare_fd = -1;	/* closed to accept when out of fds */
static char	*listen_path;
static gid_t	 listen_gid = (gid_t)-1;
static struct {
	unsigned	 max_clients;	/* served at once */
	uint64_t	 idle_ms;	/* nothing in flight this long: closed */
} limits = { MAX_CLIENTS, IDLE_MS };

static void	client_process(struct client *);
static void	spare_take(void);

/* Whether a whole request line waits in c->in. */
static int
has_line(const struct client *c)
{
	return c->inlen > 0 && memchr(c->in, '\n', c->inlen) != NULL;
}
static void	client_idle(struct client *);

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

static void
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
static void
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
static void
client_idle(struct client *c)
{
	if (c->wait != NULL || c->kill_reply || c->follow || c->closing ||
	    c->rows || c->outlen != c->outoff || limits.idle_ms == 0)
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

/* Hold the spare fd again, if it is not held and an fd is free. */
static void
spare_take(void)
{
	if (spare_fd == -1)
		spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void
pause_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t; (void)revents;
	spare_take();
	ev_io_start(loop, &listen_w);
}

/* Out of fds: stop accepting for a moment; say so now and then. */
static void
accept_pause(int e)
{
	static double	 warned = -WARN_EVERY;
	static unsigned	 quiet;
	double		 now = mono_now();

	ev_io_stop(pmd_loop, &listen_w);
	ev_timer_set(&pause_w, ACCEPT_PAUSE, 0);
	ev_timer_start(pmd_loop, &pause_w);
	if (now - warned < WARN_EVERY) {
		quiet++;
		return;
	}
	log_warn("control: accept: %s: only pmd's owner is served, one "
	    "connection at a time (%u more times since the last warning); "
	    "raise the fd limit or lower max_clients", strerror(e), quiet);
	warned = now;
	quiet = 0;
}

/* Root and pmd's own uid: the peers that pmd serves whatever happens. */
static int
peer_owner(const struct ucred *cred)
{
	return cred->uid == 0 || cred->uid == geteuid();
}

static int
peer_allowed(const struct ucred *cred)
{
	struct passwd	*pw;
	gid_t		 groups[256];
	int		 n = nitems(groups), i;

	if (peer_owner(cred))
		return 1;
	if (listen_gid == (gid_t)-1)
		return 0;
	if (cred->gid == listen_gid)
		return 1;
	if ((pw = getpwuid(cred->uid)) == NULL ||
	    getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) == -1)
		return 0;
	for (i = 0; i < n; i++) {
		if (groups[i] == listen_gid)
			return 1;
	}
	return 0;
}

/* Nothing in flight on c: no request running, no reply or table unsent. */
static int
client_quiet(const struct client *c)
{
	return c->wait == NULL && !c->kill_reply && !c->rows &&
	    !c->closing && c->outlen == c->outoff && !has_line(c);
}

static unsigned
uid_clients(uid_t uid)
{
	struct client	*c;
	unsigned	 n = 0;

	LIST_FOREACH(c, &clients, entry) {
		if (c->counted && c->cred.uid == uid)
			n++;
	}
	return n;
}

/*
 * max_clients are served and a peer of uid wants in: the connection to
 * close for it, or NULL. It is one of the uid that holds the most (uid's
 * own if uid holds as many), with nothing in flight, idle ones before
 * followers, the oldest first; a uid is never cut below the newcomer's.
 */
static struct client *
client_victim(uid_t uid)
{
	struct client	*c, *victim = NULL;
	unsigned	 mine = uid_clients(uid), top = 0, n;
	uid_t		 hog = uid;

	LIST_FOREACH(c, &clients, entry) {
		if (c->counted && (n = uid_clients(c->cred.uid)) > top) {
			top = n;
			hog = c->cred.uid;
		}
	}
	if (mine >= top)
		hog = uid;
	else if (top <= mine + 1)
		return NULL;
	/* The list is newest first: the last match is the oldest. */
	LIST_FOREACH(c, &clients, entry) {
		if (!c->counted || c->cred.uid != hog || !client_quiet(c))
			continue;
		if (victim == NULL || !c->follow || victim->follow)
			victim = c;
	}
	return victim;
}

static void
accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct client	*c, *victim;
	socklen_t	 len = sizeof c->cred;
	int		 fd, spare = 0;

	(void)revents;
	fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd == -1 && (errno == EMFILE || errno == ENFILE) &&
	    spare_fd != -1) {
		/* The spare's slot, for this one connection. */
		close(spare_fd);
		spare_fd = -1;
		fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		spare = fd != -1;
		if (fd == -1)
			spare_take();
	}
	if (fd == -1) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM)
			accept_pause(errno);
		else if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("control: accept: %s", strerror(errno));
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->spare = spare;
	ev_io_init(&c->read_w, read_cb, fd, EV_READ);
	ev_io_init(&c->write_w, write_cb, fd, EV_WRITE);
	ev_init(&c->stall_w, stall_cb);
	c->stall_w.repeat = STALL_SECONDS;
	ev_init(&c->more_w, more_cb);
	ev_init(&c->idle_w, idle_cb);
	c->idle_w.repeat = limits.idle_ms / 1000.0;
	LIST_INSERT_HEAD(&clients, c, entry);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len) == -1) {
		client_refuse(c, reply_error(PMD_E_PROTO, "cannot identify "
		    "peer: %s", strerror(errno)));
		return;
	}
	if (!peer_allowed(&c->cred)) {
		log_warn("control: refused uid %ld", (long)c->cred.uid);
		client_refuse(c, reply_error(PMD_E_PERM, "uid %ld may not use "
		    "this pmd", (long)c->cred.uid));
		return;
	}
	if (spare && !peer_owner(&c->cred)) {
		client_refuse(c, reply_error(PMD_E_TOOMANY, "pmd is out of file "
		    "descriptors and serves only its owner now; try again "
		    "later"));
		return;
	}
	if (nclients >= limits.max_clients && !spare) {
		if ((victim = client_victim(c->cred.uid)) == NULL) {
			client_refuse(c, reply_error(PMD_E_TOOMANY, "pmd serves "
			    "%u clients already (max_clients), none of them "
			    "idle; try again later", limits.max_clients));
			return;
		}
		log_warn("control: max_clients (%u) reached: closing an idle "
		    "connection of uid %ld for uid %ld", limits.max_clients,
		    (long)victim->cred.uid, (long)c->cred.uid);
		client_refuse(victim, reply_error(PMD_E_TOOMANY, "closed to "
		    "make room for another client (max_clients)"));
	}
	c->counted = 1;
	nclients++;
	ev_io_start(loop, &c->read_w);
	client_idle(c);
}

/* Bind path (0600, or 0660 with group gid). A stale socket is replaced. */
int
control_listen(const char *path, gid_t gid, char **cause)
{
	struct sockaddr_un	 sun;
	char			*why;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		*cause = xprintf("socket path longer than %zu bytes: %s",
		    sizeof sun.sun_path - 1, path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	/* We hold the lock, so a socket file there is a dead daemon's. */
	fd = sock_listen((struct sockaddr *)&sun, sizeof sun,
	    gid != (gid_t)-1 ? 0660 : 0600, 128, &why);
	if (fd == -1) {
		*cause = xprintf("%s: %s", path, why);
		free(why);
		return -1;
	}
	if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) == -1) {
		*cause = xprintf("%s: chown: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	fd_nonblock(fd);
	listen_gid = gid;
	listen_path = xstrdup(path);
	ev_io_init(&listen_w, accept_cb, fd, EV_READ);
	ev_io_start(pmd_loop, &listen_w);
	ev_init(&pause_w, pause_cb);
	spare_take();
	return 0;
}

/*
 * max_clients and client_idle_timeout from [daemon], for clients to come.
 * The default cap is 256, or what the fd budget leaves room for; a cap set
 * above that is lowered to it, with a warning that names the limit.
 */
void
control_apply_config(const struct config *cfg)
{
	unsigned	fit = budget_max_clients();

	limits.max_clients = cfg->max_clients;
	if (limits.max_clients == 0)
		limits.max_clients = MAX_CLIENTS < fit ? MAX_CLIENTS : fit;
	else if (limits.max_clients > fit) {
		log_warn("%s: max_clients = %u: pmd's fd limit leaves room for "
		    "%u clients beside its workers; serving at most %u (raise "
		    "the limit: LimitNOFILE= in pmd's unit, ulimit -n)",
		    cfg->file != NULL ? cfg->file : "[daemon]",
		    limits.max_clients, fit, fit);
		limits.max_clients = fit;
	}
	limits.idle_ms = cfg->client_idle_set ? cfg->client_idle_ms :
	    IDLE_MS;
}

unsigned
control_max_clients(void)
{
	return limits.max_clients;
}

void
control_close(void)
{
	while (!LIST_EMPTY(&clients))
		client_free(LIST_FIRST(&clients));
	if (listen_path != NULL) {
		ev_io_stop(pmd_loop, &listen_w);
		ev_timer_stop(pmd_loop, &pause_w);
		close(listen_w.fd);
		if (spare_fd != -1)
			close(spare_fd);
		spare_fd = -1;
		unlink(listen_path);
		free(listen_path);
		listen_path = NULL;
	}
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
