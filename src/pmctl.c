/*
 * pmctl, the client: turns its command line into one JSON request, finds
 * the daemon (starting a user-mode pmd when none answers), prints the reply
 * for a person or, with --json, for a program. Exit status: 0 ok, 1 the
 * daemon reported an error, 2 usage error, 3 daemon unreachable or the
 * protocol broke.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
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

extern char **environ;

enum args {
	ARGS_NONE, ARGS_TARGET, ARGS_NAME, ARGS_OPTNAME, ARGS_SCALE,
	ARGS_SIGNAL, ARGS_START, ARGS_LOGS,
	ARGS_LOCAL	/* the client's own: made of other requests */
};

struct command {
	const char	*name;
	enum args	 args;
	const char	*usage;
	const char	*help;
};

#define ROW(id, name, args, usage, help) { name, args, usage, help },
static const struct command commands[] = {
	PMD_COMMANDS(ROW)
	{ "monit", ARGS_LOCAL, "[--interval DURATION]",
	  "a live view: CPU and memory of each worker, an app's logs" },
};

static const struct { const char *alias, *name; } aliases[] = {
	{ "ls", "list" }, { "status", "list" }, { "info", "show" },
	{ "del", "delete" }, { "rm", "delete" },
};

static int	 json_out;
static char	*socket_path;	/* where the daemon answered */
int		 color;

static void
usage(FILE *f)
{
	size_t	i;

	fprintf(f, "usage: pmctl [-s SOCKET] [--json] COMMAND [ARGS]\n\n");
	for (i = 0; i < nitems(commands); i++)
		fprintf(f, "  %-8s %s\n           %s\n", commands[i].name,
		    commands[i].usage, commands[i].help);
	fprintf(f, "\nExit status: 0 ok, 1 the daemon reported an error, "
	    "2 usage error,\n3 daemon unreachable. See pmctl(1).\n");
}

static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
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

double
mono_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
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

/* Read one JSON line from the daemon; NULL at EOF. */
static cJSON *
read_reply(FILE *in)
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

/* Send req, read the reply; NULL with *cause if the daemon is gone. */
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
	if ((reply = read_reply(in)) != NULL)
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

const char *
paint(const char *status)
{
	if (!color)
		return "";
	if (strcmp(status, "online") == 0)
		return "\033[32m";
	if (strcmp(status, "errored") == 0)
		return "\033[31m";
	if (strcmp(status, "stopped") == 0)
		return "\033[90m";
	return "\033[33m";
}

void
fmt_duration(char *buf, size_t size, double ms)
{
	double	s = ms / 1000;

	if (ms <= 0)
		snprintf(buf, size, "-");
	else if (s < 60)
		snprintf(buf, size, "%.0fs", s);
	else if (s < 3600)
		snprintf(buf, size, "%.0fm", s / 60);
	else if (s < 86400)
		snprintf(buf, size, "%.1fh", s / 3600);
	else
		snprintf(buf, size, "%.1fd", s / 86400);
}

void
fmt_bytes(char *buf, size_t size, double b)
{
	if (b <= 0)
		snprintf(buf, size, "-");
	else if (b < 1024 * 1024)
		snprintf(buf, size, "%.0fK", b / 1024);
	else if (b < 1024.0 * 1024 * 1024)
		snprintf(buf, size, "%.1fM", b / 1024 / 1024);
	else
		snprintf(buf, size, "%.2fG", b / 1024 / 1024 / 1024);
}

double
num(cJSON *o, const char *key)
{
	cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

const char *
str(cJSON *o, const char *key)
{
	const char	*s = json_string(o, key);

	return s ? s : "";
}

/*
 * One worker's line of the list, its status between on and off (colour),
 * the name column namew wide.
 */
void
pmctl_list_row(char *buf, size_t size, cJSON *r, int namew, const char *on,
    const char *off)
{
	char	up[16], mem[16], pid[16];

	fmt_duration(up, sizeof up, num(r, "uptime_ms"));
	fmt_bytes(mem, sizeof mem, num(r, "memory"));
	if (num(r, "pid") > 0)
		snprintf(pid, sizeof pid, "%.0f", num(r, "pid"));
	else
		snprintf(pid, sizeof pid, "-");
	snprintf(buf, size, "%-*s  %4.0f  %8s  %s%-9s%s  %8.0f  %6s  %5.1f%%  "
	    "%7s", namew, str(r, "name"), num(r, "instance"), pid, on,
	    str(r, "status"), off, num(r, "restarts"), up, num(r, "cpu"), mem);
}

/* The width of the name column, and the header line above the rows. */
int
pmctl_list_header(char *buf, size_t size, cJSON *rows)
{
	cJSON	*r;
	int	 w = 4;

	cJSON_ArrayForEach(r, rows) {
		if ((int)strlen(str(r, "name")) > w)
			w = (int)strlen(str(r, "name"));
	}
	snprintf(buf, size, "%-*s  %4s  %8s  %-9s  %8s  %6s  %6s  %7s", w,
	    "NAME", "ID", "PID", "STATUS", "RESTARTS", "UPTIME", "CPU", "MEM");
	return w;
}

void
pmctl_print_list(cJSON *rows)
{
	cJSON	*r;
	char	 line[512];
	int	 w = pmctl_list_header(line, sizeof line, rows);

	printf("%s\n", line);
	cJSON_ArrayForEach(r, rows) {
		pmctl_list_row(line, sizeof line, r, w, paint(str(r, "status")),
		    color ? "\033[0m" : "");
		printf("%s\n", line);
	}
	if (cJSON_GetArraySize(rows) == 0)
		printf("(no apps)\n");
}

static void
print_strings(const char *label, cJSON *list)
{
	cJSON		*item;
	const char	*sep = "";

	printf("%-29s ", label);
	cJSON_ArrayForEach(item, list) {
		printf("%s%s", sep, cJSON_IsString(item) ? item->valuestring :
		    "?");
		sep = ", ";
	}
	printf("\n");
}

static void
print_watch(cJSON *watch)
{
	if (watch == NULL)
		return;
	print_strings("watch", cJSON_GetObjectItemCaseSensitive(watch,
	    "paths"));
	print_strings("ignore_watch", cJSON_GetObjectItemCaseSensitive(watch,
	    "ignore"));
	printf("%-29s %.0f\n", "watch_delay_ms", num(watch, "delay_ms"));
	printf("%-29s %.0f\n", "watched directories",
	    num(watch, "directories"));
}

static void
print_show(cJSON *app)
{
	static const char *const keys[] = {
		"source", "command", "cwd", "env_profile", "user", "group",
		"kill_signal", "log_date_format", "cron_restart",
		"next_cron_restart",
	};
	static const char *const nums[] = {
		"instances", "min_uptime_ms", "max_restarts",
		"restart_delay_ms", "exp_backoff_restart_delay_ms",
		"kill_timeout_ms", "log_max_size", "log_retain",
		"max_memory_restart", "memory_check_interval_ms",
	};
	cJSON	*w, *env, *line, *tail;
	char	 up[16], mem[16];
	size_t	 i;

	printf("%-29s %s\n", "app", str(app, "name"));
	printf("%-29s %s%s%s\n", "status", paint(str(app, "status")),
	    str(app, "status"), color ? "\033[0m" : "");
	for (i = 0; i < nitems(keys); i++) {
		if (json_string(app, keys[i]) != NULL)
			printf("%-29s %s\n", keys[i], str(app, keys[i]));
	}
	for (i = 0; i < nitems(nums); i++)
		printf("%-29s %.0f\n", nums[i], num(app, nums[i]));
	print_watch(cJSON_GetObjectItemCaseSensitive(app, "watch"));
	printf("%-29s %s\n", "autorestart", cJSON_IsTrue(
	    cJSON_GetObjectItemCaseSensitive(app, "autorestart")) ?
	    "true" : "false");
	cJSON_ArrayForEach(line, cJSON_GetObjectItemCaseSensitive(app,
	    "log_files")) {
		printf("%-29s %s", "log file", str(line, "file"));
		if (num(line, "dropped_lines") > 0)
			printf(" (%.0f lines dropped%s%s)",
			    num(line, "dropped_lines"),
			    json_string(line, "error") ? ": " : "",
			    json_string(line, "error") ? str(line, "error") : "");
		printf("\n");
	}
	env = cJSON_GetObjectItemCaseSensitive(app, "env");
	cJSON_ArrayForEach(line, env)
		printf("%-29s %s=%s\n", "env", line->string,
		    cJSON_IsString(line) ? line->valuestring : "");
	cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(app,
	    "workers")) {
		fmt_duration(up, sizeof up, num(w, "uptime_ms"));
		fmt_bytes(mem, sizeof mem, num(w, "memory"));
		printf("\ninstance %.0f: %s%s%s", num(w, "instance"),
		    paint(str(w, "status")), str(w, "status"),
		    color ? "\033[0m" : "");
		if (num(w, "pid") > 0)
			printf(", pid %.0f, up %s, cpu %.1f%%, mem %s",
			    num(w, "pid"), up, num(w, "cpu"), mem);
		printf("\n  restarts %.0f (unstable in a row: %.0f), worker "
		    "id %.0f\n", num(w, "restarts"),
		    num(w, "unstable_restarts"), num(w, "worker_id"));
		if (json_string(w, "reason"))
			printf("  reason: %s\n", str(w, "reason"));
		if (json_string(w, "last_exit"))
			printf("  last exit: %s\n", str(w, "last_exit"));
		if (json_string(w, "exec_error"))
			printf("  start failed: %s\n", str(w, "exec_error"));
		if (cJSON_GetObjectItemCaseSensitive(w, "restart_in_ms"))
			printf("  restarting in %.0f ms\n",
			    num(w, "restart_in_ms"));
		tail = cJSON_GetObjectItemCaseSensitive(w, "stderr_tail");
		if (cJSON_GetArraySize(tail) > 0) {
			int n = cJSON_GetArraySize(tail), k = 0;
			printf("  last lines of stderr:\n");
			cJSON_ArrayForEach(line, tail) {
				if (k++ >= n - 10)
					printf("    | %s\n", line->valuestring);
			}
		}
	}
}

/* Turn start's arguments into the request's fields. */
static void
build_start(cJSON *req, int argc, char **argv)
{
	const char	*name = NULL, *inst = NULL, *profile = NULL;
	const char	*target = NULL, **slot;
	char		 path[PATH_MAX], cwd[PATH_MAX];
	cJSON		*cmd, *env;
	char		**e, *eq, *key;
	int		 i, watch = 0;

	for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (argv[i][0] != '-' || argv[i][1] == '\0') {
			if (target != NULL)
				usage_error("start: one app or file at a time");
			target = argv[i];
			continue;
		}
		if (strcmp(argv[i], "--watch") == 0) {
			watch = 1;
			continue;
		}
		if (strcmp(argv[i], "--name") == 0 || strcmp(argv[i], "-n") == 0)
			slot = &name;
		else if (strcmp(argv[i], "-i") == 0 ||
		    strcmp(argv[i], "--instances") == 0)
			slot = &inst;
		else if (strcmp(argv[i], "--env") == 0)
			slot = &profile;
		else
			usage_error("start: unknown option %s", argv[i]);
		if (i + 1 >= argc || strcmp(argv[i + 1], "--") == 0)
			usage_error("start: %s needs a value", argv[i]);
		*slot = argv[++i];
	}
	if (i < argc) {
		if (target != NULL)
			usage_error("start: either NAME or -- COMMAND, not both");
		if (++i == argc)
			usage_error("start: no command after --");
		if (profile != NULL)
			usage_error("start: --env chooses a profile of a "
			    "configured app, not of a command");
		cmd = cJSON_AddArrayToObject(req, "command");
		for (; i < argc; i++)
			cJSON_AddItemToArray(cmd, cJSON_CreateString(argv[i]));
		if (name != NULL)
			cJSON_AddStringToObject(req, "name", name);
		if (watch)
			cJSON_AddBoolToObject(req, "watch", 1);
		if (inst != NULL) {
			char *end;
			long n = strtol(inst, &end, 10);
			if (*end == '\0' && n >= 1)
				cJSON_AddNumberToObject(req, "instances", n);
			else
				cJSON_AddStringToObject(req, "instances", inst);
		}
		if (getcwd(cwd, sizeof cwd) == NULL)
			fatalx(EXIT_USAGE, "getcwd: %s", strerror(errno));
		cJSON_AddStringToObject(req, "cwd", cwd);
		/* As with PM2, the command gets the environment of pmctl. */
		env = cJSON_AddObjectToObject(req, "env");
		for (e = environ; *e != NULL; e++) {
			if ((eq = strchr(*e, '=')) == NULL)
				continue;
			key = xstrndup(*e, eq - *e);
			if (!cJSON_HasObjectItem(env, key))
				cJSON_AddStringToObject(env, key, eq + 1);
			free(key);
		}
		return;
	}
	if (target == NULL)
		usage_error("start: expected NAME, all, FILE.conf, or "
		    "-- COMMAND");
	if (name != NULL || inst != NULL || watch)
		usage_error("start: --name, -i and --watch go with -- COMMAND "
		    "(a configured app sets watch in its file)");
	if (strchr(target, '/') != NULL || (strlen(target) > 5 &&
	    strcmp(target + strlen(target) - 5, ".conf") == 0)) {
		if (realpath(target, path) == NULL)
			fatalx(EXIT_USAGE, "%s: %s", target, strerror(errno));
		cJSON_AddStringToObject(req, "file", path);
	} else
		cJSON_AddStringToObject(req, "target", target);
	if (profile != NULL)
		cJSON_AddStringToObject(req, "env_profile", profile);
}

static void
build_logs(cJSON *req, int argc, char **argv)
{
	char	*end;
	long	 n;
	int	 i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--follow") == 0 ||
		    strcmp(argv[i], "-f") == 0)
			cJSON_AddTrueToObject(req, "follow");
		else if (strcmp(argv[i], "--err") == 0 ||
		    strcmp(argv[i], "--out") == 0) {
			if (cJSON_HasObjectItem(req, "stream"))
				usage_error("logs: --err or --out, not both");
			cJSON_AddStringToObject(req, "stream", argv[i] + 2);
		} else if (strcmp(argv[i], "--lines") == 0 ||
		    strcmp(argv[i], "-n") == 0) {
			if (++i == argc)
				usage_error("logs: %s needs a number",
				    argv[i - 1]);
			n = strtol(argv[i], &end, 10);
			if (*argv[i] == '\0' || *end != '\0' || n < 0 ||
			    n > 100000)
				usage_error("logs: --lines takes a number from "
				    "0 to 100000, got \"%s\"", argv[i]);
			cJSON_AddNumberToObject(req, "lines", n);
		} else if (argv[i][0] == '-')
			usage_error("logs: unknown option %s", argv[i]);
		else if (cJSON_HasObjectItem(req, "name"))
			usage_error("logs: one app at a time");
		else
			cJSON_AddStringToObject(req, "name", argv[i]);
	}
}

/* "app:0 | " or "app | ", coloured (stderr red) on a terminal. */
static void
print_log_line(const char *app, cJSON *instance, const char *stream,
    const char *line)
{
	const char	*on = !color ? "" : strcmp(stream, "err") == 0 ?
			    "\033[31m" : "\033[36m";

	if (cJSON_IsNumber(instance))
		printf("%s%s:%.0f |%s %s\n", on, app, instance->valuedouble,
		    color ? "\033[0m" : "", line);
	else
		printf("%s%s |%s %s\n", on, app, color ? "\033[0m" : "", line);
}

static void
print_logs(cJSON *files)
{
	cJSON	*f, *line;

	cJSON_ArrayForEach(f, files) {
		if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(f,
		    "lines")) == 0)
			continue;
		printf("%s==> %s (last %d lines) <==%s\n", color ? "\033[90m" :
		    "", str(f, "file"), cJSON_GetArraySize(
		    cJSON_GetObjectItemCaseSensitive(f, "lines")),
		    color ? "\033[0m" : "");
		cJSON_ArrayForEach(line, cJSON_GetObjectItemCaseSensitive(f,
		    "lines"))
			print_log_line(str(f, "app"),
			    cJSON_GetObjectItemCaseSensitive(f, "instance"),
			    str(f, "stream"), line->valuestring);
	}
}

/* After logs --follow's first reply: one line per message until EOF. */
static void
follow(FILE *in)
{
	cJSON	*m;
	char	*s;

	while ((m = read_reply(in)) != NULL) {
		if (json_out) {
			s = cJSON_PrintUnformatted(m);
			puts(s);
			free(s);
		} else
			print_log_line(str(m, "app"),
			    cJSON_GetObjectItemCaseSensitive(m, "instance"),
			    str(m, "stream"), str(m, "line"));
		cJSON_Delete(m);
	}
	fatalx(EXIT_UNREACH, "the daemon closed the log stream");
}

static cJSON *
build_request(const struct command *cmd, int argc, char **argv)
{
	cJSON	*req = cJSON_CreateObject();
	char	*end;
	long	 n;

	cJSON_AddNumberToObject(req, "v", PMD_PROTOCOL_VERSION);
	cJSON_AddStringToObject(req, "cmd", cmd->name);
	switch (cmd->args) {
	case ARGS_NONE:
		if (argc != 0)
			usage_error("%s takes no arguments", cmd->name);
		break;
	case ARGS_TARGET:
	case ARGS_NAME:
		if (argc != 1)
			usage_error("usage: pmctl %s %s", cmd->name, cmd->usage);
		cJSON_AddStringToObject(req, cmd->args == ARGS_NAME ? "name" :
		    "target", argv[0]);
		break;
	case ARGS_SCALE:
		if (argc != 2)
			usage_error("usage: pmctl scale %s", cmd->usage);
		cJSON_AddStringToObject(req, "name", argv[0]);
		n = strtol(argv[1], &end, 10);
		if (*argv[1] != '\0' && *end == '\0' && n >= 1 && n <= 4096 &&
		    isdigit((unsigned char)*argv[1]))
			cJSON_AddNumberToObject(req, "instances", n);
		else if (strcmp(argv[1], "max") == 0 || ((*argv[1] == '+' ||
		    *argv[1] == '-') && argv[1][1] != '\0' &&
		    strspn(argv[1] + 1, "0123456789") == strlen(argv[1] + 1)))
			cJSON_AddStringToObject(req, "instances", argv[1]);
		else
			usage_error("scale: expected N (1 to 4096), +N, -N or "
			    "max, got \"%s\"", argv[1]);
		break;
	case ARGS_SIGNAL:
		if (argc != 2)
			usage_error("usage: pmctl signal %s", cmd->usage);
		cJSON_AddStringToObject(req, "signal", argv[0]);
		cJSON_AddStringToObject(req, "target", argv[1]);
		break;
	case ARGS_OPTNAME:
		if (argc > 1)
			usage_error("usage: pmctl %s %s", cmd->name, cmd->usage);
		if (argc == 1)
			cJSON_AddStringToObject(req, "name", argv[0]);
		break;
	case ARGS_START:
		build_start(req, argc, argv);
		break;
	case ARGS_LOGS:
		build_logs(req, argc, argv);
		break;
	case ARGS_LOCAL:
		break;
	}
	return req;
}

/* "added: a, b" for each non-empty list of names. */
static void
print_names(const char *what, cJSON *list)
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

static void
print_reconf(cJSON *reply)
{
	static const char *const kinds[] = { "added", "removed", "reloaded",
	    "restarted", "scaled", "unchanged" };
	size_t	i;

	for (i = 0; i < nitems(kinds); i++)
		print_names(kinds[i], cJSON_GetObjectItemCaseSensitive(reply,
		    kinds[i]));
}

static void
print_resurrect(cJSON *reply)
{
	cJSON	*e;

	if (str(reply, "warning")[0] != '\0')
		fprintf(stderr, "pmctl: warning: %s\n", str(reply, "warning"));
	print_names("resurrected", cJSON_GetObjectItemCaseSensitive(reply,
	    "resurrected"));
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(reply,
	    "skipped"))
		printf("skipped %s: %s\n", str(e, "name"), str(e, "reason"));
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(reply,
	    "resurrected")) + cJSON_GetArraySize(
	    cJSON_GetObjectItemCaseSensitive(reply, "skipped")) == 0)
		printf("the dump holds no apps\n");
}

static int
print_reply(const struct command *cmd, cJSON *reply)
{
	cJSON	*err = cJSON_GetObjectItemCaseSensitive(reply, "error");
	cJSON	*rows = cJSON_GetObjectItemCaseSensitive(reply, "workers");
	char	*s;

	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok"))) {
		if (json_out) {
			s = cJSON_PrintUnformatted(reply);
			puts(s);
			free(s);
		} else
			fprintf(stderr, "pmctl: %s\n", cJSON_IsObject(err) ?
			    str(err, "message") : "the daemon reported an "
			    "error");
		return EXIT_DAEMON;
	}
	if (json_out) {
		s = cJSON_PrintUnformatted(strcmp(cmd->name, "list") == 0 &&
		    rows != NULL ? rows : reply);
		puts(s);
		free(s);
		return 0;
	}
	if (strcmp(cmd->name, "ping") == 0)
		printf("pong: pmd %s, pid %.0f\n", str(reply, "version"),
		    num(reply, "pid"));
	else if (strcmp(cmd->name, "version") == 0)
		printf("pmctl %s\npmd %s (protocol %.0f)\n", PMD_VERSION,
		    str(reply, "version"), num(reply, "protocol"));
	else if (strcmp(cmd->name, "kill") == 0)
		printf("pmd stopped\n");
	else if (strcmp(cmd->name, "signal") == 0)
		printf("signalled %.0f worker(s)\n", num(reply, "signalled"));
	else if (strcmp(cmd->name, "show") == 0)
		print_show(cJSON_GetObjectItemCaseSensitive(reply, "app"));
	else if (strcmp(cmd->name, "logs") == 0)
		print_logs(cJSON_GetObjectItemCaseSensitive(reply, "logs"));
	else if (strcmp(cmd->name, "flush") == 0)
		printf("flushed %d log file(s)\n", cJSON_GetArraySize(
		    cJSON_GetObjectItemCaseSensitive(reply, "files")));
	else if (strcmp(cmd->name, "save") == 0)
		printf("saved %.0f app(s) to %s\n", num(reply, "apps"),
		    str(reply, "file"));
	else if (strcmp(cmd->name, "resurrect") == 0)
		print_resurrect(reply);
	else if (strcmp(cmd->name, "reload-config") == 0)
		print_reconf(reply);
	else if (strcmp(cmd->name, "reopen-logs") == 0)
		printf("reopened %.0f log file(s)\n", num(reply, "reopened"));
	else if (rows != NULL)
		pmctl_print_list(rows);
	return 0;
}

int
main(int argc, char **argv)
{
	const struct command	*cmd = NULL;
	const char		*opt_socket = NULL, *name, *nc, *term;
	char			*path;
	cJSON			*req, *reply;
	FILE			*in;
	size_t			 i;
	int			 fd, rc, autostart;

	for (i = 1; i < (size_t)argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-s") == 0 ||
		    strcmp(argv[i], "--socket") == 0) {
			if (++i == (size_t)argc)
				usage_error("%s needs a socket path",
				    argv[i - 1]);
			opt_socket = argv[i];
		} else if (strcmp(argv[i], "--json") == 0)
			json_out = 1;
		else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "-V") == 0 ||
		    strcmp(argv[i], "--version") == 0) {
			printf("pmctl %s\n", PMD_VERSION);
			return 0;
		} else
			usage_error("unknown option %s", argv[i]);
	}
	if (i == (size_t)argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	name = argv[i++];
	if (strcmp(name, "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t j = 0; j < nitems(aliases); j++) {
		if (strcmp(name, aliases[j].alias) == 0)
			name = aliases[j].name;
	}
	for (size_t j = 0; j < nitems(commands); j++) {
		if (strcmp(name, commands[j].name) == 0)
			cmd = &commands[j];
	}
	if (cmd == NULL) {
		const char *names[nitems(commands)], *close;
		for (size_t j = 0; j < nitems(commands); j++)
			names[j] = commands[j].name;
		close = suggest(name, names, nitems(commands));
		if (close != NULL)
			usage_error("unknown command \"%s\" (did you mean "
			    "\"%s\"?)", name, close);
		usage_error("unknown command \"%s\"", name);
	}
	nc = getenv("NO_COLOR");
	term = getenv("TERM");
	color = isatty(STDOUT_FILENO) && (nc == NULL || *nc == '\0') &&
	    term != NULL && *term != '\0' && strcmp(term, "dumb") != 0 &&
	    !json_out;
	if (cmd->args == ARGS_LOCAL && json_out)
		usage_error("%s is a view for a person; --json list is for "
		    "programs", cmd->name);
	if (cmd->args == ARGS_LOCAL) {
		if ((fd = connect_daemon(opt_socket, 1, &path)) == -1)
			fatalx(EXIT_UNREACH, "no pmd answers on %s", path);
		if ((in = fdopen(fd, "r")) == NULL)
			fatalx(EXIT_UNREACH, "fdopen: %s", strerror(errno));
		socket_path = path;
		return monit_main(fd, in, argc - (int)i, argv + i);
	}
	req = build_request(cmd, argc - (int)i, argv + i);
	/* A follower's lines go out one by one, even into a pipe. */
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "follow")))
		setvbuf(stdout, NULL, _IOLBF, 0);

	autostart = strcmp(cmd->name, "kill") != 0 &&
	    strcmp(cmd->name, "ping") != 0 && strcmp(cmd->name, "version") != 0;
	if ((fd = connect_daemon(opt_socket, autostart, &path)) == -1) {
		if (strcmp(cmd->name, "version") == 0)
			printf("pmctl %s\npmd not running\n", PMD_VERSION);
		fatalx(EXIT_UNREACH, "no pmd answers on %s", path);
	}
	if ((in = fdopen(fd, "r")) == NULL)
		fatalx(EXIT_UNREACH, "fdopen: %s", strerror(errno));
	reply = exchange(fd, in, req);
	rc = print_reply(cmd, reply);
	if (rc == 0 && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req,
	    "follow")))
		follow(in);
	fclose(in);
	cJSON_Delete(req);
	cJSON_Delete(reply);
	free(path);
	return rc;
}
