/*
 * pmd's main: finds its files (system or user mode), loads the config
 * (exit 78 if it is bad, or just checks it with -t), takes the one-daemon
 * lock, ends what a killed pmd left running, detaches with -d, and hands
 * over to daemon.c, which runs the loop until SIGTERM, SIGINT or `pmctl
 * kill` and stops every worker.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"

#define SYSTEM_CONFIG	"/etc/pmd/pmd.conf"
#define SYSTEM_SOCKET	"/run/pmd/pmd.sock"
#define SYSTEM_LOGS	"/var/log/pmd"
#define SYSTEM_DUMP	"/var/lib/pmd/dump.json"

/* What the command line asks for. */
struct options {
	const char	*file;		/* -c */
	int		 detach;	/* -d */
	int		 sysmode;	/* --system */
	int		 resurrect;	/* -r */
	int		 test;		/* -t */
	/* pmctl update (update.c): internal, between two pmds. */
	int		 update_from;	/* the state's fd, or -1 */
	int		 update_old;	/* the old binary's fd, or -1 */
	const char	*update_failed;	/* the new one could not take over */
	int		 update_check;	/* the probe: the state version asked */
};

/* Where pmd keeps its files. */
struct paths {
	char		*home;		/* PMD_HOME (user mode), or NULL */
	char		*socket;
	const char	*config;	/* the main config file, or NULL */
	int		 optional;	/* it may not exist yet */
};

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

static void
parse_options(int argc, char **argv, struct options *o)
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
		{ "update-from", required_argument, NULL, 'U' },
		{ "update-old", required_argument, NULL, 'O' },
		{ "update-failed", required_argument, NULL, 'F' },
		{ "update-check", required_argument, NULL, 'K' },
		{ NULL, 0, NULL, 0 },
	};
	int	ch;

	while ((ch = getopt_long(argc, argv, "c:dfhrtV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->file = optarg;
			break;
		case 'd':
			o->detach = 1;
			break;
		case 'f':
			o->detach = 0;
			break;
		case 'r':
			o->resurrect = 1;
			break;
		case 't':
			o->test = 1;
			break;
		case 'S':
			o->sysmode = 1;
			break;
		case 'C':
			daemon_container = 1;
			break;
		case 'V':
			printf("pmd %s (protocol %d)\n", PMD_VERSION,
			    PMD_PROTOCOL_VERSION);
			exit(0);
		case 'h':
			usage(0);
		case 'U':
			o->update_from = atoi(optarg);
			break;
		case 'O':
			o->update_old = atoi(optarg);
			break;
		case 'F':
			o->update_failed = optarg;
			break;
		case 'K':
			o->update_check = atoi(optarg);
			o->test = 1;
			break;
		default:
			usage(2);
		}
	}
	if (optind != argc)
		usage(2);
	if (o->file != NULL && strcmp(o->file, SYSTEM_CONFIG) == 0)
		o->sysmode = 1;
	if (o->sysmode && o->file == NULL)
		o->file = SYSTEM_CONFIG;
}

/*
 * The main config file: -c, the system one, or in user mode
 * PMD_HOME/pmd.conf, optional (reload-config reads it once it exists).
 */
static void
find_config(const struct options *o, struct paths *p)
{
	char	*cause;

	p->config = o->file;
	if (o->sysmode)
		return;
	p->home = user_home();
	if (!o->test && mkdir_p(p->home, 0700, &cause) == -1)
		fatalx(1, "%s", cause);
	if (p->config == NULL) {
		p->config = xprintf("%s/pmd.conf", p->home);
		p->optional = access(p->config, F_OK) == -1;
	}
}

/* -t: as nginx -t, sshd -t: the config checked, nothing started. */
static int
test_config(const struct options *o, struct paths *p)
{
	struct app_config	*cfg;
	size_t			 n = 0;

	TAILQ_FOREACH(cfg, &config->apps, entry)
		n++;
	/* The probe of pmctl update: can this binary take over? */
	if (o->update_check != 0 && (o->update_check < STATE_OLDEST ||
	    o->update_check > STATE_VERSION)) {
		printf("pmd %s reads state versions %d to %d, not %d\n",
		    PMD_VERSION, STATE_OLDEST, STATE_VERSION, o->update_check);
		return 1;
	}
	printf("pmd: %s: the configuration is valid (%zu app%s)\n",
	    p->config != NULL ? p->config : "(no file)", n,
	    n == 1 ? "" : "s");
	config_free(config);
	daemon_config_file(NULL, 0);
	if (p->config != o->file)
		free((char *)p->config);
	free(p->home);
	return 0;
}

/* The log directory, the socket and the dump: the config's, or defaults. */
static void
find_files(const struct options *o, struct paths *p)
{
	char	*dir, *cause;

	log_dir = config->log_dir ? xstrdup(config->log_dir) :
	    o->sysmode ? xstrdup(SYSTEM_LOGS) : xprintf("%s/logs", p->home);
	p->socket = config->socket ? xstrdup(config->socket) :
	    o->sysmode ? xstrdup(SYSTEM_SOCKET) : xprintf("%s/pmd.sock",
	    p->home);
	dump_path = config->dump_file ? xstrdup(config->dump_file) :
	    o->sysmode ? xstrdup(SYSTEM_DUMP) : xprintf("%s/dump.json",
	    p->home);
	if (mkdir_p(log_dir, 0750, &cause) == -1)
		fatalx(1, "log_dir: %s", cause);
	dir = path_dirname(p->socket);
	if (mkdir_p(dir, o->sysmode ? 0755 : 0700, &cause) == -1)
		fatalx(1, "socket: %s", cause);
	free(dir);
}

static int
run(struct paths *p)
{
	int	rc = daemon_run();

	free(p->socket);
	free(p->home);
	return rc;
}

int
main(int argc, char **argv)
{
	struct options	 o = { .update_from = -1, .update_old = -1 };
	struct paths	 p = { 0 };
	struct group	*gr;
	struct cJSON	*state = NULL;
	gid_t		 gid = (gid_t)-1;
	char		*cause, *dir;
	int		 lockfd;

	/* pmd itself, run by pmd between it and a hook (hooks.c). */
	if (argc > 2 && strcmp(argv[1], HOOK_RUNNER) == 0)
		return hook_runner(argv + 2);
	parse_options(argc, argv, &o);
	/* cJSON allocates as pmd does: no NULL from an out-of-memory print. */
	cJSON_InitHooks(&(cJSON_Hooks){ xmalloc, free });
	/* pmctl update: the state checked before anything changes. */
	if (o.update_from != -1)
		state = update_resume(o.update_from, o.update_old);
	find_config(&o, &p);
	daemon_config_file(p.config, p.optional);
	if (daemon_read_config(&config, &cause) == -1)
		fatalx(PMD_EX_CONFIG, "%s", cause);
	if (o.test)
		return test_config(&o, &p);
	if (p.config != o.file)
		free((char *)p.config);
	daemon_container |= config->container;
	if (daemon_container && config->container_json)
		daemon_container = 2;
	find_files(&o, &p);
	if (o.sysmode && (gr = getgrnam("pmd")) != NULL)
		gid = gr->gr_gid;
	/* pmctl update: the same process, the lock and workers carried. */
	lockfd = o.update_from != -1 ? -1 : take_lock(p.socket);
	dir = xprintf("%s.workers", p.socket);
	if (track_open(dir, &cause) == -1)
		fatalx(1, "%s", cause);
	free(dir);
	if (o.update_from != -1) {
		update_init(argv, -1);
		daemon_resume(p.socket, gid, o.update_from, state,
		    o.update_failed);
		return run(&p);
	}
	/* End what a pmd killed before us left running. */
	track_sweep();
	if (o.detach) {
		dir = xprintf("%s/pmd.log", log_dir);
		daemonize(dir);
		free(dir);
	}
	/* Our pid, for the message a second pmd prints. */
	if (ftruncate(lockfd, 0) == 0)
		dprintf(lockfd, "%ld\n", (long)getpid());
	update_init(argv, lockfd);
	daemon_start(p.socket, gid, o.resurrect);
	notify_ready_fd();
	return run(&p);
}
