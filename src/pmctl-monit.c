/*
 * pmctl monit: a live view of the daemon. On a terminal it shows every
 * worker with its CPU and memory, refreshed each --interval, one of them
 * selected with the arrow keys, and below the list the last lines of the
 * selected worker's app's logs. q or Ctrl-C ends it, and the terminal is
 * given back as it was whatever ends the program (the daemon going away
 * included). Where a screen cannot be drawn (TERM unset or dumb, or not a
 * terminal), the list is printed again each interval as `pmctl list`
 * prints it, until q and Enter, end of input, or a signal.
 *
 * The view asks the daemon (list, logs) once per interval or key press,
 * over one connection: the daemon keeps no timer for it.
 */
#include <sys/ioctl.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#define ENTER_SCREEN	"\033[?1049h\033[?25l"	/* alternate screen, no cursor */
#define LEAVE_SCREEN	"\033[0m\033[?25h\033[?1049l"

struct frame {
	char	*s;
	size_t	 len, size;
};

struct view {
	int		 fd;
	FILE		*in;
	cJSON		*rows;		/* the last list */
	cJSON		*logs;		/* the selected app's files */
	char		*app;		/* the selection: app and instance */
	int		 instance;
	int		 top;		/* first row shown */
	int		 height, width;
};

static struct termios		 saved;
static int			 screen_on;
static volatile sig_atomic_t	 quit_sig, resized;

static void
on_signal(int sig)
{
	if (sig == SIGWINCH)
		resized = 1;
	else
		quit_sig = sig;
}

/* At exit, however it comes: the terminal as it was. */
static void
screen_leave(void)
{
	if (!screen_on)
		return;
	screen_on = 0;
	if (write(STDOUT_FILENO, LEAVE_SCREEN, sizeof LEAVE_SCREEN - 1) == -1) {
		/* Nothing more can be done for a terminal that is gone. */
	}
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
}

static int
screen_enter(void)
{
	struct termios	t;

	if (tcgetattr(STDIN_FILENO, &saved) == -1)
		return -1;
	t = saved;
	/* Keys one by one, unechoed; Ctrl-C and Ctrl-Z as keys too. */
	t.c_lflag &= ~(ICANON | ECHO | ISIG | IEXTEN);
	t.c_iflag &= ~(IXON | ICRNL);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == -1)
		return -1;
	screen_on = 1;
	atexit(screen_leave);
	fputs(ENTER_SCREEN, stdout);
	fflush(stdout);
	return 0;
}

static void
frame_add(struct frame *f, const char *s, size_t n)
{
	if (f->len + n + 1 > f->size) {
		f->size = (f->len + n + 1) * 2;
		f->s = xrealloc(f->s, f->size);
	}
	memcpy(f->s + f->len, s, n);
	f->len += n;
	f->s[f->len] = '\0';
}

/*
 * Add text as one screen line of at most width columns, its control
 * characters (a worker's escape sequences among them) shown as '?', then
 * end the line.
 */
static void
frame_line(struct frame *f, const char *attr, const char *text, int width)
{
	const unsigned char	*p = (const unsigned char *)text;
	int			 col = 0;
	char			 c;

	frame_add(f, attr, strlen(attr));
	for (; *p != '\0'; p++) {
		if ((*p & 0xc0) == 0x80) {	/* continues a character */
			if (col <= width)
				frame_add(f, (const char *)p, 1);
			continue;
		}
		if (++col > width)
			continue;
		c = *p < 0x20 || *p == 0x7f ? (*p == '\t' ? ' ' : '?') :
		    (char)*p;
		frame_add(f, &c, 1);
	}
	frame_add(f, "\033[0m\033[K\n", 8);
}

static cJSON *
ask(struct view *v, cJSON *req)
{
	char	*cause;
	cJSON	*reply, *err;

	cJSON_AddNumberToObject(req, "v", PMD_PROTOCOL_VERSION);
	reply = pmctl_exchange(v->fd, v->in, req, &cause);
	if (reply == NULL && pmctl_redial(&v->fd, &v->in) == 0) {
		/* pmd closes a connection idle for client_idle_timeout. */
		free(cause);
		reply = pmctl_exchange(v->fd, v->in, req, &cause);
	}
	cJSON_Delete(req);
	if (reply == NULL) {
		screen_leave();		/* so that the message stays in view */
		fatalx(EXIT_UNREACH, "%s", cause);
	}
	if ((err = cJSON_GetObjectItemCaseSensitive(reply, "error")) != NULL) {
		cJSON_Delete(reply);
		return NULL;
	}
	return reply;
}

static int
selected_row(struct view *v)
{
	cJSON	*r;
	int	 i = 0;

	cJSON_ArrayForEach(r, v->rows) {
		if (v->app != NULL && strcmp(str(r, "name"), v->app) == 0 &&
		    (int)num(r, "instance") == v->instance)
			return i;
		i++;
	}
	return -1;
}

static void
select_row(struct view *v, int i)
{
	int	 n = cJSON_GetArraySize(v->rows);
	cJSON	*r;

	if (n == 0) {
		free(v->app);
		v->app = NULL;
		return;
	}
	i = i < 0 ? 0 : i >= n ? n - 1 : i;
	r = cJSON_GetArrayItem(v->rows, i);
	free(v->app);
	v->app = xstrdup(str(r, "name"));
	v->instance = (int)num(r, "instance");
}

/* The list, and the logs of the selected app (lines: how many to ask). */
static void
refresh(struct view *v, int lines)
{
	cJSON	*req = cJSON_CreateObject(), *reply;
	int	 i;

	cJSON_AddStringToObject(req, "cmd", "list");
	if ((reply = ask(v, req)) == NULL)
		return;
	i = selected_row(v);
	cJSON_Delete(v->rows);
	v->rows = cJSON_DetachItemFromObjectCaseSensitive(reply, "workers");
	cJSON_Delete(reply);
	if (i == -1 || selected_row(v) == -1)
		select_row(v, i == -1 ? 0 : i);	/* it went: its neighbour */
	cJSON_Delete(v->logs);
	v->logs = NULL;
	if (v->app == NULL || lines <= 0)
		return;
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "cmd", "logs");
	cJSON_AddStringToObject(req, "name", v->app);
	cJSON_AddNumberToObject(req, "lines", lines);
	if ((reply = ask(v, req)) == NULL)
		return;
	v->logs = cJSON_DetachItemFromObjectCaseSensitive(reply, "logs");
	cJSON_Delete(reply);
}

/* Whether a log line starts with the default timestamp (2026-11-23T...). */
static int
stamped(const char *s)
{
	return strlen(s) >= 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' &&
	    s[0] >= '0' && s[0] <= '9';
}

/*
 * The last n lines of the app's files, oldest first: merged by their
 * timestamps when every file has them, else file after file.
 */
static void
log_lines(struct view *v, struct frame *f, int n)
{
	cJSON		*file, *line, *heads[64];
	const char	*attr[64], *best;
	const char	*text[4096];
	const char	*tattr[4096];
	int		 nf = 0, i, k, m = 0, all = 1, pick;

	cJSON_ArrayForEach(file, v->logs) {
		if (nf == (int)nitems(heads))
			break;
		line = cJSON_GetObjectItemCaseSensitive(file, "lines");
		heads[nf] = cJSON_IsArray(line) ? line->child : NULL;
		attr[nf] = !color ? "" : strcmp(str(file, "stream"), "err") ==
		    0 ? "\033[31m" : "";
		for (line = heads[nf]; line != NULL; line = line->next)
			all = all && cJSON_IsString(line) &&
			    stamped(line->valuestring);
		nf++;
	}
	while (m < (int)nitems(text)) {
		pick = -1;
		best = NULL;
		for (i = 0; i < nf; i++) {
			if (heads[i] == NULL || !cJSON_IsString(heads[i]))
				continue;
			if (pick == -1 || (all && strncmp(heads[i]->valuestring,
			    best, 23) < 0)) {
				pick = i;
				best = heads[i]->valuestring;
			}
			if (!all)
				break;	/* file after file */
		}
		if (pick == -1)
			break;
		text[m] = heads[pick]->valuestring;
		tattr[m++] = attr[pick];
		heads[pick] = heads[pick]->next;
	}
	for (k = m > n ? m - n : 0; k < m; k++)
		frame_line(f, tattr[k], text[k], v->width);
	for (; n > m; n--)
		frame_add(f, "\033[K\n", 4);
}

static void
draw(struct view *v)
{
	struct frame	 f = { NULL, 0, 0 };
	cJSON		*r;
	char		 line[512], now[16];
	int		 n = cJSON_GetArraySize(v->rows), namew, i, sel;
	int		 avail = v->height - 3, list_h, log_h;
	time_t		 t = time(NULL);

	list_h = n > 0 ? n : 1;
	if (list_h > avail / 2 && avail > 8)
		list_h = avail / 2;
	if (list_h > avail)
		list_h = avail > 0 ? avail : 0;
	log_h = avail - list_h;
	sel = selected_row(v);
	if (sel >= 0 && sel < v->top)
		v->top = sel;
	if (sel >= v->top + list_h)
		v->top = sel - list_h + 1;
	if (v->top > n - list_h)
		v->top = n - list_h > 0 ? n - list_h : 0;

	strftime(now, sizeof now, "%H:%M:%S", localtime(&t));
	frame_add(&f, "\033[H", 3);
	snprintf(line, sizeof line, "pmd monit  %s  %d worker%s  "
	    "(up/down: select, q: quit)", now, n, n == 1 ? "" : "s");
	frame_line(&f, color ? "\033[1m" : "", line, v->width);
	namew = pmctl_list_header(line, sizeof line, v->rows);
	frame_line(&f, color ? "\033[1m" : "", line, v->width);
	for (i = v->top; i < v->top + list_h; i++) {
		if ((r = cJSON_GetArrayItem(v->rows, i)) == NULL) {
			frame_line(&f, "", i == 0 ? "(no apps)" : "", v->width);
			continue;
		}
		pmctl_list_row(line, sizeof line, r, namew, "", "");
		frame_line(&f, i == sel ? "\033[7m" : paint(str(r, "status")),
		    line, v->width);
	}
	if (avail > 0) {
		snprintf(line, sizeof line, "-- %s%s --------------------------"
		    "------------------------------------------------------",
		    v->app ? "logs of " : "no app", v->app ? v->app : "");
		frame_line(&f, color ? "\033[90m" : "", line, v->width);
		log_lines(v, &f, log_h);
	}
	frame_add(&f, "\033[J", 3);
	/* The last line ends without a newline, or the screen would scroll. */
	if (f.len >= 4 && strcmp(f.s + f.len - 4, "\n\033[J") == 0) {
		memmove(f.s + f.len - 4, "\033[J", 4);
		f.len -= 1;
	}
	fwrite(f.s, 1, f.len, stdout);
	fflush(stdout);
	free(f.s);
}

static void
size_of_screen(struct view *v)
{
	struct winsize	ws;

	v->height = 24;
	v->width = 80;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
	    ws.ws_col > 0) {
		v->height = ws.ws_row;
		v->width = ws.ws_col;
	}
}

/* Keys read: 1 to go on, 0 to quit. Arrows come as ESC [ A or ESC O A. */
static int
keys(struct view *v)
{
	char	 buf[64];
	ssize_t	 n, i;
	int	 sel = selected_row(v);

	while ((n = read(STDIN_FILENO, buf, sizeof buf)) > 0) {
		for (i = 0; i < n; i++) {
			if (buf[i] == 'q' || buf[i] == 'Q' || buf[i] == 3 ||
			    buf[i] == 4)
				return 0;
			if (buf[i] == '\033' && i + 2 < n &&
			    (buf[i + 1] == '[' || buf[i + 1] == 'O')) {
				if (buf[i + 2] == 'A')
					sel--;
				else if (buf[i + 2] == 'B')
					sel++;
				i += 2;
			} else if (buf[i] == 'k')
				sel--;
			else if (buf[i] == 'j')
				sel++;
		}
	}
	select_row(v, sel);
	return 1;
}

static void
catch_signals(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;	/* no SA_RESTART: poll returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
}

/* The dumb terminal's view: the list each interval, nothing drawn. */
static void
plain(struct view *v, double interval)
{
	struct pollfd	 pfd = { STDIN_FILENO, POLLIN, 0 };
	char		 buf[256], now[16];
	ssize_t		 n;
	time_t		 t;

	while (!quit_sig) {
		refresh(v, 0);
		t = time(NULL);
		strftime(now, sizeof now, "%H:%M:%S", localtime(&t));
		printf("--- %s\n", now);
		pmctl_print_list(v->rows);
		fflush(stdout);
		if (poll(&pfd, 1, (int)(interval * 1000)) <= 0)
			continue;
		/* q, or the end of the input (a script's </dev/null). */
		if ((n = read(STDIN_FILENO, buf, sizeof buf)) <= 0 ||
		    memchr(buf, 'q', (size_t)n) != NULL)
			break;
	}
}

/* The terminal's view, until q, Ctrl-C or a signal. */
static void
screen(struct view *v, double interval)
{
	struct pollfd	 pfd = { STDIN_FILENO, POLLIN, 0 };
	double		 next, left;

	size_of_screen(v);
	next = 0;
	while (!quit_sig) {
		if (resized) {
			resized = 0;
			size_of_screen(v);
			next = 0;
		}
		if (mono_now() >= next) {
			refresh(v, v->height);
			next = mono_now() + interval;
		}
		draw(v);
		left = next - mono_now();
		if (poll(&pfd, 1, left > 0 ? (int)(left * 1000) + 1 : 0) > 0) {
			char	*before = v->app ? xstrdup(v->app) : NULL;

			if ((pfd.revents & (POLLHUP | POLLERR)) || !keys(v)) {
				free(before);
				break;
			}
			if ((before == NULL) != (v->app == NULL) ||
			    (before != NULL && strcmp(before, v->app) != 0))
				next = 0;	/* another app: its logs now */
			free(before);
		}
	}
}

int
monit_main(int fd, FILE *in, int argc, char **argv)
{
	struct view	 v = { fd, in, NULL, NULL, NULL, 0, 0, 0, 0 };
	const char	*term = getenv("TERM");
	uint64_t	 ms = 1000;
	char		*cause;
	int		 i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--interval") != 0 || i + 1 == argc) {
			fprintf(stderr, "pmctl: monit: %s %s\n(pmctl --help "
			    "lists the commands)\n", strcmp(argv[i],
			    "--interval") == 0 ? "needs a value after" :
			    "unknown argument", argv[i]);
			exit(EXIT_USAGE);
		}
		if (parse_duration(argv[++i], &ms, &cause) == -1 || ms < 100) {
			if (ms < 100)
				cause = xprintf("at least 100ms, got \"%s\"",
				    argv[i]);
			fprintf(stderr, "pmctl: monit: --interval: %s\n"
			    "(pmctl --help lists the commands)\n", cause);
			exit(EXIT_USAGE);
		}
	}
	catch_signals();
	if (term == NULL || *term == '\0' || strcmp(term, "dumb") == 0 ||
	    !isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO) ||
	    screen_enter() == -1)
		plain(&v, ms / 1000.0);
	else
		screen(&v, ms / 1000.0);
	screen_leave();
	cJSON_Delete(v.rows);
	cJSON_Delete(v.logs);
	free(v.app);
	fclose(v.in);
	return 0;
}
