/*
 * An app's listening sockets: `listen = tcp://HOST:PORT, unix:PATH`.
 * pmd binds each once (listen-addr.c), holds it for the app's lifetime
 * (never accepting), and every worker gets them as fds 3.. with
 * LISTEN_FDS, as systemd's socket activation does. Connections wait in
 * the kernel's queue while no worker accepts, so a restart or a reload
 * drops none. They are struct app's listen_fds (shared by every worker)
 * or slot_fds (one set per instance: listen_balance), bound from its
 * listen or from the addresses its workers bound first (listen_share),
 * and closed when no worker will accept on them.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmd.h"

/*
 * The addresses of the app's sockets: its listen, else those its workers
 * bound first (listen_share); NULL: none.
 */
char *const *
listen_urls(const struct app *a)
{
	if (a->widened != NULL)
		return a->widened;
	return a->cfg->listen != NULL ? a->cfg->listen : a->learned;
}

/*
 * Whether the app's sockets are one per instance. Addresses its workers
 * bound (listen_share) are shared unless listen_balance says balanced or
 * sticky: instances may bind different ones (increment_var), and an
 * instance's member of a group it never accepts from would hold
 * connections nobody takes.
 */
static int
per_instance(const struct app *a)
{
	if (a->cfg->listen == NULL && a->cfg->listen_balance == LISTEN_AUTO)
		return 0;
	return listen_balanced_urls(a->cfg, listen_urls(a));
}

/*
 * listen_balance = sticky: (re)attach the filter that hashes clients over
 * the instances' sockets of each address, for as many as are open now.
 */
static int
sticky_attach(struct app *a, char **cause)
{
	unsigned	i, n = 0, first = 0;
	size_t		j;

	if (a->cfg->listen_balance != LISTEN_STICKY)
		return 0;
	for (i = 0; i < a->nslot_fds; i++) {
		if (a->slot_fds[i] != NULL && n++ == 0)
			first = i;
	}
	for (j = 0; n > 0 && j < a->nlisten; j++) {
		if (listen_sticky(a->slot_fds[first][j], n, cause) == -1)
			return -1;
	}
	return 0;
}

static int
listen_failed(struct app *a, char *cause)
{
	int	e = errno;

	log_warn("%s: %s", a->name, cause);
	free(a->listen_error);
	a->listen_error = cause;
	errno = e;
	return -1;
}

/*
 * Bind the app's sockets unless it holds them. On failure the app's
 * workers cannot start: listen_error says why, and each start retries.
 */
int
listen_app(struct app *a)
{
	char	*cause;

	if (listen_urls(a) == NULL || a->nlisten > 0 || per_instance(a))
		return 0;	/* balanced: each instance's, at its start */
	if (listen_open(a->cfg, listen_urls(a), &a->listen_fds, &a->nlisten, 0,
	    &cause) == -1)
		return listen_failed(a, cause);
	free(a->listen_error);
	a->listen_error = NULL;
	return 0;
}

/*
 * listen_balance = balanced: instance i's own sockets, SO_REUSEPORT on the
 * app's addresses, bound when its first worker starts and kept across its
 * restarts and reloads (old and new worker share them), closed when the
 * instance is scaled away. The kernel spreads new connections over the
 * group. -1 with listen_error as listen_app.
 */
int
listen_slot(struct app *a, unsigned instance)
{
	char *const	*urls = listen_urls(a);
	size_t		 i, n = argv_count(urls);
	char		*cause;
	int		*fds;

	if (!per_instance(a) || n == 0)
		return listen_app(a);
	if (instance < a->nslot_fds && a->slot_fds[instance] != NULL) {
		if (a->slot_out[instance] == SLOT_OUT &&
		    listen_resume(a->cfg, urls, a->slot_fds[instance],
		    a->nlisten, &cause) == -1)
			return listen_failed(a, cause);
		a->slot_out[instance] = SLOT_IN;
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (strncmp(urls[i], "unix:", 5) == 0)
			return listen_failed(a, xprintf("listen %s: "
			    "listen_balance = %s takes tcp:// addresses "
			    "(a unix socket has no SO_REUSEPORT)", urls[i],
			    a->cfg->listen_balance == LISTEN_STICKY ?
			    "sticky" : "balanced"));
	}
	for (i = 0; i < a->nslot_fds && a->slot_fds[i] == NULL; i++)
		;
	if (listen_open(a->cfg, urls, &fds, &n, i == a->nslot_fds,
	    &cause) == -1)
		return listen_failed(a, cause);
	if (instance >= a->nslot_fds) {
		a->slot_fds = xrealloc(a->slot_fds, (instance + 1) *
		    sizeof *a->slot_fds);
		memset(a->slot_fds + a->nslot_fds, 0, (instance + 1 -
		    a->nslot_fds) * sizeof *a->slot_fds);
		a->slot_out = xrealloc(a->slot_out, instance + 1);
		memset(a->slot_out + a->nslot_fds, SLOT_IN, instance + 1 -
		    a->nslot_fds);
		a->nslot_fds = instance + 1;
	}
	a->slot_fds[instance] = fds;
	a->nlisten = n;
	if (sticky_attach(a, &cause) == -1) {
		listen_close(urls, fds, n);
		a->slot_fds[instance] = NULL;
		return listen_failed(a, cause);
	}
	free(a->listen_error);
	a->listen_error = NULL;
	return 0;
}

/* The sockets a worker of instance gets: the app's, or its own. */
const int *
listen_sockets(const struct app *a, unsigned instance)
{
	if (per_instance(a) &&
	    instance < a->nslot_fds && a->slot_fds[instance] != NULL)
		return a->slot_fds[instance];
	return a->listen_fds;
}

/*
 * listen_share: whether a's workers bind through pmd what they bind
 * first, so that its instances share it as with listen. Decided at each
 * spawn: several instances, no listen of its own.
 */
int
listen_shares_binds(const struct app *a)
{
	return a->cfg->listen == NULL && a->cfg->listen_share &&
	    a->cfg->listen_preload && (a->nworkers > 1 || a->learned != NULL);
}

/* The fds n addresses learned by a cost (listen_share): budget.c. */
unsigned
listen_learned_fds(const struct app *a, size_t n)
{
	return (unsigned)n * (per_instance(a) ? a->nworkers : 1);
}

/* Append one socket for url to *fds, an array of n. */
static int
open_more(struct app *a, const char *url, int **fds, size_t n, int first,
    char **cause)
{
	char	*one[] = { (char *)url, NULL };
	int	*fd;
	size_t	 k;

	if (listen_open(a->cfg, one, &fd, &k, first, cause) == -1)
		return -1;
	*fds = xrealloc(*fds, (n + 1) * sizeof **fds);
	(*fds)[n] = fd[0];
	free(fd);
	return 0;
}

/*
 * A worker of a (listen_share) binds url: its index among the app's
 * addresses, learned now if it is new, with the sockets of instance open.
 * -1 with *cause and errno set (EADDRINUSE, EACCES...): the worker's bind
 * fails as its own would have.
 */
int
listen_learn(struct app *a, const char *url, unsigned instance, char **cause)
{
	size_t	  i, n = argv_count(a->learned);
	unsigned  k, j;
	int	  e, first = 1, extended = 0;

	for (i = 0; i < n && strcmp(a->learned[i], url) != 0; i++)
		;
	if (i == n) {
		if (budget_admit(listen_learned_fds(a, 1), 0, "listen_share",
		    a->cfg, a->nworkers, cause) == -1) {
			errno = EMFILE;
			return -1;
		}
		/* The sockets open for the others get one for url too. */
		if (a->nlisten > 0 && !per_instance(a) && open_more(a, url,
		    &a->listen_fds, a->nlisten, 0, cause) == -1)
			return -1;
		for (k = 0; a->nlisten > 0 && k < a->nslot_fds; k++) {
			if (a->slot_fds[k] == NULL)
				continue;
			if (open_more(a, url, &a->slot_fds[k], a->nlisten,
			    first, cause) == -1) {
				e = errno;	/* the ones made go again */
				for (j = 0; j < k; j++)
					if (a->slot_fds[j] != NULL)
						close(a->slot_fds[j][a->nlisten]);
				errno = e;
				return -1;
			}
			first = 0;
		}
		strv_add(&a->learned, url);
		if ((extended = a->nlisten > 0))
			a->nlisten++;
		if (extended && sticky_attach(a, cause) == -1)
			return -1;
	}
	if (listen_slot(a, instance) == -1) {
		*cause = a->listen_error;
		a->listen_error = NULL;
		if (i == n && !extended) {	/* not shared after all */
			free(a->learned[n]);
			a->learned[n] = NULL;
			if (n == 0) {
				free(a->learned);
				a->learned = NULL;
			}
		}
		errno = errno ? errno : EADDRINUSE;
		return -1;
	}
	if (i == n)
		log_info("%s: its workers share %s, as with listen", a->name,
		    url);
	return (int)i;
}

/*
 * Whether a worker of a other than w accepts on the app's sockets: it took
 * them through pmd-preload.so or listened on fd 3 (one online by
 * min_uptime alone may not have bound yet).
 */
static int
others_serve(const struct app *a, const struct worker *w)
{
	const struct worker	*o;
	unsigned		 i;

	for (i = 0; i <= a->nworkers; i++) {
		o = i < a->nworkers ? a->workers[i] : rolling_fresh(a);
		if (o != NULL && o != w && o->pid > 0 && o->handed)
			return 1;
	}
	return 0;
}

/* The k-th set of the app's sockets: the shared one, or instance k's. */
static int *
set_of(struct app *a, unsigned k)
{
	if (!per_instance(a))
		return a->listen_fds;
	return k < a->nslot_fds ? a->slot_fds[k] : NULL;
}

/*
 * Each set of the app's sockets has its socket at i replaced by one for
 * url. The old ones stop listening first (in every process that holds
 * them: a shutdown, as listen_pause's) but stay bound, and listen again
 * if a new one cannot be made; an instance's that was out of its group
 * stays out (listen_resume puts it back at its start). -1 with *cause.
 */
static int
replace_at(struct app *a, size_t i, const char *url, char **cause)
{
	unsigned	 k, j, n = per_instance(a) ? a->nslot_fds : 1;
	char		*one[] = { (char *)url, NULL };
	int		*old = xcalloc(n, sizeof *old), *fresh, *set, first = 1;
	int		 out;
	size_t		 got;

	for (k = 0; k < n; k++) {
		old[k] = (set = set_of(a, k)) != NULL ? set[i] : -1;
		if (old[k] != -1)
			shutdown(old[k], SHUT_RD);
	}
	for (k = 0; k < n; k++) {
		if (old[k] == -1)
			continue;
		if (listen_open(a->cfg, one, &fresh, &got, first, cause) == -1)
			break;
		first = 0;
		set_of(a, k)[i] = fresh[0];
		free(fresh);
	}
	for (j = 0; j < n; j++) {
		out = per_instance(a) && a->slot_out[j] == SLOT_OUT;
		if (old[j] == -1)
			continue;
		if (k == n) {
			close(old[j]);
			if (out)	/* out of the group, as the old one was */
				shutdown(set_of(a, j)[i], SHUT_RD);
			continue;
		}
		/* The ones made go; the old ones listen as they did. */
		if (j < k) {
			close(set_of(a, j)[i]);
			set_of(a, j)[i] = old[j];
		}
		if (!out)
			listen(old[j], (int)a->cfg->listen_backlog);
	}
	free(old);
	return k == n ? 0 : -1;
}

/* Whether connections wait on the app's sockets at i (in any set). */
static int
queued(struct app *a, size_t i)
{
	unsigned	 k, n = per_instance(a) ? a->nslot_fds : 1;
	int		*set;

	for (k = 0; k < n; k++) {
		if ((set = set_of(a, k)) != NULL && listen_queued(set[i]))
			return 1;
	}
	return 0;
}

/*
 * Whether the kernel has IPv6 and no other socket holds [::]:port for
 * it: a bind of IPv6 alone, which the app's 0.0.0.0 does not hinder,
 * tried before the app's sockets stop listening. 0 with *cause if not.
 */
static int
ipv6_free(unsigned short port, char **cause)
{
	struct sockaddr_in6	sin6;
	int			fd, on = 1, rc;

	memset(&sin6, 0, sizeof sin6);
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(port);
	sin6.sin6_addr = in6addr_any;
	if ((fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		*cause = xprintf("socket: %s", strerror(errno));
		return 0;
	}
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	if ((rc = bind(fd, (struct sockaddr *)&sin6, sizeof sin6)) == -1)
		*cause = xprintf("bind [::]:%u: %s", port, strerror(errno));
	close(fd);
	return rc == 0;
}

/*
 * A worker binds [::]:PORT on a dual-stack socket (IPV6_V6ONLY off, as
 * Node's server.listen(PORT) does) where the app holds
 * tcp://0.0.0.0:PORT: the index of that address among the app's (-1: it
 * has none). The program's own socket would take IPv4 and IPv6 and be
 * AF_INET6, so the app's sockets for it become tcp://[::]:PORT (a wider
 * address, never a narrower one) while no other worker accepts on them:
 * then every later worker gets them so, and only while no connection
 * waits on them (it would be reset). When they cannot change (queued
 * connections, no IPv6, another socket on [::]:PORT: all found before
 * anything stops), they stay as they are, for the app's lifetime, and the
 * worker gets those.
 */
int
listen_widen(struct app *a, const struct worker *w, unsigned short port)
{
	char *const	*urls = listen_urls(a);
	char		*url, *cause = NULL;
	size_t		 i, n = argv_count(urls);

	url = xprintf("tcp://[::]:%u", port);
	for (i = 0; i < n && strcmp(urls[i], url) != 0 &&
	    !url_widens(urls[i], url); i++)
		;
	if (i == n || strcmp(urls[i], url) == 0 || a->nlisten == 0 ||
	    a->widen_failed || others_serve(a, w)) {
		free(url);
		return i == n ? -1 : (int)i;
	}
	if (queued(a, i)) {
		a->widen_failed = 1;	/* they would be reset */
		log_info("%s: its program binds [::]:%u; %s stays IPv4 only: "
		    "connections wait on it", a->name, port, urls[i]);
		free(url);
		return (int)i;
	}
	if (!ipv6_free(port, &cause) || replace_at(a, i, url, &cause) == -1) {
		a->widen_failed = 1;	/* said once: a crash loop says no more */
		log_warn("%s: its program binds [::]:%u; %s stays IPv4 only: "
		    "%s", a->name, port, urls[i], cause);
		free(cause);
		free(url);
		return (int)i;
	}
	if (a->widened == NULL) {
		a->widened = xcalloc(n + 1, sizeof *a->widened);
		for (n = 0; urls[n] != NULL; n++)
			a->widened[n] = xstrdup(urls[n]);
	}
	log_info("%s: its program binds [::]:%u (IPv4 and IPv6): %s is now "
	    "%s, of the program's family", a->name, port, a->widened[i], url);
	free(a->widened[i]);
	a->widened[i] = url;
	if (sticky_attach(a, &cause) == -1) {
		log_warn("%s: %s", a->name, cause);
		free(cause);
	}
	return (int)i;
}

/* Close the balanced sockets of instances from on (all: 0). */
void
listen_close_slots(struct app *a, unsigned from)
{
	char		*cause;
	unsigned	i;

	for (i = from; i < a->nslot_fds; i++) {
		if (a->slot_fds[i] != NULL)
			listen_close(listen_urls(a), a->slot_fds[i], a->nlisten);
		a->slot_fds[i] = NULL;
	}
	if (from < a->nslot_fds) {
		a->nslot_fds = from;
		if (from > 0 && sticky_attach(a, &cause) == -1) {
			log_warn("%s: %s", a->name, cause);
			free(cause);
		}
	}
	if (from == 0) {
		free(a->slot_fds);
		a->slot_fds = NULL;
		free(a->slot_out);
		a->slot_out = NULL;
		if (a->listen_fds == NULL)
			a->nlisten = 0;
	}
}

/* Whether w serves, or will soon: then the app's sockets stay open. */
static int
serving(const struct worker *w)
{
	switch (w->sm.state) {
	case W_STARTING:
	case W_ONLINE:
	case W_WAITING:
	case W_FAILING:
		return 1;
	case W_STOPPING:
		return w->sm.want == WANT_UP;
	default:
		return 0;
	}
}

/*
 * No worker of a listen app serves or is coming (all errored, or stopped
 * by the user): close its sockets, so that clients are refused at once
 * instead of waiting in a queue nobody reads; the next start binds them
 * again. Never during a reload, whose gaps are brief.
 */
static void
settle_sockets(struct app *a)
{
	unsigned	i;

	if (a->nlisten == 0 || a->roll != NULL || a->want == APP_GONE ||
	    daemon_stopping)
		return;
	for (i = 0; i < a->nworkers; i++) {
		if (serving(a->workers[i]))
			return;
	}
	log_info("%s: no worker serves or is starting: its sockets are "
	    "closed, connections are refused until it starts", a->name);
	listen_app_close(a);
}

/*
 * Balanced: an instance left with no process (stopped, errored, waiting
 * to restart) takes its sockets out of their groups, so that new
 * connections go to the instances that serve rather than wait in a queue
 * nobody reads; its next start puts them back (listen_slot). Tried
 * once each time it goes down, and only while another instance serves:
 * with none, connections wait for the first one back, as with shared. A
 * socket with connections queued stays in unless the kernel moves them.
 */
static void
settle_slots(struct app *a)
{
	unsigned	i, serve = 0;

	/* Sticky: the group stays as it is, or clients would move. */
	if (a->nslot_fds == 0 || a->roll != NULL || daemon_stopping ||
	    a->cfg->listen_balance == LISTEN_STICKY)
		return;
	for (i = 0; i < a->nslot_fds && i < a->nworkers; i++)
		serve += a->slot_out[i] == SLOT_IN && a->workers[i]->pid > 0;
	if (serve == 0)
		return;
	for (i = 0; i < a->nslot_fds && i < a->nworkers; i++) {
		if (a->slot_fds[i] == NULL || a->slot_out[i] != SLOT_IN ||
		    a->workers[i]->pid > 0)
			continue;
		if (listen_pause(a->slot_fds[i], a->nlisten)) {
			a->slot_out[i] = SLOT_OUT;
			log_info("%s:%u: no process: new connections go to the "
			    "other instances until it starts", a->name, i);
		} else
			a->slot_out[i] = SLOT_KEPT;
	}
}

/* pmctl update: a's sockets (taken) as the pmd before held them. */
void
listen_adopt(struct app *a, int *fds, size_t n, int **slots,
    unsigned char *out, unsigned nslots, char **learned)
{
	a->listen_fds = fds;
	a->nlisten = n;
	a->slot_fds = slots;
	a->slot_out = out;
	a->nslot_fds = nslots;
	a->learned = learned;
}

/* Close all of the app's sockets: its own and each instance's. */
void
listen_app_close(struct app *a)
{
	listen_close_slots(a, 0);
	listen_close(listen_urls(a), a->listen_fds, a->nlisten);
	a->listen_fds = NULL;
	a->nlisten = 0;
}

/*
 * After each loop turn (app_settle_all): close the sockets nobody will
 * accept on, or take an instance's out of their group.
 */
void
listen_settle(struct app *a)
{
	settle_sockets(a);
	settle_slots(a);
}
