/*
 * The daemon as a whole, once pmd.c has found its files and taken its
 * lock: the state every module reads (the config, whether pmd stops),
 * the settle step that runs once a loop turn after anything changed,
 * signals, systemd's notify messages, the start (the control socket,
 * the HTTP listener, the fd budget, the first apps) and the shutdown.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"

#define NOFILE_ROOT	262144	/* fds pmd takes as root, if it may */
#define STOP_AGAIN	1.0	/* seconds: a repeat sooner is the same ask */

struct config	*config;
int		 daemon_stopping;
int		 daemon_container;
char		*daemon_socket;	/* the control socket's path */
struct rlimit	 worker_nofile;

static ev_idle	 settle_w;
static ev_signal sig_w[6];
static long	 ncpu;
static char	*main_file;	/* what reload-config reads again */
static int	 main_optional;	/* ~/.pmd/pmd.conf: may not exist */
static int	 booting = 1;	/* READY=1 not yet sent */
static double	 stop_asked;	/* mono_now() of the first SIGTERM/SIGINT */
static int	 exit_code;	/* 1 once exit_when_failed ended it */

/*
 * The main config file (NULL: none), which reload-config reads again;
 * optional, it may not exist yet (~/.pmd/pmd.conf).
 */
void
daemon_config_file(const char *file, int optional)
{
	free(main_file);
	main_file = file != NULL ? xstrdup(file) : NULL;
	main_optional = optional;
}

long
daemon_ncpu(void)
{
	return ncpu;
}

/* Something changed: settle apps and waiting clients once this turn ends. */
void
daemon_dirty(void)
{
	ev_idle_start(pmd_loop, &settle_w);
}

/*
 * Whether path is one of pmd's own files or below one of its directories:
 * the logs (rotated ones too), the config files, the dump and its
 * generations, the control socket and the workers' record beside it.
 * A change there is never an app's (watch).
 */
int
daemon_owns(const char *path)
{
	if (logs_own(path))
		return 1;
	/* A config file's changes are for reload-config to apply. */
	if (config != NULL && (strv_has(config->files, path) ||
	    strv_has(config->extra, path)))
		return 1;
	if (dump_path != NULL &&
	    strncmp(path, dump_path, strlen(dump_path)) == 0)
		return 1;
	return daemon_socket != NULL &&
	    strncmp(path, daemon_socket, strlen(daemon_socket)) == 0;
}

/* The config files as they are now: the main one and its includes. */
int
daemon_read_config(struct config **cfgp, char **cause)
{
	if (main_file == NULL || (main_optional && access(main_file, F_OK) ==
	    -1 && errno == ENOENT)) {
		*cfgp = config_empty();
		return 0;
	}
	if (config_load(main_file, OWNER_NONE, cfgp, cause) == -1)
		return -1;
	if ((*cause = order_check(*cfgp, NULL)) != NULL) {
		config_free(*cfgp);
		return -1;
	}
	return 0;
}

/*
 * Tell systemd (Type=notify) how we are: READY=1, RELOADING=1, STOPPING=1.
 * A datagram that cannot go at once is dropped; the loop never waits.
 */
void
daemon_notify(const char *state)
{
	static int		 fd = -2;
	static struct sockaddr_un sun;
	static socklen_t	 len;
	const char		*path;
	char			*msg;

	if (fd == -2) {
		fd = -1;
		path = getenv("NOTIFY_SOCKET");
		if (path == NULL || (*path != '/' && *path != '@') ||
		    strlen(path) >= sizeof sun.sun_path)
			return;
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, path, strlen(path));
		if (*path == '@')
			sun.sun_path[0] = '\0';
		len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    0);
	}
	if (fd == -1)
		return;
	if (strcmp(state, "RELOADING=1") == 0) {
		/* What systemd 253's Type=notify-reload asks for; harmless before. */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		msg = xprintf("%s\nMONOTONIC_USEC=%llu", state,
		    (unsigned long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	} else
		msg = xstrdup(state);
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sun,
	    len) == -1)
		log_warn("NOTIFY_SOCKET: %s", strerror(errno));
	free(msg);
}

static void
settle_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct target	all = { .instance = -1 };

	(void)revents;
	ev_idle_stop(loop, w);
	app_settle_all();
	reconfig_check();
	control_check_waiters();
	/* Started: every app's first workers are up, or have failed. */
	if (booting && !daemon_stopping && app_settled(&all, 0)) {
		booting = 0;
		daemon_notify("READY=1");
	}
	/* As pm2-runtime does: an orchestrator restarts what gave up. */
	if ((config->exit_when_failed_set ? config->exit_when_failed :
	    daemon_container) && !daemon_stopping && app_all_failed()) {
		log_warn("every app has given up (errored): exiting 1, as "
		    "exit_when_failed asks");
		exit_code = 1;
		daemon_shutdown();
	}
	if (daemon_stopping && app_all_stopped()) {
		control_kill_replies();
		ev_break(loop, EVBREAK_ALL);
	}
}

void
daemon_shutdown(void)
{
	struct app	*a;
	unsigned	 i;

	if (daemon_stopping) {
		/* Asked twice: do not wait out the kill timeouts. */
		log_info("stopping now: SIGKILL to every worker");
		TAILQ_FOREACH(a, &apps, entry) {
			if (a->stop_pending) {
				a->stop_pending = 0;
				app_apply(a, E_STOP, -1);
			}
			for (i = 0; i < a->nworkers; i++)
				worker_signal(a->workers[i], SIGKILL);
			rolling_signal(a, SIGKILL);
		}
		return;
	}
	daemon_stopping = 1;
	daemon_notify("STOPPING=1");
	log_info("stopping all workers");
	TAILQ_FOREACH(a, &apps, entry)
		rolling_abort(a);
	/* Followers first: a stack comes down in reverse (after). */
	order_stop(NULL);
	daemon_dirty();
}

static void
signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop; (void)revents;
	if (daemon_stopping && (w->signum == SIGHUP || w->signum == SIGUSR2)) {
		log_info("got %s: ignored, pmd is stopping",
		    signal_name(w->signum));
		return;
	}
	switch (w->signum) {
	case SIGTERM:
	case SIGINT:
		/*
		 * timeout(1) and many init systems signal pmd and then its
		 * process group at once: a second signal escalates only when
		 * it comes a second or more after the first.
		 */
		if (daemon_stopping && mono_now() - stop_asked < STOP_AGAIN) {
			log_info("got %s again at once: still stopping "
			    "gracefully", signal_name(w->signum));
			break;
		}
		log_info("got %s", signal_name(w->signum));
		if (!daemon_stopping)
			stop_asked = mono_now();
		daemon_shutdown();
		break;
	case SIGUSR1:
		logs_reopen_all();
		break;
	case SIGUSR2: {
		/* = pmctl reload all; the outcome goes to our log. */
		struct target	 all = { .instance = -1 };
		char		*cause;

		log_info("got SIGUSR2: reloading every app");
		if (rolling_begin_all(&all, &cause) == -1) {
			log_warn("SIGUSR2: %s", cause);
			free(cause);
		}
		break;
	}
	case SIGHUP: {
		char	*cause;

		log_info("got SIGHUP: reading the config files again");
		if (reconfig_begin(&cause) == 0) {
			log_warn("SIGHUP: %s; nothing changed", cause);
			free(cause);
		}
		break;
	}
	}
}

/*
 * Four fds per worker (two pipes, the message channel and the pidfd): a
 * thousand workers need more than the usual soft limit of 1024. Take the
 * hard limit for pmd, or as root up to NOFILE_ROOT as systemd gives its
 * services, and give workers the limit pmd was started with.
 */
static void
raise_nofile(void)
{
	struct rlimit	raised = { NOFILE_ROOT, NOFILE_ROOT };

	if (getrlimit(RLIMIT_NOFILE, &worker_nofile) == -1)
		return;
	if (worker_nofile.rlim_max >= NOFILE_ROOT ||
	    setrlimit(RLIMIT_NOFILE, &raised) == -1) {
		raised.rlim_cur = raised.rlim_max = worker_nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &raised);
	}
}

/* Whether READY=1 is still to be sent (pmctl update carries it). */
int
daemon_booting(void)
{
	return booting;
}

/*
 * What every start shares: the loop, the control socket (group gid, or
 * -1; carried, the socket of the pmd before this one, or -1), the fd
 * limits, the settle step and the signals.
 */
static void
daemon_setup(const char *socket_path, gid_t gid, int carried)
{
	static const int	 signals[] = {
		SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2,
	};
	char			*cause;
	size_t			 i;

	daemon_socket = xstrdup(socket_path);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);	/* a file too big fails with EFBIG */
	if ((pmd_loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOENV)) == NULL)
		fatalx(1, "cannot initialise the event loop");
	if (child_init(&cause) == -1)
		fatalx(1, "%s", cause);
	if (control_listen(socket_path, gid, carried, &cause) == -1)
		fatalx(1, "control socket: %s", cause);
	/* Orphans of our workers come back to us, and child.c reaps them. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if ((ncpu = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		ncpu = 1;
	ev_idle_init(&settle_w, settle_cb);
	for (i = 0; i < nitems(signals); i++) {
		ev_signal_init(&sig_w[i], signal_cb, signals[i]);
		ev_signal_start(pmd_loop, &sig_w[i]);
	}
}

/*
 * Everything up to the loop: the control socket (group gid, or -1), the
 * HTTP listener, the fd budget, signals, and the first apps: the dump's
 * with resurrect, then the configured ones it did not bring back.
 */
void
daemon_start(const char *socket_path, gid_t gid, int resurrect)
{
	struct app_config	*cfg;
	char			**deleted = NULL, *cause;

	daemon_setup(socket_path, gid, -1);
	if (metrics_listen(config->metrics, -1, &cause) == -1)
		fatalx(1, "%s", cause);
	raise_nofile();
	fd_high_init();
	budget_init();
	control_apply_config(config);
	log_info("pmd %s started: config %s, socket %s, logs %s", PMD_VERSION,
	    config->file ? config->file : "(none)", socket_path, log_dir);
	if (resurrect && dump_resurrect(&deleted, NULL, &cause) == -1) {
		log_warn("%s; starting without it", cause);
		free(cause);
	}
	TAILQ_FOREACH(cfg, &config->apps, entry) {
		if (app_find(cfg->name) == NULL && !strv_has(deleted, cfg->name))
			app_create_fitting(cfg, "start");
	}
	argv_free(deleted);
	daemon_dirty();
}

/* The HTTP listener after pmctl update: the one carried, or as set now. */
static void
resume_http(const struct state_daemon *d)
{
	int	 carried = -1;
	char	*cause;

	if (d->http != -1 && config->metrics != NULL && d->http_url != NULL &&
	    strcmp(config->metrics, d->http_url) == 0)
		carried = d->http;
	else if (d->http != -1)
		close(d->http);		/* its address changed in the config */
	if (metrics_listen(config->metrics, carried, &cause) == -1) {
		log_warn("%s; no HTTP until reload-config", cause);
		free(cause);
	}
}

/*
 * A new pmd (pmctl update) takes over from the state on statefd, checked
 * by update_resume() into root (freed here); failed is set when this is
 * the old pmd taking back from a new one that could not. Nothing starts: the apps, workers and
 * sockets are the old pmd's, and who asked gets the answer.
 */
void
daemon_resume(const char *socket_path, gid_t gid, int statefd,
    struct cJSON *root, const char *failed)
{
	struct state_daemon	 d;
	struct update_done	 done;
	struct ucred		 cred;
	struct follower		*f;
	struct app		*a;
	char			*cause;
	size_t			 i, nf;
	double			 t;

	state_daemon(root, &d);
	update_lock(d.lock);
	daemon_setup(socket_path, gid, d.control);
	resume_http(&d);
	if (d.handoff != -1)
		handoff_adopt(d.handoff, d.handoff_name);
	worker_nofile = d.nofile;
	fd_high_init();
	budget_set_base(d.fd_base);
	control_apply_config(config);
	booting = d.booting;
	t = mono_now();
	if (state_apply(root, &cause) == -1)
		update_back(statefd, cause);
	t = mono_now() - t;
	update_resumed(statefd);
	nf = state_followers(root, &f);
	for (i = 0; i < nf; i++)
		control_adopt_follower(&f[i]);
	free(f);
	memset(&done, 0, sizeof done);
	done.from = d.version;
	done.error = failed;
	done.pause_ms = (mono_now() - d.written) * 1000;
	TAILQ_FOREACH(a, &apps, entry) {
		done.apps++;
		done.workers += a->nworkers;
	}
	if (failed != NULL) {
		log_warn("update: the new pmd could not take over (%s); pmd "
		    "%s runs on", failed, PMD_VERSION);
		event_emit(NULL, NULL, "update_failed", NULL, "%s; pmd %s runs "
		    "on", failed, PMD_VERSION);
	} else {
		log_info("pmd %s took over from pmd %s: %u apps, %u workers, "
		    "supervision paused %.1f ms (state checked in %.1f ms, "
		    "applied in %.1f)", PMD_VERSION, d.version, done.apps,
		    done.workers, done.pause_ms, update_checked_ms(), t * 1000);
		event_emit(NULL, NULL, "updated", NULL, "pmd %s took over from "
		    "pmd %s, supervision paused %.1f ms", PMD_VERSION,
		    d.version, done.pause_ms);
	}
	if (!booting)
		daemon_notify("READY=1");
	if (d.client != -1) {
		cred.uid = d.client_uid;
		cred.gid = d.client_gid;
		cred.pid = d.client_pid;
		control_update_done(d.client, &cred, &done);
	}
	cJSON_Delete(root);
	/* What the state's tree and the room made for it took goes back. */
	malloc_trim(0);
	daemon_dirty();
}

/* The loop, until every worker has stopped; then pmd's exit status. */
int
daemon_run(void)
{
	ev_run(pmd_loop, 0);

	control_close();
	metrics_close();
	proc_kill_strays();
	while (!TAILQ_EMPTY(&apps)) {
		TAILQ_FIRST(&apps)->want = APP_GONE;
		app_settle_all();
	}
	logs_close_all();
	hooks_free();
	events_free();
	reconfig_free();
	config_free(config);
	free(main_file);
	free(dump_path);
	free(log_dir);
	free(daemon_socket);
	daemon_socket = NULL;
	log_info("stopped");
	ev_loop_destroy(pmd_loop);
	return exit_code;
}
