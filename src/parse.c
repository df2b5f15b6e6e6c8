/*
 * The values of config keys and command arguments: durations, sizes,
 * booleans, signals, instance counts, exit-code lists, app names, and the
 * shell-like splitting of a command line (quotes and escapes, no shell).
 * Every parser returns 0, or -1 with a sentence for the user in *cause.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <netdb.h>

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pmd.h"

/* A non-negative decimal with an optional fraction: "12", "1.5". */
static int
parse_decimal(const char **sp, double *out)
{
	const char	*s = *sp;
	double		 v = 0, scale = 1;
	int		 digits = 0;

	while (isdigit((unsigned char)*s)) {
		v = v * 10 + (*s++ - '0');
		digits++;
	}
	if (*s == '.') {
		s++;
		while (isdigit((unsigned char)*s)) {
			scale /= 10;
			v += (*s++ - '0') * scale;
			digits++;
		}
	}
	if (digits == 0)
		return -1;
	*sp = s;
	*out = v;
	return 0;
}

int
parse_duration(const char *s, uint64_t *ms, char **cause)
{
	static const struct { const char *unit; double ms; } units[] = {
		{ "", 1 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 },
		{ "h", 3600000 },
	};
	const char	*p = s;
	double		 v;
	size_t		 i;

	if (parse_decimal(&p, &v) == 0) {
		for (i = 0; i < nitems(units); i++) {
			if (strcasecmp(p, units[i].unit) != 0)
				continue;
			v *= units[i].ms;
			if (v > 1e12)
				break;
			*ms = (uint64_t)(v + 0.5);
			return 0;
		}
	}
	*cause = xprintf("expected a duration like 500ms, 5s, 2m or 1h "
	    "(a bare number is milliseconds), got \"%s\"", s);
	return -1;
}

int
parse_size(const char *s, uint64_t *bytes, char **cause)
{
	const char	*p = s;
	double		 v, mult = 1;

	if (parse_decimal(&p, &v) == 0) {
		switch (toupper((unsigned char)*p)) {
		case 'K': mult = 1024.0; p++; break;
		case 'M': mult = 1024.0 * 1024; p++; break;
		case 'G': mult = 1024.0 * 1024 * 1024; p++; break;
		}
		if (mult > 1 && (*p == 'B' || *p == 'b'))
			p++;
		if (*p == '\0' && v * mult < 1e15) {
			*bytes = (uint64_t)(v * mult + 0.5);
			return 0;
		}
	}
	*cause = xprintf("expected a size like 300M, 512K or 1G (a bare "
	    "number is bytes), got \"%s\"", s);
	return -1;
}

/*
 * A CPU list as taskset -c and systemd's CPUAffinity= write it: numbers
 * and ranges, comma-separated ("0-3,6").
 */
int
parse_cpus(const char *s, cpu_set_t *set, char **cause)
{
	const char	*p = s;
	char		*end;
	unsigned long	 a, b;

	CPU_ZERO(set);
	for (;;) {
		while (*p == ' ')
			p++;
		if (!isdigit((unsigned char)*p))
			break;
		errno = 0;
		a = b = strtoul(p, &end, 10);
		if (*end == '-') {
			p = end + 1;
			if (!isdigit((unsigned char)*p))
				break;
			b = strtoul(p, &end, 10);
		}
		if (errno != 0 || a > b || b >= CPU_SETSIZE)
			break;
		for (; a <= b; a++)
			CPU_SET(a, set);
		if (*end == '\0')
			return 0;
		if (*end != ',')
			break;
		p = end + 1;
	}
	*cause = xprintf("expected a list of CPUs such as 0-3,6, got \"%s\"",
	    s);
	return -1;
}

int
parse_bool(const char *s, int *b, char **cause)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t	i;

	for (i = 0; i < nitems(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*b = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*b = 0;
			return 0;
		}
	}
	*cause = xprintf("expected true or false (or yes/no, on/off, 1/0), "
	    "got \"%s\"", s);
	return -1;
}

/* A decimal number from 0 to max, nothing else around it. */
int
parse_uint(const char *s, unsigned long max, unsigned long *out, char **cause)
{
	char		*end;
	unsigned long	 v;

	errno = 0;
	if (!isdigit((unsigned char)*s))
		goto bad;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	*cause = xprintf("expected a whole number from 0 to %lu, got \"%s\"",
	    max, s);
	return -1;
}

static const struct {
	const char	*name;
	int		 sig;
} signals[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
	{ "ILL", SIGILL }, { "TRAP", SIGTRAP }, { "ABRT", SIGABRT },
	{ "BUS", SIGBUS }, { "FPE", SIGFPE }, { "KILL", SIGKILL },
	{ "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM },
	{ "CHLD", SIGCHLD }, { "CONT", SIGCONT }, { "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP }, { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },
	{ "URG", SIGURG }, { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH },
	{ "IO", SIGIO }, { "PWR", SIGPWR }, { "SYS", SIGSYS },
};

/* "SIGTERM", "TERM", "term" or "15". */
int
parse_signal(const char *s, int *sig, char **cause)
{
	const char	*name = s;
	unsigned long	 n;
	char		*ignored = NULL;
	size_t		 i;

	if (isdigit((unsigned char)*s)) {
		if (parse_uint(s, 64, &n, &ignored) == 0 && n >= 1) {
			*sig = (int)n;
			return 0;
		}
		free(ignored);
	} else {
		if (strncasecmp(name, "SIG", 3) == 0)
			name += 3;
		for (i = 0; i < nitems(signals); i++) {
			if (strcasecmp(name, signals[i].name) == 0) {
				*sig = signals[i].sig;
				return 0;
			}
		}
	}
	*cause = xprintf("expected a signal name like SIGTERM or a number "
	    "from 1 to 64, got \"%s\"", s);
	return -1;
}

const char *
signal_name(int sig)
{
	static char	buf[16];
	size_t		i;

	for (i = 0; i < nitems(signals); i++) {
		if (signals[i].sig == sig) {
			snprintf(buf, sizeof buf, "SIG%s", signals[i].name);
			return buf;
		}
	}
	snprintf(buf, sizeof buf, "signal %d", sig);
	return buf;
}

/* "4", "max" (0: one per CPU) or "-1" (CPUs minus one). */
int
parse_instances(const char *s, int *spec, char **cause)
{
	unsigned long	 n;
	char		*ignored = NULL;

	if (strcasecmp(s, "max") == 0) {
		*spec = 0;
		return 0;
	}
	if (parse_uint(s + (*s == '-'), 4096, &n, &ignored) == 0 && n >= 1) {
		*spec = *s == '-' ? -(int)n : (int)n;
		return 0;
	}
	free(ignored);
	*cause = xprintf("expected a number from 1 to 4096, \"max\" or -N, "
	    "got \"%s\"", s);
	return -1;
}

unsigned
instances_resolve(int spec, long ncpu)
{
	long	n;

	if (spec > 0)
		return (unsigned)spec;
	n = ncpu + spec;	/* spec 0 is max, -N is CPUs minus N */
	return n < 1 ? 1 : (unsigned)n;
}

/* "0", "0,2", "0 2 143": exit codes from 0 to 255. */
int
parse_exit_codes(const char *s, uint8_t bits[32], char **cause)
{
	char		*copy, *tok, *save, *why;
	unsigned long	 code;
	int		 rc = 0, any = 0;

	memset(bits, 0, 32);
	copy = xstrdup(s);
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if (parse_uint(tok, 255, &code, &why) == -1) {
			*cause = xprintf("exit codes are numbers from 0 to 255 "
			    "separated by commas, got \"%s\"", tok);
			free(why);
			rc = -1;
			break;
		}
		bits[code / 8] |= 1 << (code % 8);
		any = 1;
	}
	free(copy);
	if (rc == 0 && !any) {
		*cause = xstrdup("expected at least one exit code");
		rc = -1;
	}
	return rc;
}

/*
 * Split a command line as a POSIX shell would split words: blanks separate,
 * '...' is literal, "..." allows \" \\ \$ \` escapes, a backslash outside
 * quotes takes the next character as is. No expansion of any kind.
 */
int
split_command(const char *s, char ***argvp, char **cause)
{
	char	**argv = NULL, *word;
	size_t	  argc = 0, len;
	int	  inword;

	word = xmalloc(strlen(s) + 1);
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		if (*s == '\0')
			break;
		len = 0;
		inword = 1;
		while (inword && *s != '\0') {
			switch (*s) {
			case ' ': case '\t': case '\n':
				inword = 0;
				break;
			case '\'':
				for (s++; *s != '\'' && *s != '\0'; s++)
					word[len++] = *s;
				if (*s == '\0') {
					*cause = xstrdup("unterminated ' quote");
					goto fail;
				}
				s++;
				break;
			case '"':
				for (s++; *s != '"' && *s != '\0'; s++) {
					if (*s == '\\' && s[1] != '\0' &&
					    strchr("\"\\$`", s[1]) != NULL)
						s++;
					word[len++] = *s;
				}
				if (*s == '\0') {
					*cause = xstrdup("unterminated \" quote");
					goto fail;
				}
				s++;
				break;
			case '\\':
				if (s[1] == '\0') {
					*cause = xstrdup("a backslash ends the "
					    "command with nothing to escape");
					goto fail;
				}
				word[len++] = s[1];
				s += 2;
				break;
			default:
				word[len++] = *s++;
				break;
			}
		}
		argv = xrealloc(argv, (argc + 2) * sizeof *argv);
		argv[argc++] = xstrndup(word, len);
		argv[argc] = NULL;
	}
	free(word);
	if (argc == 0) {
		*cause = xstrdup("the command is empty");
		return -1;
	}
	*argvp = argv;
	return 0;
fail:
	free(word);
	if (argv != NULL)
		argv_free(argv);
	return -1;
}

void
argv_free(char **argv)
{
	char	**p;

	if (argv == NULL)
		return;
	for (p = argv; *p != NULL; p++)
		free(*p);
	free(argv);
}

size_t
argv_count(char *const *argv)
{
	size_t	n = 0;

	while (argv != NULL && argv[n] != NULL)
		n++;
	return n;
}

/* [A-Za-z0-9._-]{1,64}, and not "all", "." or "..": it names log files. */
int
app_name_valid(const char *s)
{
	size_t	n = strlen(s);

	/* All digits would be a worker's id. */
	if (n == 0 || n > 64 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 ||
	    strcmp(s, "all") == 0 || strspn(s, "0123456789") == n)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") == n;
}

int
env_name_valid(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_") == strlen(s);
}

/* Edits (insert, delete, change, swap two neighbours) from a to b. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b), i, j, cost, v;
	size_t	d[66][66];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			cost = tolower((unsigned char)a[i - 1]) !=
			    tolower((unsigned char)b[j - 1]);
			v = d[i - 1][j - 1] + cost;
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/* The closest of words to word, if it is close enough to be a typo. */
const char *
suggest(const char *word, const char *const *words, size_t n)
{
	const char	*best = NULL;
	size_t		 i, d, bestd = SIZE_MAX, limit;

	/*
	 * One edit in up to 7 letters, then one more for each 4: close
	 * enough for a typo (restrat, strat), not for another word (report
	 * is two edits from import, serve two from save).
	 */
	limit = strlen(word) < 8 ? 1 : 1 + (strlen(word) - 4) / 4;
	for (i = 0; i < n; i++) {
		d = edit_distance(word, words[i]);
		if (d < bestd) {
			bestd = d;
			best = words[i];
		}
	}
	return bestd <= limit ? best : NULL;
}

/* "exited with code 3", "killed by SIGKILL (core dumped)". */
char *
status_string(int status)
{
	if (WIFEXITED(status))
		return xprintf("exited with code %d", WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return xprintf("was killed by %s%s", signal_name(WTERMSIG(status)),
		    WCOREDUMP(status) ? " (core dumped)" : "");
	return xprintf("unknown wait status %#x", status);
}

int
strv_has(char *const *v, const char *s)
{
	size_t	i;

	for (i = 0; v != NULL && v[i] != NULL; i++) {
		if (strcmp(v[i], s) == 0)
			return 1;
	}
	return 0;
}

/* Add s to the NULL-terminated list *v unless it is there. */
void
strv_add(char ***v, const char *s)
{
	size_t	n = argv_count(*v);

	if (strv_has(*v, s))
		return;
	*v = xrealloc(*v, (n + 2) * sizeof **v);
	(*v)[n] = xstrdup(s);
	(*v)[n + 1] = NULL;
}

/* Take s out of the NULL-terminated list *v; 1 if it was there. */
int
strv_del(char **v, const char *s)
{
	size_t	i, n = argv_count(v);

	for (i = 0; i < n; i++) {
		if (strcmp(v[i], s) == 0) {
			free(v[i]);
			memmove(&v[i], &v[i + 1], (n - i) * sizeof *v);
			return 1;
		}
	}
	return 0;
}

/*
 * A comma-separated list (watch_paths, ignore_watch): blanks around each
 * item are dropped, an empty item is an error. *out is NULL-terminated.
 */
int
parse_list(const char *s, char ***out, char **cause)
{
	char		**v = NULL;
	const char	*p = s, *end, *a, *b;
	size_t		 n = 0;

	for (;;) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		for (a = p; a < end && (*a == ' ' || *a == '\t'); a++)
			;
		for (b = end; b > a && (b[-1] == ' ' || b[-1] == '\t'); b--)
			;
		if (a == b) {
			*cause = xprintf("item %zu is empty; expected a "
			    "comma-separated list", n + 1);
			argv_free(v);
			return -1;
		}
		v = xrealloc(v, (n + 2) * sizeof *v);
		v[n++] = xstrndup(a, (size_t)(b - a));
		v[n] = NULL;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	*out = v;
	return 0;
}

/*
 * Whether rel, a path below a watched directory ("src/a.js"), is left out
 * by one of the glob patterns: a pattern without a slash matches any one
 * name on the path ("node_modules", "*.log"), a pattern with one matches
 * the path from the top or any leading part of it ("build/tmp").
 */
int
path_ignored(char *const *patterns, const char *rel)
{
	char		 buf[PATH_MAX];
	const char	*p, *end, *from;
	size_t		 i, len;
	int		 anchored;

	for (i = 0; patterns != NULL && patterns[i] != NULL; i++) {
		anchored = strchr(patterns[i], '/') != NULL;
		for (p = rel;; p = end + 1) {
			end = strchr(p, '/');
			if (end == NULL)
				end = p + strlen(p);
			from = anchored ? rel : p;
			len = (size_t)(end - from);
			if (len < sizeof buf) {
				memcpy(buf, from, len);
				buf[len] = '\0';
				if (fnmatch(patterns[i], buf,
				    anchored ? FNM_PATHNAME : 0) == 0)
					return 1;
			}
			if (*end == '\0')
				break;
		}
	}
	return 0;
}

/* ms as a duration would be written: 1500ms, 5s, 2m, 1h. */
char *
format_duration(uint64_t ms)
{
	if (ms == 0 || ms % 1000 != 0)
		return xprintf("%llums", (unsigned long long)ms);
	if (ms % 3600000 == 0)
		return xprintf("%lluh", (unsigned long long)(ms / 3600000));
	if (ms % 60000 == 0)
		return xprintf("%llum", (unsigned long long)(ms / 60000));
	return xprintf("%llus", (unsigned long long)(ms / 1000));
}

/* bytes as a size would be written: 512, 64K, 10M, 2G. */
char *
format_size(uint64_t b)
{
	static const char units[] = "KMG";
	int		  u = -1;

	while (b != 0 && b % 1024 == 0 && u < 2) {
		b /= 1024;
		u++;
	}
	if (u < 0)
		return xprintf("%llu", (unsigned long long)b);
	return xprintf("%llu%c", (unsigned long long)b, units[u]);
}

/*
 * Where url (tcp://HOST:PORT, tcp://[IPV6]:PORT or unix:/PATH, numbers
 * only: resolving a name could block) points: a socket address, or why it
 * is not one.
 */
int
url_sockaddr(const char *url, struct sockaddr_storage *ss, socklen_t *len,
    char **cause)
{
	struct sockaddr_un	*sun = (struct sockaddr_un *)ss;
	struct addrinfo		 hints, *res;
	const char		*hp, *colon, *port;
	char			*host;
	int			 e;

	memset(ss, 0, sizeof *ss);
	if (strncmp(url, "unix:", 5) == 0) {
		if (url[5] != '/') {
			*cause = xprintf("\"%s\": the path after unix: must be "
			    "absolute", url);
			return -1;
		}
		if (strlen(url + 5) >= sizeof sun->sun_path) {
			*cause = xprintf("\"%s\": path longer than %zu bytes",
			    url, sizeof sun->sun_path - 1);
			return -1;
		}
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, url + 5);
		*len = sizeof *sun;
		return 0;
	}
	if (strncmp(url, "tcp://", 6) != 0) {
		*cause = xprintf("\"%s\": expected tcp://HOST:PORT, "
		    "tcp://[IPV6]:PORT or unix:/PATH", url);
		return -1;
	}
	hp = url + 6;
	if (*hp == '[') {
		colon = strchr(hp, ']');
		if (colon == NULL || colon[1] != ':')
			goto bad;
		host = xstrndup(hp + 1, colon - hp - 1);
		port = colon + 2;
	} else {
		colon = strrchr(hp, ':');
		if (colon == NULL)
			goto bad;
		host = xstrndup(hp, colon - hp);
		port = colon + 1;
	}
	if (*port == '\0' || strspn(port, "0123456789") != strlen(port) ||
	    strlen(port) > 5 || atoi(port) > 65535) {
		free(host);
		goto bad;
	}
	/* Numbers only: resolving a name could block the event loop. */
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	e = getaddrinfo(*host != '\0' ? host : NULL, port, &hints, &res);
	free(host);
	if (e != 0) {
		*cause = xprintf("\"%s\": the host must be an IPv4 or IPv6 "
		    "address (%s)", url, gai_strerror(e));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;

bad:
	*cause = xprintf("\"%s\": expected tcp://HOST:PORT with a port from 0 "
	    "to 65535", url);
	return -1;
}

/* Check an address's syntax (listen, metrics), for the config parser. */
int
url_check(const char *url, char **cause)
{
	struct sockaddr_storage	ss;
	socklen_t		len;

	return url_sockaddr(url, &ss, &len, cause);
}
