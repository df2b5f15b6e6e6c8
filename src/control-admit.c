/*
 * Who gets in at the control socket: it is bound 0600 (or 0660 for the
 * pmd group), and each peer is checked with SO_PEERCRED. At most
 * max_clients are served; a newcomer past them makes room by closing the
 * longest-idle connection of the uid that holds the most (its own uid's
 * when that is the one), or is answered ETOOMANY. One fd is held spare:
 * out of fds, pmd closes it to accept one connection, serves it if the
 * peer is root or pmd's own uid, and accepting pauses meanwhile instead
 * of spinning. control.c serves the clients let in.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "control.h"

#define ACCEPT_PAUSE	0.25		/* seconds without accept after EMFILE */
#define WARN_EVERY	10.0		/* seconds between two fd warnings */

static ev_io	 listen_w;
static ev_timer	 pause_w;	/* accept again after running out of fds */
static int	 spare_fd = -1;	/* closed to accept when out of fds */
static char	*listen_path;
static gid_t	 listen_gid = (gid_t)-1;

/* Hold the spare fd again, if it is not held and an fd is free. */
void
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

	(void)loop;
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
	c = client_new(fd, spare);
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
	if (nclients >= control_limits.max_clients && !spare) {
		if ((victim = client_victim(c->cred.uid)) == NULL) {
			client_refuse(c, reply_error(PMD_E_TOOMANY, "pmd serves "
			    "%u clients already (max_clients), none of them "
			    "idle; try again later", control_limits.max_clients));
			return;
		}
		log_warn("control: max_clients (%u) reached: closing an idle "
		    "connection of uid %ld for uid %ld", control_limits.max_clients,
		    (long)victim->cred.uid, (long)c->cred.uid);
		client_refuse(victim, reply_error(PMD_E_TOOMANY, "closed to "
		    "make room for another client (max_clients)"));
	}
	c->counted = 1;
	nclients++;
	client_start(c);
}

/*
 * A client on fd, one end of a socket pair made by pmd itself (the HTTP
 * API, http-api.c) for a peer of cred: served as one that came to the
 * socket, but not counted in max_clients (the HTTP listener has its own
 * limit).
 */
void
control_adopt(int fd, const struct ucred *cred)
{
	struct client	*c = client_new(fd, 0);

	c->cred = *cred;
	client_start(c);
}

/*
 * Bind path (0600, or 0660 with group gid). A stale socket is replaced;
 * carried (not -1) is the socket a pmd before this one bound there
 * (pmctl update): clients waiting in its queue are served by this one.
 */
int
control_listen(const char *path, gid_t gid, int carried, char **cause)
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
	/* pmctl update: the socket of the pmd before, clients and all. */
	if ((fd = carried) != -1)
		goto bound;
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
bound:
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

	control_limits.max_clients = cfg->max_clients;
	if (control_limits.max_clients == 0)
		control_limits.max_clients = MAX_CLIENTS < fit ? MAX_CLIENTS :
		    fit;
	else if (control_limits.max_clients > fit) {
		log_warn("%s: max_clients = %u: pmd's fd limit leaves room for "
		    "%u clients beside its workers; serving at most %u (raise "
		    "the limit: LimitNOFILE= in pmd's unit, ulimit -n)",
		    cfg->file != NULL ? cfg->file : "[daemon]",
		    control_limits.max_clients, fit, fit);
		control_limits.max_clients = fit;
	}
	control_limits.idle_ms = cfg->client_idle_set ? cfg->client_idle_ms :
	    IDLE_MS;
}

/* The listening socket, for pmctl update to carry. */
int
control_socket(void)
{
	return listen_path != NULL ? listen_w.fd : -1;
}

unsigned
control_max_clients(void)
{
	return control_limits.max_clients;
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
