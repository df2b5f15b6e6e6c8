/*
 * pmd, the daemon: finds its files (system or user mode), loads the config
 * (exit 78 if it is bad), takes the one-daemon lock, binds the control
 * socket, starts the configured apps and runs the event loop until SIGTERM,
 * SIGINT or `pmctl kill`, when it stops every worker and exits 0.
 */
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"

#define NOFILE_ROOT	262144	/* fds pmd takes as root, if it may */
#include "pmd-protocol.h"

#define SYSTEM_CONFIG	"/etc/pmd/pmd.conf"
#define SYSTEM_SOCKET	"/run/pmd/pmd.sock"
#define SYSTEM_LOGS	"/var/log/pmd"
#define SYSTEM_DUMP	"/var/lib/pmd/dump.json"

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

#define STOP_AGAIN	1.0	/* seconds: a repeat sooner is the same ask */

static void __attribute__((noreturn))
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: pmd [-d | -f | -t] [-c FILE] [--system] [--container] "
	    "[--resurrect]\n"
	    "  -c, --config FILE  read this config file\n"
	    "  -t, --test         check the config and its includes, start "
	    "nothing\n"
	    "  -d, --daemon       detach and log to LOG_DIR/pmd.log\n"
	    "  -f, --foreground   stay in the foreground (the default)\n"
	    "  -r, --resurrect    start the apps saved by pmctl save\n"
	    "      --system       system mode: " SYSTEM_CONFIG ", "
	    SYSTEM_SOCKET "\n"
	    "      --container    every worker's output on pmd's stdout and "
	    "stderr\n"
	    "  -V, --version      print the version\n");
	exit(code);
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
	return config_load(main_file, OWNER_NONE, cfgp, cause);
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
			for (i = 0; i < a->nworkers; i++)
				worker_signal(a->workers[i], SIGKILL);
			rolling_signal(a, SIGKILL);
		}
		return;
	}
	daemon_stopping = 1;
	daemon_notify("STOPPING=1");
	log_info("stopping all workers");
	TAILQ_FOREACH(a, &apps, entry) {
		rolling_abort(a);
		app_apply(a, E_STOP, -1);
	}
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

static char *
user_home(void)
{
	const char	*home = getenv("PMD_HOME"), *h;
	struct passwd	*pw;

	if (home != NULL && *home != '\0')
		return xstrdup(home);
	if ((h = getenv("HOME")) == NULL || *h == '\0') {
		if ((pw = getpwuid(getuid())) == NULL)
			fatalx(1, "cannot find the home directory; set "
			    "PMD_HOME");
		h = pw->pw_dir;
	}
	return xprintf("%s/.pmd", h);
}

/* One daemon per socket: a lock beside it, held for pmd's lifetime. */
static int
take_lock(const char *socket_path)
{
	char	*path = xprintf("%s.lock", socket_path), buf[32];
	int	 fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1)
		fatalx(1, "%s: %s", path, strerror(errno));
	free(path);
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		ssize_t n = read(fd, buf, sizeof buf - 1);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		fatalx(PMD_EX_RUNNING, "another pmd (pid %s) is running on %s",
		    *buf ? buf : "?", socket_path);
	}
	return fd;	/* kept open for good: it holds the lock */
}

static void
daemonize(const char *logfile)
{
	int	fd;

	switch (fork()) {
	case -1:
		fatalx(1, "fork: %s", strerror(errno));
	case 0:
		break;
	default:
		_exit(0);
	}
	setsid();
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		close(fd);
	}
	fd = open(logfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd != -1) {
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
}

/* Tell the pmctl that started us that the socket answers. */
static void
notify_ready_fd(void)
{
	const char	*s = getenv("PMD_READY_FD");
	int		 fd;

	if (s == NULL || (fd = atoi(s)) < 3)
		return;
	(void)!write(fd, "1", 1);
	close(fd);
	unsetenv("PMD_READY_FD");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "daemon", no_argument, NULL, 'd' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "resurrect", no_argument, NULL, 'r' },
		{ "test", no_argument, NULL, 't' },
		{ "system", no_argument, NULL, 'S' },
		{ "container", no_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const int signals[] = {
		SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2,
	};
	struct app_config	*cfg;
	struct group		*gr;
	char			*file = NULL, *home = NULL, *socket_path, *cause;
	char			**deleted = NULL, *def = NULL;
	gid_t			 gid = (gid_t)-1;
	int			 ch, detach = 0, sysmode = 0, lockfd;
	int			 resurrect = 0, test = 0;
	size_t			 i;

	/* pmd itself, run by pmd between it and a hook (hooks.c). */
	if (argc > 2 && strcmp(argv[1], HOOK_RUNNER) == 0)
		return hook_runner(argv + 2);
	while ((ch = getopt_long(argc, argv, "c:dfhrtV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 'd':
			detach = 1;
			break;
		case 'f':
			detach = 0;
			break;
		case 'r':
			resurrect = 1;
			break;
		case 't':
			test = 1;
			break;
		case 'S':
			sysmode = 1;
			break;
		case 'C':
			daemon_container = 1;
			break;
		case 'V':
			printf("pmd %s (protocol %d)\n", PMD_VERSION,
			    PMD_PROTOCOL_VERSION);
			return 0;
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	if (optind != argc)
		usage(2);
	/* cJSON allocates as pmd does: no NULL from an out-of-memory print. */
	{
		cJSON_Hooks hooks = { xmalloc, free };
		cJSON_InitHooks(&hooks);
	}
	if (file != NULL && strcmp(file, SYSTEM_CONFIG) == 0)
		sysmode = 1;
	if (sysmode && file == NULL)
		file = SYSTEM_CONFIG;
	if (!sysmode) {
		home = user_home();
		if (!test && mkdir_p(home, 0700, &cause) == -1)
			fatalx(1, "%s", cause);
		if (file == NULL) {
			def = xprintf("%s/pmd.conf", home);
			if (access(def, F_OK) == 0)
				file = def;
			else {
				free(def);
				def = NULL;
			}
		}
	}

	if (file == NULL && home != NULL) {
		/* Optional: reload-config reads it once it exists. */
		main_file = xprintf("%s/pmd.conf", home);
		main_optional = 1;
	} else if (file != NULL)
		main_file = xstrdup(file);
	if (daemon_read_config(&config, &cause) == -1)
		fatalx(PMD_EX_CONFIG, "%s", cause);
	if (test) {
		/* -t: as nginx -t, sshd -t: checked, nothing started. */
		i = 0;
		TAILQ_FOREACH(cfg, &config->apps, entry)
			i++;
		printf("pmd: %s: the configuration is valid (%zu app%s)\n",
		    main_file != NULL ? main_file : "(no file)", i,
		    i == 1 ? "" : "s");
		config_free(config);
		free(def);
		free(home);
		free(main_file);
		return 0;
	}
	daemon_container |= config->container;
	if (daemon_container && config->container_json)
		daemon_container = 2;

	log_dir = config->log_dir ? xstrdup(config->log_dir) :
	    sysmode ? xstrdup(SYSTEM_LOGS) : xprintf("%s/logs", home);
	socket_path = config->socket ? xstrdup(config->socket) :
	    sysmode ? xstrdup(SYSTEM_SOCKET) : xprintf("%s/pmd.sock", home);
	dump_path = config->dump_file ? xstrdup(config->dump_file) :
	    sysmode ? xstrdup(SYSTEM_DUMP) : xprintf("%s/dump.json", home);
	if (mkdir_p(log_dir, 0750, &cause) == -1)
		fatalx(1, "log_dir: %s", cause);
	{
		char *dir = path_dirname(socket_path);
		if (mkdir_p(dir, sysmode ? 0755 : 0700, &cause) == -1)
			fatalx(1, "socket: %s", cause);
		free(dir);
	}
	if (sysmode && (gr = getgrnam("pmd")) != NULL)
		gid = gr->gr_gid;

	daemon_socket = socket_path;
	lockfd = take_lock(socket_path);
	{
		/* End what a pmd killed before us left running. */
		char *dir = xprintf("%s.workers", socket_path);
		if (track_open(dir, &cause) == -1)
			fatalx(1, "%s", cause);
		track_sweep();
		free(dir);
	}
	if (detach) {
		char *logfile = xprintf("%s/pmd.log", log_dir);
		daemonize(logfile);
		free(logfile);
	}
	/* Our pid, for the message a second pmd prints. */
	if (ftruncate(lockfd, 0) == 0)
		dprintf(lockfd, "%ld\n", (long)getpid());
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);	/* a file too big fails with EFBIG */
	if ((pmd_loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOENV)) == NULL)
		fatalx(1, "cannot initialise the event loop");
	if (child_init(&cause) == -1)
		fatalx(1, "%s", cause);
	if (control_listen(socket_path, gid, &cause) == -1)
		fatalx(1, "control socket: %s", cause);
	if (metrics_listen(config->metrics, &cause) == -1)
		fatalx(1, "%s", cause);
	/* Orphans of our workers come back to us, and child.c reaps them. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	/*
	 * Four fds per worker (two pipes, the message channel and the
	 * pidfd): a
	 * thousand workers need more than the usual soft limit of 1024. Take
	 * the hard limit for pmd, or as root up to NOFILE_ROOT as systemd
	 * gives its services, and give workers the limit pmd was started
	 * with.
	 */
	if (getrlimit(RLIMIT_NOFILE, &worker_nofile) == 0) {
		struct rlimit raised = { NOFILE_ROOT, NOFILE_ROOT };
		if (worker_nofile.rlim_max >= NOFILE_ROOT ||
		    setrlimit(RLIMIT_NOFILE, &raised) == -1) {
			raised.rlim_cur = raised.rlim_max =
			    worker_nofile.rlim_max;
			setrlimit(RLIMIT_NOFILE, &raised);
		}
	}
	fd_high_init();
	budget_init();
	control_apply_config(config);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;

	ev_idle_init(&settle_w, settle_cb);
	for (i = 0; i < nitems(signals); i++) {
		ev_signal_init(&sig_w[i], signal_cb, signals[i]);
		ev_signal_start(pmd_loop, &sig_w[i]);
	}
	log_info("pmd %s started: config %s, socket %s, logs %s", PMD_VERSION,
	    config->file ? config->file : "(none)", socket_path, log_dir);
	if (resurrect && dump_resurrect(&deleted, NULL, &cause) == -1) {
		log_warn("%s; starting without it", cause);
		free(cause);
	}
	/* The configured apps the dump did not bring back (nor delete). */
	TAILQ_FOREACH(cfg, &config->apps, entry) {
		if (app_find(cfg->name) == NULL && !strv_has(deleted, cfg->name))
			app_create_fitting(cfg, "start");
	}
	argv_free(deleted);
	notify_ready_fd();
	daemon_dirty();

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
	daemon_socket = NULL;
	free(socket_path);
	free(home);
	log_info("stopped");
	ev_loop_destroy(pmd_loop);
	return exit_code;
}
