/*
 * The control protocol over HTTP, on the listener of [daemon] http (or
 * metrics): POST /api/v1/COMMAND with the request's fields as a JSON
 * object answers what the control socket answers, from the same command
 * table, because it is the control socket: each request gets a socket
 * pair, one end adopted by control.c as a client with pmd's owner's
 * credentials, the other read here. So every command, its checks, its
 * waits, the table of workers made in batches and the streams of logs and
 * events --follow (JSON lines, application/x-ndjson) are the same, and a
 * stream whose HTTP client does not read is dropped as a slow follower is.
 * GET /api/v1/ lists the commands and their fields.
 *
 * Every /api/ request needs "Authorization: Bearer TOKEN", the token in
 * http.token beside the dump (PMD_HOME, /var/lib/pmd): 32 random bytes as
 * hex, made at the first start with a listener, mode 0600, compared in
 * constant time; a wrong or missing one is 401. On a tcp:// address that
 * is not loopback the API is off (403) unless http_plain_api = true says
 * the user accepts the token in the clear. No CORS header is ever sent.
 */
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "http.h"

#define API_PREFIX	"/api/v1/"
#define API_BODY_MAX	(64 * 1024)	/* a request: well within a socket */
#define TOKEN_BYTES	32

static char	 token[TOKEN_BYTES * 2 + 1];
static char	*token_path;
static int	 api_on;		/* the address allows it */
static char	*api_off_why;

/* One request of the API: its body, then its end of the control client. */
struct api_req {
	LIST_ENTRY(api_req)	 entry;
	struct MHD_Connection	*conn;
	char			*body;
	size_t			 len;
	int			 too_big;
	int			 fd;		/* ours of the pair, or -1 */
	ev_io			 io;		/* readable: resume conn */
	int			 follow;	/* a stream of JSON lines */
	int			 suspended;
	char			*reply;		/* one reply line, read */
	size_t			 rlen;
	int			 done;		/* the reply is whole */
};
static LIST_HEAD(, api_req) reqs = LIST_HEAD_INITIALIZER(reqs);

/*
 * Whether the token file (open on fd) is not the owner's alone: a token
 * others can read is no secret, so it is refused until it is made 0600.
 */
static int
token_exposed(int fd, const char *path, char **cause)
{
	struct stat	st;

	if (fstat(fd, &st) == -1 || st.st_uid != geteuid()) {
		*cause = xprintf("%s: not pmd's own file: refused", path);
		return 1;
	}
	if ((st.st_mode & 077) == 0)
		return 0;
	*cause = xprintf("%s: readable by others (mode %04o): the API refuses "
	    "it until it is 0600 (chmod 600 %s)", path,
	    (unsigned)(st.st_mode & 07777), path);
	return 1;
}

/*
 * Before each request: the token file still there and private? A deleted
 * file is said once (the token read at start goes on); one made readable
 * by others turns the API off until it is fixed.
 */
static int
token_still_private(char **why)
{
	static int	 said_gone;
	struct stat	 st;

	if (token_path == NULL)
		return 0;
	if (stat(token_path, &st) == -1) {
		if (!said_gone++)
			log_warn("http: %s is gone: the API keeps the token it "
			    "read at start until pmd restarts and makes a new "
			    "one", token_path);
		return 1;
	}
	said_gone = 0;
	if ((st.st_mode & 077) != 0) {
		*why = xprintf("%s is readable by others (mode %04o): the API "
		    "refuses it until it is 0600", token_path,
		    (unsigned)(st.st_mode & 07777));
		return 0;
	}
	return 1;
}

/* The token: read from path, or made there (0600) if there is none. */
static int
token_load(const char *path, char **cause)
{
	unsigned char	 raw[TOKEN_BYTES];
	char		 buf[sizeof token + 1];
	ssize_t		 n;
	size_t		 i;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) != -1) {
		if (token_exposed(fd, path, cause)) {
			close(fd);
			return -1;
		}
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		if (strlen(buf) == TOKEN_BYTES * 2 &&
		    strspn(buf, "0123456789abcdef") == TOKEN_BYTES * 2) {
			memcpy(token, buf, sizeof token);
			return 0;
		}
		*cause = xprintf("%s: not a token (64 hex digits); remove it "
		    "and pmd makes a new one", path);
		return -1;
	}
	if (errno != ENOENT ||
	    getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
		*cause = xprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < sizeof raw; i++)
		snprintf(token + 2 * i, 3, "%02x", raw[i]);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1 || write(fd, token, strlen(token)) != (ssize_t)strlen(token)
	    || write(fd, "\n", 1) != 1) {
		*cause = xprintf("%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	log_info("http: made the API's token in %s", path);
	return 0;
}

/* The API's token, once a listener runs; else NULL. */
const char *
http_token(void)
{
	return token[0] != '\0' ? token : NULL;
}

/* Whether url's host is loopback (or a unix socket): no one listens in. */
static int
url_local(const char *url)
{
	if (strncmp(url, "unix:", 5) == 0)
		return 1;
	return strncmp(url, "tcp://127.", 10) == 0 ||
	    strncmp(url, "tcp://[::1]:", 12) == 0;
}

/*
 * The API of a listener on url: its token, and whether it is on (a
 * non-loopback address needs plain_ok). -1 with *cause if the token
 * cannot be had.
 */
int
api_init(const char *url, int plain_ok, char **cause)
{
	char	*dir, *path;
	int	 rc;

	free(api_off_why);
	api_off_why = NULL;
	api_on = url_local(url) || plain_ok;
	if (!api_on)
		api_off_why = xprintf("the API is off on %s: it is not a "
		    "loopback address, and the token would cross the network "
		    "in the clear; use an SSH tunnel (ssh -L), or set "
		    "http_plain_api = true", url);
	dir = path_dirname(dump_path);
	path = xprintf("%s/http.token", dir);
	free(dir);
	if ((rc = token_load(path, cause)) == -1) {
		free(path);
		return -1;
	}
	free(token_path);
	token_path = path;
	return 0;
}

/* Compare the request's bearer token with ours in constant time. */
static int
authorized(struct MHD_Connection *conn)
{
	const char	*h = p_lookup_connection_value(conn, MHD_HEADER_KIND,
			    MHD_HTTP_HEADER_AUTHORIZATION);
	unsigned char	 diff = 0;
	size_t		 i;

	if (h == NULL || strncmp(h, "Bearer ", 7) != 0 ||
	    strlen(h + 7) != strlen(token))
		return 0;
	for (i = 0; token[i] != '\0'; i++)
		diff |= (unsigned char)(h[7 + i] ^ token[i]);
	return diff == 0;
}

static enum MHD_Result
reply_text(struct MHD_Connection *conn, unsigned status, const char *type,
    char *text)
{
	struct MHD_Response	*r;
	enum MHD_Result		 ret;

	r = p_create_response_from_buffer(strlen(text), text,
	    MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(text);
		return MHD_NO;
	}
	p_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_UNAUTHORIZED)
		p_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer realm=\"pmd\"");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		p_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "POST");
	ret = p_queue_response(conn, status, r);
	p_destroy_response(r);
	return ret;
}

/* o (taken) as one JSON line. */
static enum MHD_Result
reply_json(struct MHD_Connection *conn, unsigned status, cJSON *o)
{
	char	*s = cJSON_PrintUnformatted(o), *line;

	cJSON_Delete(o);
	line = xprintf("%s\n", s);
	free(s);
	return reply_text(conn, status, "application/json", line);
}

/* An error as the control socket words one, with an HTTP status. */
static enum MHD_Result
reply_err(struct MHD_Connection *conn, unsigned status, const char *code,
    const char *msg)
{
	cJSON	*o = cJSON_CreateObject(), *e;

	cJSON_AddBoolToObject(o, "ok", 0);
	e = cJSON_AddObjectToObject(o, "error");
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", msg);
	return reply_json(conn, status, o);
}

static const char *
type_name(enum arg_type t)
{
	static const char *const names[] = {
		[ARG_STRING] = "string", [ARG_BOOL] = "bool",
		[ARG_INT] = "int", [ARG_INT_OR_STRING] = "int or string",
		[ARG_STRINGS] = "strings", [ARG_STRING_MAP] = "string map",
		[ARG_OBJECTS] = "objects",
	};

	return names[t];
}

/* GET /api/v1/: every command pmd runs, with its fields. */
static enum MHD_Result
list_commands(struct MHD_Connection *conn)
{
	const struct cmd_entry *const	*ce;
	const struct cmd_arg		*a;
	cJSON				*o, *cmds, *c, *fields, *f;

	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", 1);
	cJSON_AddNumberToObject(o, "v", PMD_PROTOCOL_VERSION);
	cmds = cJSON_AddArrayToObject(o, "commands");
	for (ce = cmd_table; *ce != NULL; ce++) {
		if ((*ce)->exec == NULL)
			continue;	/* pmctl's own */
		c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "name", (*ce)->name);
		cJSON_AddStringToObject(c, "help", (*ce)->help);
		cJSON_AddBoolToObject(c, "waits", ((*ce)->flags & CMD_WAITS) != 0);
		fields = cJSON_AddArrayToObject(c, "fields");
		for (a = (*ce)->args; a != NULL && a->field != NULL; a++) {
			f = cJSON_CreateObject();
			cJSON_AddStringToObject(f, "name", a->field);
			cJSON_AddStringToObject(f, "type", type_name(a->type));
			cJSON_AddBoolToObject(f, "required", a->required);
			if (a->type == ARG_INT || a->type == ARG_INT_OR_STRING) {
				cJSON_AddNumberToObject(f, "min", a->min);
				cJSON_AddNumberToObject(f, "max", a->max);
			}
			cJSON_AddItemToArray(fields, f);
		}
		cJSON_AddItemToArray(cmds, c);
	}
	return reply_json(conn, MHD_HTTP_OK, o);
}

static void
req_free(struct api_req *q)
{
	if (q->fd != -1) {
		ev_io_stop(pmd_loop, &q->io);
		close(q->fd);	/* control.c sees its client go */
	}
	LIST_REMOVE(q, entry);
	free(q->body);
	free(q->reply);
	free(q);
}

/* Our end of the pair is readable (or closed): MHD goes on. */
static void
io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct api_req	*q = container_of(io, struct api_req, io);
	char		 buf[16384], *nl;
	ssize_t		 n;

	(void)revents;
	ev_io_stop(loop, io);
	if (!q->follow) {
		/* One reply line, read whole before the status is known. */
		while ((n = recv(q->fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
			q->reply = xrealloc(q->reply, q->rlen + n + 1);
			memcpy(q->reply + q->rlen, buf, n);
			q->rlen += n;
			q->reply[q->rlen] = '\0';
			if ((nl = memchr(q->reply, '\n', q->rlen)) != NULL) {
				q->rlen = nl + 1 - q->reply;
				q->done = 1;
				break;
			}
		}
		if (!q->done && n == -1 && (errno == EAGAIN ||
		    errno == EINTR)) {
			ev_io_start(loop, io);
			return;
		}
		q->done = 1;	/* whole, or the control side closed */
	}
	if (q->suspended) {
		q->suspended = 0;
		p_resume_connection(q->conn);
	}
	http_run();
}

/* A stream's next lines, as they come; suspended while there are none. */
static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct api_req	*q = cls;
	ssize_t		 n;

	(void)pos;
	if (q->fd == -1)
		return MHD_CONTENT_READER_END_OF_STREAM;
	n = recv(q->fd, buf, max, MSG_DONTWAIT);
	if (n > 0)
		return n;
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		q->suspended = 1;
		p_suspend_connection(q->conn);
		ev_io_start(pmd_loop, &q->io);
		return 0;
	}
	return MHD_CONTENT_READER_END_OF_STREAM;
}

static void
stream_free(void *cls)
{
	(void)cls;	/* the request goes with the connection */
}

/* The HTTP status of a control reply: 200, or one its error code means. */
static unsigned
reply_status(const char *line)
{
	static const struct {
		const char	*code;
		unsigned	 status;
	} map[] = {
		{ PMD_E_PROTO, 400 }, { PMD_E_VERSION, 400 },
		{ PMD_E_TOOBIG, 413 }, { PMD_E_NOCMD, 404 },
		{ PMD_E_ARGS, 400 }, { PMD_E_NOAPP, 404 },
		{ PMD_E_EXIST, 409 }, { PMD_E_CONFIG, 422 },
		{ PMD_E_FAILED, 500 }, { PMD_E_SHUTDOWN, 503 },
		{ PMD_E_TOOMANY, 503 }, { PMD_E_PERM, 403 },
	};
	cJSON		*o = cJSON_Parse(line);
	const char	*code;
	unsigned	 status = 200;
	size_t		 i;

	if (o == NULL)
		return 502;
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok"))) {
		code = json_string(cJSON_GetObjectItemCaseSensitive(o, "error"),
		    "code");
		status = 500;
		for (i = 0; code != NULL && i < nitems(map); i++) {
			if (strcmp(map[i].code, code) == 0)
				status = map[i].status;
		}
	}
	cJSON_Delete(o);
	return status;
}

/*
 * The request as the control socket takes it: the body's object with
 * "v" and "cmd" set from the path. NULL with *why if the body is not a
 * JSON object.
 */
static char *
request_line(const char *cmd, struct api_req *q, const char **why)
{
	cJSON	*o;
	char	*s, *line;

	o = q->len == 0 ? cJSON_CreateObject() : cJSON_ParseWithLength(q->body,
	    q->len);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		*why = "the body is not a JSON object of the request's fields";
		return NULL;
	}
	cJSON_DeleteItemFromObject(o, "v");
	cJSON_DeleteItemFromObject(o, "cmd");
	cJSON_AddNumberToObject(o, "v", PMD_PROTOCOL_VERSION);
	cJSON_AddStringToObject(o, "cmd", cmd);
	q->follow = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "follow"));
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	line = xprintf("%s\n", s);
	free(s);
	return line;
}

/* Hand the request to control.c on a socket pair; -1 if it cannot be. */
static int
run_request(struct api_req *q, const char *line)
{
	struct ucred	owner = { getpid(), geteuid(), getegid() };
	int		sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
	    sv) == -1)
		return -1;
	if (send(sv[1], line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL) !=
	    (ssize_t)strlen(line)) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	control_adopt(sv[0], &owner);
	q->fd = sv[1];
	ev_io_init(&q->io, io_cb, q->fd, EV_READ);
	return 0;
}

/* The request is whole: run it, and answer or stream. */
static enum MHD_Result
api_run(struct MHD_Connection *conn, const char *cmd, struct api_req *q)
{
	struct MHD_Response	*r;
	enum MHD_Result		 ret;
	const char		*why;
	char			*line;

	if (q->too_big)
		return reply_err(conn, 413, PMD_E_TOOBIG, "the request's body "
		    "is over 64 KiB");
	if ((line = request_line(cmd, q, &why)) == NULL)
		return reply_err(conn, 400, PMD_E_PROTO, why);
	if (run_request(q, line) == -1) {
		free(line);
		return reply_err(conn, 503, PMD_E_TOOMANY, "pmd could not make "
		    "a connection for the request (out of fds?)");
	}
	free(line);
	if (!q->follow) {
		/* Back here once the reply is whole (io_cb). */
		q->suspended = 1;
		p_suspend_connection(conn);
		ev_io_start(pmd_loop, &q->io);
		return MHD_YES;
	}
	http_stream(conn);
	r = p_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384,
	    stream_read, q, stream_free);
	if (r == NULL)
		return MHD_NO;
	p_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/x-ndjson");
	ret = p_queue_response(conn, MHD_HTTP_OK, r);
	p_destroy_response(r);
	return ret;
}

/* A request under /api/ (MHD's access handler, for metrics.c). */
enum MHD_Result
api_answer(struct MHD_Connection *conn, const char *url, const char *method,
    const char *upload, size_t *upload_size, void **con_cls)
{
	struct api_req	*q = *con_cls;
	const char	*cmd;
	char		*why = NULL;
	enum MHD_Result	 ret;

	if (q == NULL) {
		/* Its headers: refused now, before a body is read. */
		if (!api_on)
			return reply_err(conn, MHD_HTTP_FORBIDDEN, PMD_E_PERM,
			    api_off_why);
		if (!token_still_private(&why)) {
			log_warn("http: %s", why);
			ret = reply_err(conn, MHD_HTTP_UNAUTHORIZED, PMD_E_PERM,
			    why);
			free(why);
			return ret;
		}
		if (!authorized(conn))
			return reply_err(conn, MHD_HTTP_UNAUTHORIZED, PMD_E_PERM,
			    "this needs Authorization: Bearer TOKEN, the token "
			    "in http.token beside pmd's dump (PMD_HOME, or "
			    "/var/lib/pmd)");
		q = xcalloc(1, sizeof *q);
		q->conn = conn;
		q->fd = -1;
		LIST_INSERT_HEAD(&reqs, q, entry);
		*con_cls = q;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (q->len + *upload_size > API_BODY_MAX)
			q->too_big = 1;
		else {
			q->body = xrealloc(q->body, q->len + *upload_size);
			memcpy(q->body + q->len, upload, *upload_size);
			q->len += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (q->done)
		return reply_text(conn, reply_status(q->reply),
		    "application/json", xstrndup(q->reply, q->rlen));
	if (q->fd != -1)
		return MHD_YES;		/* resumed with nothing to say yet */
	if (strcmp(url, API_PREFIX) == 0 || strcmp(url, "/api/v1") == 0) {
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
			return reply_err(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
			    PMD_E_PROTO, "GET lists the commands");
		return list_commands(conn);
	}
	if (strncmp(url, API_PREFIX, strlen(API_PREFIX)) != 0)
		return reply_err(conn, MHD_HTTP_NOT_FOUND, PMD_E_NOCMD,
		    "the API is under /api/v1/");
	cmd = url + strlen(API_PREFIX);
	if (strcmp(method, "POST") != 0)
		return reply_err(conn, MHD_HTTP_METHOD_NOT_ALLOWED, PMD_E_PROTO,
		    "a command is a POST of its fields as a JSON object");
	return api_run(conn, cmd, q);
}

/* MHD is done with a connection's request: its pair goes. */
void
api_completed(void **con_cls)
{
	struct api_req	*q = *con_cls;

	if (q != NULL)
		req_free(q);
	*con_cls = NULL;
}

/* Before the listener stops: no connection may stay suspended. */
void
api_close(void)
{
	struct api_req	*q;

	LIST_FOREACH(q, &reqs, entry) {
		if (q->suspended) {
			q->suspended = 0;
			p_resume_connection(q->conn);
		}
		if (q->fd != -1) {
			ev_io_stop(pmd_loop, &q->io);
			close(q->fd);
			q->fd = -1;
		}
	}
}
