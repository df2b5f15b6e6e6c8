/*
 * [daemon] metrics = tcp://HOST:PORT | unix:PATH: an HTTP endpoint for
 * Prometheus and for probes, served by libmicrohttpd from pmd's own event
 * loop. MHD runs in its epoll mode without threads: its epoll fd is one
 * ev_io, its timeout one ev_timer, and each wakes p_run(), which never
 * blocks. pmd accepts the connections itself and hands them to MHD, so
 * that the limit is plain: METRICS_CONNS at once; one more closes the
 * oldest, so that a new scraper always gets in. Each lives within
 * METRICS_MEMORY bytes (and a scrape's one batch of text, struct scrape)
 * and at most METRICS_IDLE seconds from its accept, however it trickles
 * its request, so a slow or malformed client costs little and no one else
 * waits long.
 *
 *   GET /metrics   the Prometheus text exposition format
 *   GET /healthz   200 when every worker that should run is online, else
 *                  503; a small JSON body says what is missing
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dlfcn.h>
#include <microhttpd.h>

#include "pmd.h"
#include "http.h"

/*
 * libmicrohttpd, and the TLS libraries it brings, are loaded only when
 * metrics is set: a pmd without it maps none of them (about 2 MiB).
 */
#define MHD_LIBRARY	"libmicrohttpd.so.12"
#define MHD_POINTER(name) __typeof__(&MHD_##name) p_##name;
MHD_FUNCS(MHD_POINTER)
static void	*mhd_lib;

/* Load the library once; -1 with *cause if it is not there. */
static int
mhd_load(char **cause)
{
	if (mhd_lib != NULL)
		return 0;
	if ((mhd_lib = dlopen(MHD_LIBRARY, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		*cause = xprintf("metrics: cannot load %s (Debian: apt-get "
		    "install libmicrohttpd12): %s", MHD_LIBRARY, dlerror());
		return -1;
	}
#define MHD_LOOKUP(name)						\
	if ((p_##name = (__typeof__(p_##name))dlsym(mhd_lib,		\
	    "MHD_" #name)) == NULL) {					\
		*cause = xprintf("metrics: %s has no MHD_%s", MHD_LIBRARY,	\
		    #name);						\
		dlclose(mhd_lib);					\
		mhd_lib = NULL;						\
		return -1;						\
	}
	MHD_FUNCS(MHD_LOOKUP)
	return 0;
}

#define METRICS_CONNS	16
#define METRICS_MEMORY	(32 * 1024)
#define METRICS_IDLE	10

static struct MHD_Daemon *mhd;
static ev_io		 accept_io;	/* the listening socket: ours */
static ev_timer		 deadline_w;	/* the oldest connection's end */
struct mconn {
	TAILQ_ENTRY(mconn)	 entry;
	int			 fd;
	double			 since;		/* mono_now() at its accept */
	int			 stream;	/* an API stream: no deadline */
};
static TAILQ_HEAD(, mconn) mconns = TAILQ_HEAD_INITIALIZER(mconns);
static ev_io		 mhd_io;
static ev_timer		 mhd_timer;
static struct app_config *listen_cfg;	/* its listen: the one URL */
static char		*page;		/* the dashboard, or NULL */
static size_t		 page_len;
static char		*tls_cert;	/* PEM, while HTTPS is served */
static char		*tls_key;
static int		*listen_fds;
static size_t		 nlisten_fds;
double			 metrics_started;	/* pmd's start, epoch seconds */

static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct MHD_Response	*r;
	struct text		 t = { NULL, 0, 0 };
	const char		*type = "text/plain; charset=utf-8";
	enum MHD_Result		 ret;
	int			 status = MHD_HTTP_OK;

	(void)cls; (void)version;
	if (strncmp(url, "/api/", 5) == 0 || strcmp(url, "/api") == 0)
		return api_answer(conn, url, method, upload_data,
		    upload_data_size, con_cls);
	/* A body is not read: whatever came is thrown away. */
	if (*upload_data_size != 0) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		text_put(&t, "only GET and HEAD\n");
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else if (strcmp(url, "/metrics") == 0) {
		if ((r = metrics_response()) == NULL)
			return MHD_NO;
		type = "text/plain; version=0.0.4; charset=utf-8";
		goto send;
	} else if (strcmp(url, "/") == 0 && page != NULL) {
		/* The dashboard: the API's client; the token is its own. */
		r = p_create_response_from_buffer(page_len, page,
		    MHD_RESPMEM_PERSISTENT);
		if (r == NULL)
			return MHD_NO;
		type = "text/html; charset=utf-8";
		p_add_response_header(r, "Content-Security-Policy",
		    "default-src 'none'; script-src 'unsafe-inline'; "
		    "style-src 'unsafe-inline'; connect-src 'self'; "
		    "img-src 'self'; frame-ancestors 'none'");
		p_add_response_header(r, "X-Frame-Options", "DENY");
		p_add_response_header(r, "Referrer-Policy", "no-referrer");
		goto send;
	} else if (strcmp(url, "/healthz") == 0) {
		status = healthz_text(&t);
		type = "application/json";
	} else {
		text_put(&t, "not found: try /metrics, /healthz or "
		    "/api/v1/\n");
		status = MHD_HTTP_NOT_FOUND;
	}
	r = p_create_response_from_buffer(t.len, t.s, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(t.s);
		return MHD_NO;
	}
send:
	p_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		p_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = p_queue_response(conn, status, r);
	p_destroy_response(r);
	return ret;
}

static void
mhd_arm(void)
{
	MHD_UNSIGNED_LONG_LONG	ms;

	ev_timer_stop(pmd_loop, &mhd_timer);
	if (p_get_timeout(mhd, &ms) == MHD_YES) {
		ev_timer_set(&mhd_timer, ms / 1000.0, 0);
		ev_timer_start(pmd_loop, &mhd_timer);
	}
}

/* Arm the deadline of the oldest connection that has one, if any. */
static void
deadline_arm(void)
{
	struct mconn	*m;

	ev_timer_stop(pmd_loop, &deadline_w);
	TAILQ_FOREACH(m, &mconns, entry) {
		if (!m->stream)
			break;		/* an API stream has none */
	}
	if (m == NULL)
		return;
	ev_timer_set(&deadline_w, m->since + METRICS_IDLE - mono_now() + 0.01,
	    0);
	ev_timer_start(pmd_loop, &deadline_w);
}

/* MHD opened or closed a connection: the list of them, oldest first. */
static void
conn_notify(void *cls, struct MHD_Connection *c, void **ctx,
    enum MHD_ConnectionNotificationCode code)
{
	const union MHD_ConnectionInfo	*info;
	struct mconn			*m;

	(void)cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		info = p_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		m = xcalloc(1, sizeof *m);
		m->fd = info != NULL ? info->connect_fd : -1;
		m->since = mono_now();
		TAILQ_INSERT_TAIL(&mconns, m, entry);
		*ctx = m;
	} else if ((m = *ctx) != NULL) {
		TAILQ_REMOVE(&mconns, m, entry);
		free(m);
		*ctx = NULL;
	}
	deadline_arm();
}

/* End m: MHD sees the socket shut down and closes the connection. */
static void
conn_end(struct mconn *m)
{
	if (m->fd != -1)
		shutdown(m->fd, SHUT_RDWR);
	m->fd = -1;
}

/* Connections past METRICS_IDLE seconds since their accept are ended. */
static void
deadline_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct mconn	*m;
	double		 now = mono_now();

	(void)loop; (void)t; (void)revents;
	TAILQ_FOREACH(m, &mconns, entry) {
		if (m->since + METRICS_IDLE <= now && !m->stream)
			conn_end(m);
	}
	p_run(mhd);
	mhd_arm();
	deadline_arm();
}

/* The address served, or NULL. */
const char *
http_address(void)
{
	return listen_cfg != NULL ? listen_cfg->listen[0] : NULL;
}

/* Whether it is served with HTTPS. */
int
http_tls(void)
{
	return tls_cert != NULL;
}

/* MHD's work now (a connection resumed), and its timer again. */
void
http_run(void)
{
	p_run(mhd);
	mhd_arm();
}

/* conn streams (logs --follow over the API): no deadline ends it. */
void
http_stream(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo	*info;
	struct mconn			*m;

	info = p_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (info != NULL && (m = info->socket_context) != NULL) {
		m->stream = 1;
		deadline_arm();
	}
}

/* A request is done with: the API's part of it goes. */
static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode code)
{
	(void)cls; (void)conn; (void)code;
	api_completed(con_cls);
}

static void
mhd_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop; (void)io; (void)revents;
	p_run(mhd);
	mhd_arm();
}

static void
accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	const union MHD_DaemonInfo	*info;
	struct sockaddr_storage		 ss;
	socklen_t			 len;
	int				 fd, k;

	(void)loop; (void)revents;
	/* Connections that closed meanwhile free their places first. */
	p_run(mhd);
	for (k = 0; k < 16; k++) {
		len = sizeof ss;
		fd = accept4(io->fd, (struct sockaddr *)&ss, &len,
		    SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd == -1)
			break;
		info = p_get_daemon_info(mhd,
		    MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		if (info != NULL && info->num_connections >= METRICS_CONNS &&
		    !TAILQ_EMPTY(&mconns)) {
			/* The oldest makes room: a scrape takes milliseconds. */
			conn_end(TAILQ_FIRST(&mconns));
			p_run(mhd);
		}
		if (len < sizeof(sa_family_t) + 2) {
			/* An unnamed unix peer: MHD wants an address. */
			memset(&ss, 0, sizeof ss);
			ss.ss_family = AF_UNIX;
			len = sizeof(sa_family_t) + 2;
		}
		/* MHD closes it when it fails. */
		p_add_connection(mhd, fd, (struct sockaddr *)&ss, len);
	}
	p_run(mhd);
	mhd_arm();
}

static void
mhd_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop; (void)t; (void)revents;
	p_run(mhd);
	mhd_arm();
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char	msg[512];
	size_t	n;

	(void)cls;
	vsnprintf(msg, sizeof msg, fmt, ap);
	/* A client that went away from a stream is no news. */
	if (strstr(msg, "is no longer available") != NULL)
		return;
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_warn("http: %s", msg);
}

/* The dashboard page, read once (it is small); none: / is 404. */
static void
page_load(void)
{
	char	*path, *cause;

	if (page != NULL)
		return;
	if ((path = shipped_file("pmd-dashboard.html")) == NULL) {
		log_warn("http: no pmd-dashboard.html beside pmd or in %s: no "
		    "dashboard at /", PMD_LIBDIR);
		return;
	}
	if (file_read(path, 1024 * 1024, &page, &page_len, &cause) == -1) {
		log_warn("http: %s", cause);
		free(cause);
		page = NULL;
	}
	free(path);
}

/* MHD on pmd's loop, with HTTPS if tls; NULL if it would not start. */
static struct MHD_Daemon *
mhd_start(int tls)
{
	struct MHD_OptionItem	opts[] = {
		/* The logger first, as MHD asks. */
		{ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL },
		{ MHD_OPTION_CONNECTION_LIMIT, METRICS_CONNS + 1, NULL },
		{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, METRICS_MEMORY, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, METRICS_IDLE, NULL },
		{ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)conn_notify, NULL },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, NULL },
		{ tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, tls_cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, tls_key },
		{ MHD_OPTION_END, 0, NULL },
	};

	return p_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
	    MHD_USE_NO_LISTEN_SOCKET | MHD_ALLOW_SUSPEND_RESUME |
	    (tls ? MHD_USE_TLS : 0), 0, NULL, NULL, answer, NULL,
	    MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
}

/*
 * HTTPS: the certificate and key files of [daemon], read now (both or
 * neither); 0 without them, -1 with *cause if one cannot be read.
 */
static int
tls_load(char **cause)
{
	size_t	len;

	if (config->http_tls_cert == NULL && config->http_tls_key == NULL)
		return 0;
	if (config->http_tls_cert == NULL || config->http_tls_key == NULL) {
		*cause = xstrdup("http: http_tls_cert and http_tls_key go "
		    "together");
		return -1;
	}
	if (file_read(config->http_tls_cert, 1024 * 1024, &tls_cert, &len,
	    cause) == -1 || file_read(config->http_tls_key, 1024 * 1024,
	    &tls_key, &len, cause) == -1)
		return -1;
	return 1;
}

/*
 * Serve url (tcp://HOST:PORT or unix:PATH); NULL stops serving. A url
 * that is already served is left as it is; carried (not -1) is its socket,
 * bound by the pmd before this one (pmctl update). -1 with *cause if it cannot be
 * bound or MHD will not start.
 */
int
metrics_listen(const char *url, int carried, char **cause)
{
	const union MHD_DaemonInfo	*info;
	struct app_config		*cfg;
	int				 tls;

	if (metrics_started == 0)
		metrics_started = ev_time();
	if (url != NULL && listen_cfg != NULL &&
	    strcmp(url, listen_cfg->listen[0]) == 0)
		return 0;
	metrics_close();
	if (url == NULL)
		return 0;
	if (mhd_load(cause) == -1)
		return -1;
	cfg = appcfg_new("metrics");
	cfg->listen_mode = 0660;
	cfg->listen_backlog = 64;
	cfg->listen_balance = LISTEN_SHARED;	/* no SO_REUSEPORT: ours alone */
	strv_add(&cfg->listen, url);
	if (carried != -1) {
		/* pmctl update: the socket the pmd before this one bound. */
		listen_fds = xmalloc(sizeof *listen_fds);
		listen_fds[0] = carried;
		nlisten_fds = 1;
	} else if (listen_open(cfg, cfg->listen, &listen_fds, &nlisten_fds, 0,
	    cause) == -1) {
		appcfg_unref(cfg);
		return -1;
	}
	listen_cfg = cfg;
	page_load();
	if ((tls = tls_load(cause)) == -1 ||
	    api_init(url, config->http_plain_api || tls, cause) == -1) {
		metrics_close();
		return -1;
	}
	mhd = mhd_start(tls);
	if (mhd == NULL ||
	    (info = p_get_daemon_info(mhd, MHD_DAEMON_INFO_EPOLL_FD)) == NULL) {
		*cause = xprintf("http %s: the HTTP server would not start%s",
		    url, tls ? " (is the key the certificate's, both PEM?)" : "");
		metrics_close();
		return -1;
	}
	ev_io_init(&mhd_io, mhd_io_cb, info->epoll_fd, EV_READ);
	ev_io_start(pmd_loop, &mhd_io);
	fd_nonblock(listen_fds[0]);
	ev_io_init(&accept_io, accept_cb, listen_fds[0], EV_READ);
	ev_io_start(pmd_loop, &accept_io);
	ev_init(&mhd_timer, mhd_timer_cb);
	ev_init(&deadline_w, deadline_cb);
	mhd_arm();
	log_info("http: serving /metrics, /healthz, /api/v1/ and / on %s%s",
	    url, tls ? " (HTTPS)" : "");
	return 0;
}

/* The listening socket and its address, or -1 (pmctl update). */
int
metrics_socket(const char **url)
{
	*url = listen_cfg != NULL ? listen_cfg->listen[0] : NULL;
	return listen_cfg != NULL ? listen_fds[0] : -1;
}

void
metrics_close(void)
{
	if (mhd != NULL) {
		api_close();
		ev_io_stop(pmd_loop, &mhd_io);
		ev_io_stop(pmd_loop, &accept_io);
		ev_timer_stop(pmd_loop, &mhd_timer);
		ev_timer_stop(pmd_loop, &deadline_w);
		p_stop_daemon(mhd);
		mhd = NULL;
	}
	free(tls_cert);
	free(tls_key);
	tls_cert = tls_key = NULL;
	if (listen_cfg != NULL) {
		listen_close(listen_cfg->listen, listen_fds, nlisten_fds);
		listen_fds = NULL;
		nlisten_fds = 0;
		appcfg_unref(listen_cfg);
		listen_cfg = NULL;
	}
}
