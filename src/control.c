/*
 * The control socket: accepts clients, checks them with SO_PEERCRED, reads
 * one JSON request per line, dispatches it to the command table and queues
 * the reply. Nothing here blocks: replies are written as the socket takes
 * them, and a client that stops reading for STALL_SECONDS or lets
 * OUT_MAX bytes pile up is dropped. A command may defer its reply until
 * the workers it acted on have settled (client_wait).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"

#define STALL_SECONDS	10.0
#define OUT_MAX		(8 * 1024 * 1024)
#define FOLLOW_MAX	(1024 * 1024)	/* a follower this far behind goes */

struct client {
	LIST_ENTRY(client)	 entry;
	ev_io			 read_w;
	ev_io			 write_w;
	ev_timer		 stall_w;
	uid_t			 uid;

	char			*in;
	size_t			 inlen;
	size_t			 incap;
	char			*out;		/* replies from outoff to outlen */
	size_t			 outlen;
	size_t			 outoff;
	size_t			 outcap;
	int			 closing;	/* close once out is flushed */

	client_wait_fn		 wait;
	struct target		 target;
	int			 mode;
	int			 kill_reply;	/* answer when pmd exits */

	int			 follow;	/* streams log lines */
	char			*follow_app;	/* NULL: every app */
	int			 follow_mask;
};

static LIST_HEAD(, client) clients = LIST_HEAD_INITIALIZER(clients);
static unsigned	 nfollowers;
static ev_io	 listen_w;
static char	*listen_path;
static gid_t	 listen_gid = (gid_t)-1;

static void	client_process(struct client *);

static void
client_free(struct client *c)
{
	ev_io_stop(EV_DEFAULT, &c->read_w);
	ev_io_stop(EV_DEFAULT, &c->write_w);
	ev_timer_stop(EV_DEFAULT, &c->stall_w);
	close(c->read_w.fd);
	LIST_REMOVE(c, entry);
	if (c->follow && --nfollowers == 0)
		log_tap = NULL;
	free(c->follow_app);
	target_clear(&c->target);
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
		ev_timer_again(EV_DEFAULT, &c->stall_w);
	}
	if (c->outoff < c->outlen) {
		ev_io_start(EV_DEFAULT, &c->write_w);
		if (!ev_is_active(&c->stall_w))
			ev_timer_again(EV_DEFAULT, &c->stall_w);
		return 0;
	}
	c->outoff = c->outlen = 0;
	ev_io_stop(EV_DEFAULT, &c->write_w);
	ev_timer_stop(EV_DEFAULT, &c->stall_w);
	if (c->closing) {
		client_free(c);
		return -1;
	}
	return 0;
}

/* Queue obj (taking it) as one line. Returns -1 if c was freed. */
static int
client_send(struct client *c, cJSON *obj)
{
	char	*s = cJSON_PrintUnformatted(obj);
	size_t	 len = strlen(s);

	cJSON_Delete(obj);
	if (c->outlen - c->outoff + len + 1 > OUT_MAX) {
		log_warn("control: client (uid %ld) does not read its "
		    "replies; dropped", (long)c->uid);
		free(s);
		client_free(c);
		return -1;
	}
	if (c->outlen + len + 1 > c->outcap && c->outoff > 0) {
		memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
		c->outlen -= c->outoff;
		c->outoff = 0;
	}
	if (c->outlen + len + 1 > c->outcap) {
		while (c->outlen + len + 1 > c->outcap)
			c->outcap = c->outcap ? c->outcap * 2 : 4096;
		c->out = xrealloc(c->out, c->outcap);
	}
	memcpy(c->out + c->outlen, s, len);
	c->out[c->outlen + len] = '\n';
	c->outlen += len + 1;
	free(s);
	/* While the socket is full, write_cb sends when it has room. */
	if (ev_is_active(&c->write_w))
		return 0;
	return client_flush(c);
}

/* An error for a request we cannot go on from: reply, then close. */
static void
client_refuse(struct client *c, cJSON *reply)
{
	c->closing = 1;
	ev_io_stop(EV_DEFAULT, &c->read_w);
	client_send(c, reply);
}

static const char *const stopping_ok[] = {
	"ping", "version", "list", "show", "logs", "kill",
};

/* Run one request line. Returns -1 if c was freed. */
static int
client_request(struct client *c, const char *line, size_t len)
{
	const struct cmd_entry	*ce;
	cJSON			*req, *v, *reply;
	const char		*name;
	size_t			 i;

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
	if ((ce = cmd_find(name)) == NULL) {
		reply = reply_error(PMD_E_NOCMD, "unknown command \"%.64s\"",
		    name);
		cJSON_Delete(req);
		client_refuse(c, reply);
		return -1;
	}
	if (daemon_stopping) {
		for (i = 0; i < nitems(stopping_ok); i++) {
			if (strcmp(name, stopping_ok[i]) == 0)
				break;
		}
		if (i == nitems(stopping_ok)) {
			cJSON_Delete(req);
			return client_send(c, reply_error(PMD_E_SHUTDOWN,
			    "pmd is shutting down"));
		}
	}
	reply = ce->exec(c, req);
	cJSON_Delete(req);
	if (reply == NULL) {
		/* Deferred: read nothing more until it is answered. */
		ev_io_stop(EV_DEFAULT, &c->read_w);
		return 0;
	}
	return client_send(c, reply);
}

/* Run the complete lines in c->in, unless a reply is deferred. */
static void
client_process(struct client *c)
{
	char	*nl, *line;
	size_t	 off = 0, len;
	int	 gone;

	if (c->follow) {
		c->inlen = 0;	/* a follower only listens */
		return;
	}
	while (c->wait == NULL && !c->kill_reply && !c->closing &&
	    (nl = memchr(c->in + off, '\n', c->inlen - off)) != NULL) {
		len = nl - (c->in + off);
		/* client_request may free c: take the line out first. */
		line = xstrndup(c->in + off, len);
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
	if (c->inlen > PMD_MAX_REQUEST)
		client_refuse(c, reply_error(PMD_E_TOOBIG, "request longer "
		    "than %d bytes", PMD_MAX_REQUEST));
}

static void
read_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct client	*c = container_of(io, struct client, read_w);
	ssize_t		 n;

	(void)loop; (void)revents;
	if (c->incap - c->inlen < 65536) {
		c->incap = c->inlen + 65536;
		c->in = xrealloc(c->in, c->incap);
	}
	n = recv(io->fd, c->in + c->inlen, c->incap - c->inlen, MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_free(c);
		return;
	}
	c->inlen += n;
	client_process(c);
}

static void
write_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop; (void)revents;
	client_flush(container_of(io, struct client, write_w));
}

static void
stall_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct client	*c = container_of(t, struct client, stall_w);

	(void)loop; (void)revents;
	log_warn("control: client (uid %ld) stopped reading; dropped",
	    (long)c->uid);
	client_free(c);
}

static int
peer_allowed(const struct ucred *cred)
{
	struct passwd	*pw;
	gid_t		 groups[256];
	int		 n = nitems(groups), i;

	if (cred->uid == 0 || cred->uid == geteuid())
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

static void
accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct client	*c;
	struct ucred	 cred;
	socklen_t	 len = sizeof cred;
	int		 fd;

	(void)revents;
	fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd == -1) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("control: accept: %s", strerror(errno));
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->target.instance = -1;
	ev_io_init(&c->read_w, read_cb, fd, EV_READ);
	ev_io_init(&c->write_w, write_cb, fd, EV_WRITE);
	ev_init(&c->stall_w, stall_cb);
	c->stall_w.repeat = STALL_SECONDS;
	LIST_INSERT_HEAD(&clients, c, entry);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		client_refuse(c, reply_error(PMD_E_PROTO, "cannot identify "
		    "peer: %s", strerror(errno)));
		return;
	}
	c->uid = cred.uid;
	if (!peer_allowed(&cred)) {
		log_warn("control: refused uid %ld", (long)cred.uid);
		client_refuse(c, reply_error("EPERM", "uid %ld may not use "
		    "this pmd", (long)cred.uid));
		return;
	}
	ev_io_start(loop, &c->read_w);
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
	ev_io_start(EV_DEFAULT, &listen_w);
	return 0;
}

void
control_close(void)
{
	while (!LIST_EMPTY(&clients))
		client_free(LIST_FIRST(&clients));
	if (listen_path != NULL) {
		ev_io_stop(EV_DEFAULT, &listen_w);
		close(listen_w.fd);
		unlink(listen_path);
		free(listen_path);
		listen_path = NULL;
	}
}

/* Defer c's reply until fn says the workers of t (taken) have settled. */
void
client_wait(struct client *c, client_wait_fn fn, struct target *t, int mode)
{
	target_clear(&c->target);
	c->target = *t;
	t->name = NULL;
	c->mode = mode;
	if (fn == NULL)
		c->kill_reply = 1;
	else
		c->wait = fn;
	daemon_dirty();
}

struct target *
client_target(struct client *c)
{
	return &c->target;
}

int
client_mode(struct client *c)
{
	return c->mode;
}

void
control_check_waiters(void)
{
	struct client	*c, *next;
	cJSON		*reply;

	for (c = LIST_FIRST(&clients); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		if (c->wait == NULL || !c->wait(c, &reply))
			continue;
		c->wait = NULL;
		target_clear(&c->target);
		if (client_send(c, reply) == -1)
			continue;
		ev_io_start(EV_DEFAULT, &c->read_w);
		client_process(c);
	}
}

/* pmd is about to exit: answer `pmctl kill`, as far as the socket takes. */
void
control_kill_replies(void)
{
	struct client	*c, *next;

	for (c = LIST_FIRST(&clients); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		if (c->kill_reply) {
			c->kill_reply = 0;
			client_send(c, reply_ok());
		}
	}
}

/* Send each new log line to the followers that want it. */
static void
control_tap(const char *app, int instance, int stream, const char *line)
{
	struct client	*c, *next;
	cJSON		*o;

	for (c = LIST_FIRST(&clients); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		if (!c->follow || !(c->follow_mask & (1 << stream)) ||
		    (c->follow_app != NULL && strcmp(c->follow_app, app) != 0))
			continue;
		if (c->outlen - c->outoff > FOLLOW_MAX) {
			log_warn("control: log follower (uid %ld) does not keep "
			    "up; dropped", (long)c->uid);
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

/* From now on c gets the log lines of app (every app if NULL) in mask. */
void
client_follow(struct client *c, const char *app, int mask)
{
	c->follow = 1;
	c->follow_app = app != NULL ? xstrdup(app) : NULL;
	c->follow_mask = mask;
	nfollowers++;
	log_tap = control_tap;
}
