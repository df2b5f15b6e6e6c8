/*
 * pmctl, the client: turns its command line into one JSON request, finds
 * the daemon (starting a user-mode pmd when none answers), prints the reply
 * for a person or, with --json, for a program. Exit status: 0 ok, 1 the
 * daemon reported an error, 2 usage error, 3 daemon unreachable or the
 * protocol broke, 4 the daemon did not answer in time (--timeout).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#define SYSTEM_SOCKET	"/run/pmd/pmd.sock"
#define ANSWER_SECONDS	10.0	/* for an answer, by default */
#define SETTLE_SECONDS	900.0	/* for a command that waits for workers */

extern const struct cmd_entry cmd_list_entry, cmd_version_entry;

int		 pmctl_json;	/* --json */
const char	*pmctl_start_running;	/* startOr...: "restart", "reload" */
static char	*socket_path;	/* where the daemon answered */
int		 color;
static double	 timeout_opt;	/* --timeout, seconds; 0: the defaults */
static char	 late_msg[1024];	/* what SIGALRM says */

static void
usage(FILE *f)
{
	const struct cmd_entry	*const *ce;

	fprintf(f, "usage: pmctl [-H [USER@]HOST] [-s SOCKET] [--json] "
	    "[--timeout DURATION] COMMAND [ARGS]\n\n");
	for (ce = cmd_table; *ce != NULL; ce++)
		fprintf(f, "  %-8s %s\n           %s%s%s%s\n", (*ce)->name,
		    (*ce)->usage, (*ce)->help, (*ce)->alias ? " (also: " : "",
		    (*ce)->alias ? (*ce)->alias : "", (*ce)->alias ? ")" : "");
	fprintf(f, "  %-8s %s\n           %s\n", "jlist", "",
	    "PM2's: list --json (prettylist: indented)");
	fprintf(f, "  %s\n           %s\n", "startOrRestart FILE [--env "
	    "PROFILE] [--only NAMES]", "PM2's: start an ecosystem file's apps, "
	    "restart those that run (startOrReload, startOrGracefulReload: "
	    "reload them)");
	fprintf(f, "  %-8s %s\n           %s\n", "commands", "[keys]",
	    "every command and alias, or every --KEY option of start (for "
	    "shell completion)");
	fprintf(f, "  %-8s %s\n           %s\n", "help", "", "this text");
	fprintf(f, "\nOptions: -H [USER@]HOST (the command on that host, over "
	    "ssh), -s SOCKET,\n--json, --timeout DURATION (how long to wait "
	    "for pmd's answer: 10s, or 15m\nfor the commands that wait for "
	    "workers).\n");
	fprintf(f, "\nExit status: 0 ok, 1 the daemon reported an error, "
	    "2 usage error,\n3 daemon unreachable, 4 no answer in time. See "
	    "pmctl(1).\n");
}

void
pmctl_usage_error(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fputs("pmctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs("\n(pmctl --help lists the commands)\n", stderr);
	va_end(ap);
	exit(EXIT_USAGE);
}

static int
try_connect(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path)
		fatalx(EXIT_UNREACH, "socket path too long: %s", path);
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fatalx(EXIT_UNREACH, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static char *
find_pmd(void)
{
	const char	*env = getenv("PMD_BIN");
	char		 self[PATH_MAX], *dir, *path;
	ssize_t		 n;

	if (env != NULL && *env != '\0')
		return xstrdup(env);
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		dir = path_dirname(self);
		path = xprintf("%s/pmd", dir);
		free(dir);
		if (access(path, X_OK) == 0)
			return path;
		free(path);
	}
	return xstrdup("pmd");
}

/*
 * Start a user-mode pmd for home and wait until it says its socket answers.
 * If another pmctl started one at the same time, pmd's lock lets only one
 * live; the loser exits and we connect to the winner.
 */
static int
start_daemon(const char *home, const char *path)
{
	char	*pmd = find_pmd(), errbuf[4096], fdstr[16], c;
	int	 ready[2], errp[2], fd, status, racing;
	ssize_t	 n, len = 0;
	pid_t	 pid;
	double	 deadline;

	if (pipe2(ready, O_CLOEXEC) == -1 || pipe2(errp, O_CLOEXEC) == -1)
		fatalx(EXIT_UNREACH, "pipe: %s", strerror(errno));
	switch (pid = fork()) {
	case -1:
		fatalx(EXIT_UNREACH, "fork: %s", strerror(errno));
	case 0:
		fd = fcntl(ready[1], F_DUPFD, 3);	/* without CLOEXEC */
		snprintf(fdstr, sizeof fdstr, "%d", fd);
		setenv("PMD_READY_FD", fdstr, 1);
		setenv("PMD_HOME", home, 1);
		dup2(errp[1], STDERR_FILENO);
		execlp(pmd, pmd, "--daemon", (char *)NULL);
		dprintf(STDERR_FILENO, "cannot run %s: %s\n", pmd,
		    strerror(errno));
		_exit(127);
	}
	close(ready[1]);
	close(errp[1]);
	n = read(ready[0], &c, 1);
	close(ready[0]);
	while (len < (ssize_t)sizeof errbuf - 1 &&
	    (n = read(errp[0], errbuf + len, sizeof errbuf - 1 - len)) > 0)
		len += n;
	errbuf[len] = '\0';
	close(errp[0]);
	waitpid(pid, &status, 0);
	free(pmd);
	/*
	 * Ours is up, or lost the race to another pmctl's pmd (exit 75): the
	 * winner's socket answers soon. Any other failure is final.
	 */
	racing = WIFEXITED(status) && WEXITSTATUS(status) == PMD_EX_RUNNING;
	deadline = mono_now() + 10;
	do {
		if ((fd = try_connect(path)) != -1)
			return fd;
		/* The client may wait: a short pause between tries. */
		poll(NULL, 0, 10);
	} while (mono_now() < deadline && (len == 0 || racing));
	if (WIFEXITED(status) && WEXITSTATUS(status) == PMD_EX_CONFIG)
		fatalx(EXIT_UNREACH, "pmd did not start: %s", errbuf);
	fatalx(EXIT_UNREACH, "pmd did not start%s%s", len ? ": " : "", errbuf);
}

static char *
default_home(void)
{
	const char	*h = getenv("HOME");
	struct passwd	*pw;

	if ((h == NULL || *h == '\0') && (pw = getpwuid(getuid())) != NULL)
		h = pw->pw_dir;
	if (h == NULL)
		fatalx(EXIT_UNREACH, "cannot find the home directory; set "
		    "PMD_HOME");
	return xprintf("%s/.pmd", h);
}

/* pmctl(1)'s order: -s, $PMD_SOCKET, $PMD_HOME, /run/pmd, ~/.pmd. */
static int
connect_daemon(const char *opt_socket, int autostart, char **pathp)
{
	const char	*env;
	char		*home = NULL, *path;
	int		 fd;

	if (opt_socket != NULL || ((env = getenv("PMD_SOCKET")) != NULL &&
	    *env != '\0')) {
		path = xstrdup(opt_socket ? opt_socket : env);
		autostart = 0;
	} else if ((env = getenv("PMD_HOME")) != NULL && *env != '\0') {
		home = xstrdup(env);
		path = xprintf("%s/pmd.sock", home);
	} else if ((fd = try_connect(SYSTEM_SOCKET)) != -1) {
		*pathp = xstrdup(SYSTEM_SOCKET);
		return fd;
	} else {
		home = default_home();
		path = xprintf("%s/pmd.sock", home);
	}
	*pathp = path;
	fd = try_connect(path);
	if (fd == -1 && autostart) {
		char *cause;
		if (mkdir_p(home, 0700, &cause) == -1)
			fatalx(EXIT_UNREACH, "cannot create %s", cause);
		fd = start_daemon(home, path);
	}
	free(home);
	return fd;
}

static void
late_cb(int sig)
{
	(void)sig;
	if (write(STDERR_FILENO, late_msg, strlen(late_msg)) == -1)
		_exit(EXIT_TIMEOUT);
	_exit(EXIT_TIMEOUT);
}

/*
 * From now on, exit 4 with a message unless the daemon answers within
 * seconds (--timeout if given); 0 disarms (a stream follows).
 */
void
pmctl_deadline(double seconds)
{
	struct itimerval	it;
	struct sigaction	sa;

	memset(&it, 0, sizeof it);
	if (seconds > 0 && timeout_opt > 0)
		seconds = timeout_opt;
	if (seconds > 0) {
		snprintf(late_msg, sizeof late_msg, "pmctl: pmd did not answer "
		    "within %gs on %s: it may be stuck, busy or out of file "
		    "descriptors; see its log (pmd.log in its log directory, "
		    "or journalctl -u pmd), or wait longer with --timeout "
		    "DURATION\n", seconds, socket_path != NULL ? socket_path :
		    "its socket");
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = late_cb;
		sigaction(SIGALRM, &sa, NULL);
		it.it_value.tv_sec = (time_t)seconds;
		it.it_value.tv_usec = (suseconds_t)((seconds -
		    (double)(time_t)seconds) * 1e6);
	}
	setitimer(ITIMER_REAL, &it, NULL);
}

static void
set_timeout(const char *s)
{
	uint64_t	 ms;
	char		*cause;

	if (parse_duration(s, &ms, &cause) == -1)
		pmctl_usage_error("--timeout: %s", cause);
	if (ms == 0)
		pmctl_usage_error("--timeout: expected a duration above 0, "
		    "got \"%s\"", s);
	timeout_opt = ms / 1000.0;
}

/* Into env: pmctl's environment, as PM2 gives a command. */
void
pmctl_add_environ(cJSON *env)
{
	extern char	**environ;
	char		**e, *eq, *key;

	for (e = environ; *e != NULL; e++) {
		if ((eq = strchr(*e, '=')) == NULL)
			continue;
		key = xstrndup(*e, eq - *e);
		if (!cJSON_HasObjectItem(env, key))
			cJSON_AddStringToObject(env, key, eq + 1);
		free(key);
	}
}

/*
 * restart and reload: TARGET [--update-env]; with it, the workers get
 * pmctl's environment from then on, as PM2's --update-env does.
 */
void
pmctl_build_target_env(const struct cmd_entry *ce, cJSON *req, int argc,
    char **argv)
{
	int	i, target = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--update-env") == 0)
			pmctl_add_environ(cJSON_AddObjectToObject(req, "env"));
		else if (argv[i][0] != '-' && !target++)
			cJSON_AddStringToObject(req, "target", argv[i]);
		else
			pmctl_usage_error("usage: pmctl %s %s", ce->name,
			    ce->usage);
	}
	if (!target)
		pmctl_usage_error("usage: pmctl %s %s", ce->name, ce->usage);
}

/* Read one JSON line from the daemon; NULL at EOF. */
cJSON *
pmctl_read_reply(FILE *in)
{
	static char	*line;
	static size_t	 size;
	cJSON		*reply;

	if (getline(&line, &size, in) == -1)
		return NULL;
	if ((reply = cJSON_Parse(line)) == NULL || !cJSON_IsObject(reply))
		fatalx(EXIT_UNREACH, "protocol error: the reply is not JSON");
	return reply;
}

static double	 exchange_seconds = ANSWER_SECONDS;

/*
 * Send req, read the reply within exchange_seconds; NULL with *cause if
 * the daemon is gone.
 */
cJSON *
pmctl_exchange(int fd, FILE *in, cJSON *req, char **cause)
{
	char	*line = cJSON_PrintUnformatted(req);
	size_t	 off = 0, n;
	ssize_t	 r;
	int	 sent_errno = 0;
	cJSON	*reply;

	n = strlen(line);
	line = xrealloc(line, n + 2);
	line[n++] = '\n';
	pmctl_deadline(exchange_seconds);
	while (off < n) {
		r = send(fd, line + off, n - off, MSG_NOSIGNAL);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			/* Closed on us: it may have said why (a refused uid). */
			sent_errno = errno;
			break;
		}
		off += r;
	}
	free(line);
	reply = pmctl_read_reply(in);
	pmctl_deadline(0);
	if (reply != NULL)
		return reply;
	if (sent_errno != 0)
		*cause = xprintf("lost the daemon: %s", strerror(sent_errno));
	else
		*cause = xstrdup("the daemon closed the connection without a "
		    "reply");
	return NULL;
}

/* Connect again to the daemon that answered before (no autostart). */
int
pmctl_redial(int *fd, FILE **in)
{
	int	nfd;

	if (socket_path == NULL || (nfd = try_connect(socket_path)) == -1)
		return -1;
	fclose(*in);
	if ((*in = fdopen(nfd, "r")) == NULL)
		fatalx(EXIT_UNREACH, "fdopen: %s", strerror(errno));
	*fd = nfd;
	return 0;
}

static cJSON *
exchange(int fd, FILE *in, cJSON *req)
{
	char	*cause;
	cJSON	*reply = pmctl_exchange(fd, in, req, &cause);

	if (reply == NULL)
		fatalx(EXIT_UNREACH, "%s", cause);
	return reply;
}

/*
 * The request of ce from its arguments: its own builder's, or each
 * argument in turn as the next of its fields (a number for a number).
 */
static cJSON *
build_request(const struct cmd_entry *ce, int argc, char **argv)
{
	const struct cmd_arg	*a = ce->args;
	cJSON			*req = cJSON_CreateObject();
	char			*end;
	long			 n;
	int			 i;

	cJSON_AddNumberToObject(req, "v", PMD_PROTOCOL_VERSION);
	cJSON_AddStringToObject(req, "cmd", ce->name);
	if (ce->build != NULL) {
		ce->build(ce, req, argc, argv);
		return req;
	}
	for (i = 0; i < argc; i++, a++) {
		if (a == NULL || a->field == NULL) {
			if (ce->args == NULL || ce->args->field == NULL)
				pmctl_usage_error("%s takes no arguments",
				    ce->name);
			pmctl_usage_error("usage: pmctl %s %s", ce->name,
			    ce->usage);
		}
		if (a->type != ARG_INT) {
			cJSON_AddStringToObject(req, a->field, argv[i]);
			continue;
		}
		n = strtol(argv[i], &end, 10);
		if (*argv[i] == '\0' || *end != '\0' || n < a->min || n > a->max)
			pmctl_usage_error("%s: %s takes a number from %.0f to "
			    "%.0f, got \"%s\"", ce->name, a->field, a->min,
			    a->max, argv[i]);
		cJSON_AddNumberToObject(req, a->field, n);
	}
	if (a != NULL && a->field != NULL && a->required)
		pmctl_usage_error("usage: pmctl %s %s", ce->name, ce->usage);
	return req;
}

/* The numbers of the reply's array field, one a line (pid, id). */
void
pmctl_print_numbers(cJSON *reply, const char *field)
{
	cJSON	*n;

	cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(reply, field))
		printf("%.0f\n", n->valuedouble);
}

/* "added: a, b" for each non-empty list of names. */
void
pmctl_print_names(const char *what, cJSON *list)
{
	cJSON	*e;
	int	 first = 1;

	if (cJSON_GetArraySize(list) == 0)
		return;
	printf("%s:", what);
	cJSON_ArrayForEach(e, list) {
		printf("%s %s", first ? "" : ",", cJSON_IsString(e) ?
		    e->valuestring : "?");
		first = 0;
	}
	printf("\n");
}

/* Print the reply (an error on stderr); the exit status. */
static int
print_reply(const struct cmd_entry *ce, cJSON *req, cJSON *reply, FILE *in)
{
	cJSON	*err = cJSON_GetObjectItemCaseSensitive(reply, "error");
	cJSON	*rows = cJSON_GetObjectItemCaseSensitive(reply, "workers");
	char	*s;

	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok"))) {
		if (pmctl_json) {
			s = cJSON_PrintUnformatted(reply);
			puts(s);
			free(s);
		} else
			fprintf(stderr, "pmctl: %s\n", cJSON_IsObject(err) ?
			    str(err, "message") : "the daemon reported an "
			    "error");
		return EXIT_DAEMON;
	}
	if (ce == &cmd_list_entry && rows != NULL)
		pmctl_sort_rows(rows);
	if (pmctl_json) {
		/* list --json is the array of workers itself. */
		s = cJSON_PrintUnformatted(ce == &cmd_list_entry &&
		    rows != NULL ? rows : reply);
		puts(s);
		free(s);
		/* A stream (logs --follow) goes on, in JSON lines. */
		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req,
		    "follow")))
			return 0;
	}
	if (ce->print != NULL)
		ce->print(reply, req, in);
	else if (rows != NULL && !pmctl_json)
		pmctl_print_list(rows);
	return 0;
}

/* pmctl's own options, before the command; the command's index. */
static int
global_options(int argc, char **argv, const char **opt_socket)
{
	int	i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-H") == 0 ||
		    strcmp(argv[i], "--host") == 0) {
			if (i + 1 == argc)
				pmctl_usage_error("%s needs [USER@]HOST",
				    argv[i]);
			/* Every other word, as given, for the remote pmctl. */
			pmctl_remote(argc, argv, i);
		}
		if (strcmp(argv[i], "-s") == 0 ||
		    strcmp(argv[i], "--socket") == 0) {
			if (++i == argc)
				pmctl_usage_error("%s needs a socket path",
				    argv[i - 1]);
			*opt_socket = argv[i];
		} else if (strcmp(argv[i], "--json") == 0)
			pmctl_json = 1;
		else if (strcmp(argv[i], "--timeout") == 0) {
			if (++i == argc)
				pmctl_usage_error("--timeout needs a duration");
			set_timeout(argv[i]);
		} else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(argv[i], "-V") == 0 ||
		    strcmp(argv[i], "--version") == 0) {
			printf("pmctl %s\n", PMD_VERSION);
			exit(0);
		} else
			pmctl_usage_error("unknown option %s", argv[i]);
	}
	return i;
}

/*
 * --json and --timeout may stand anywhere before a command's "--": taken
 * out of the command's arguments (from i on); the new argc.
 */
static int
late_options(int argc, char **argv, int i)
{
	int	j;

	for (j = i; j < argc && strcmp(argv[j], "--") != 0; j++) {
		if (strcmp(argv[j], "--json") == 0) {
			pmctl_json = 1;
			memmove(&argv[j], &argv[j + 1], (argc - j) *
			    sizeof *argv);
			argc--;
			j--;
		} else if (strcmp(argv[j], "--timeout") == 0) {
			if (j + 1 == argc)
				pmctl_usage_error("--timeout needs a duration");
			set_timeout(argv[j + 1]);
			memmove(&argv[j], &argv[j + 2], (argc - j - 1) *
			    sizeof *argv);
			argc -= 2;
			j--;
		}
	}
	return argc;
}

/* For the shell completion: every name and alias, or the keys. */
static int
list_commands(int argc, char **argv)
{
	const struct cmd_entry *const	*ce;
	size_t				 j;

	if (argc > 0 && strcmp(argv[0], "keys") == 0) {
		for (j = 0; j < napp_keys; j++)
			printf("--%s\n", app_keys[j].name);
		return 0;
	}
	for (ce = cmd_table; *ce != NULL; ce++)
		printf("%s%s%s\n", (*ce)->name, (*ce)->alias ? " " : "",
		    (*ce)->alias ? (*ce)->alias : "");
	printf("jlist prettylist commands help startOrRestart startOrReload "
	    "startOrGracefulReload\n");
	return 0;
}

/* The command of this name, or exit with PM2's advice or a guess. */
static const struct cmd_entry *
find_command(const char *name)
{
	const struct cmd_entry	*cmd, *const *ce;
	const char		*names[64], *close;
	size_t			 n = 0;

	if ((cmd = cmd_find(name, 1)) != NULL)
		return cmd;
	if ((close = pmctl_pm2_advice(name)) != NULL)
		pmctl_usage_error("%s is PM2's; with pmd: %s", name, close);
	for (ce = cmd_table; *ce != NULL && n < nitems(names); ce++)
		names[n++] = (*ce)->name;
	if ((close = suggest(name, names, n)) != NULL)
		pmctl_usage_error("unknown command \"%s\" (did you mean \"%s\"?)",
		    name, close);
	pmctl_usage_error("unknown command \"%s\"", name);
}

/* A command that talks to pmd itself (monit, logs of a kind...). */
static int
run_client(const struct cmd_entry *cmd, const char *opt_socket, int argc,
    char **argv)
{
	FILE	*in;
	char	*path;
	int	 fd;

	pmctl_deadline(ANSWER_SECONDS);
	if ((fd = connect_daemon(opt_socket, 1, &path)) == -1)
		fatalx(EXIT_UNREACH, "no pmd answers on %s", path);
	if ((in = fdopen(fd, "r")) == NULL)
		fatalx(EXIT_UNREACH, "fdopen: %s", strerror(errno));
	socket_path = path;
	pmctl_deadline(0);
	return cmd->run(fd, in, argc, argv);
}

/* One request, its reply printed; the exit status. */
static int
run_request(const struct cmd_entry *cmd, const char *opt_socket, int argc,
    char **argv, int pretty)
{
	cJSON	*req, *reply, *ping;
	FILE	*in;
	char	*path, *s;
	int	 fd, rc;

	req = build_request(cmd, argc, argv);
	/* A follower's lines go out one by one, even into a pipe. */
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "follow")))
		setvbuf(stdout, NULL, _IOLBF, 0);
	/* A connect blocks while pmd's backlog is full: bounded too. */
	pmctl_deadline(ANSWER_SECONDS);
	if ((fd = connect_daemon(opt_socket, !(cmd->flags & CMD_NO_AUTOSTART),
	    &path)) == -1) {
		if (cmd == &cmd_version_entry)
			printf("pmctl %s\npmd not running\n", PMD_VERSION);
		fatalx(EXIT_UNREACH, "no pmd answers on %s", path);
	}
	socket_path = path;
	if ((in = fdopen(fd, "r")) == NULL)
		fatalx(EXIT_UNREACH, "fdopen: %s", strerror(errno));
	if (cmd->flags & CMD_WAITS) {
		/*
		 * pmd answers in order: a ping first tells a daemon that
		 * answers nothing from one that works on a long command.
		 */
		ping = cJSON_CreateObject();
		cJSON_AddNumberToObject(ping, "v", PMD_PROTOCOL_VERSION);
		cJSON_AddStringToObject(ping, "cmd", "ping");
		cJSON_Delete(exchange(fd, in, ping));
		cJSON_Delete(ping);
		exchange_seconds = SETTLE_SECONDS;
	}
	reply = exchange(fd, in, req);
	if (pretty && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply,
	    "ok"))) {
		s = cJSON_Print(cJSON_GetObjectItemCaseSensitive(reply,
		    "workers"));
		puts(s);
		free(s);
		rc = 0;
	} else
		rc = print_reply(cmd, req, reply, in);
	fclose(in);
	cJSON_Delete(req);
	cJSON_Delete(reply);
	free(path);
	return rc;
}

int
main(int argc, char **argv)
{
	const struct cmd_entry	*cmd;
	const char		*opt_socket = NULL, *name, *nc, *term;
	int			 i, pretty = 0;

	if ((i = global_options(argc, argv, &opt_socket)) == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	name = pmctl_pm2_name(argv[i++], &pretty);
	argc = late_options(argc, argv, i);
	if (strcmp(name, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(name, "commands") == 0)
		return list_commands(argc - i, argv + i);
	cmd = find_command(name);
	nc = getenv("NO_COLOR");
	term = getenv("TERM");
	color = isatty(STDOUT_FILENO) && (nc == NULL || *nc == '\0') &&
	    term != NULL && *term != '\0' && strcmp(term, "dumb") != 0 &&
	    !pmctl_json;
	if ((cmd->flags & CMD_CLIENT) && pmctl_json)
		pmctl_usage_error("%s is a view for a person; --json list is for "
		    "programs", cmd->name);
	if (cmd->flags & CMD_LOCAL)
		return cmd->run(-1, NULL, argc - i, argv + i);
	if (cmd->flags & CMD_CLIENT)
		return run_client(cmd, opt_socket, argc - i, argv + i);
	return run_request(cmd, opt_socket, argc - i, argv + i, pretty);
}
