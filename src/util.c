/*
 * Small helpers every module uses: allocation that aborts instead of
 * failing, pmd's own log lines on stderr, fd flags and paths.
 */
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"

static void
oom(void)
{
	static const char msg[] = "pmd: out of memory\n";

	/* Nothing sensible can go on without memory; say so and stop. */
	(void)!write(STDERR_FILENO, msg, sizeof msg - 1);
	abort();
}

void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		oom();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size)) == NULL)
		oom();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n == 0 ? 1 : n)) == NULL)
		oom();
	return p;
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		oom();
	return p;
}

/* n bytes of p as lowercase hex (malloc'd): bytes that may be anything. */
char *
hex_encode(const char *p, size_t n)
{
	static const char	 digits[] = "0123456789abcdef";
	char			*s = xmalloc(2 * n + 1);
	size_t			 i;

	for (i = 0; i < n; i++) {
		s[2 * i] = digits[(unsigned char)p[i] >> 4];
		s[2 * i + 1] = digits[(unsigned char)p[i] & 15];
	}
	s[2 * n] = '\0';
	return s;
}

static int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* s (hex_encode's) as *len bytes in *out (NULL for none); -1 if not hex. */
int
hex_decode(const char *s, char **out, size_t *len)
{
	size_t	n = strlen(s), i;
	int	hi, lo;

	*out = NULL;
	*len = 0;
	if (n % 2 != 0)
		return -1;
	if (n == 0)
		return 0;
	*out = xmalloc(n / 2);
	for (i = 0; i < n / 2; i++) {
		if ((hi = hex_value(s[2 * i])) == -1 ||
		    (lo = hex_value(s[2 * i + 1])) == -1) {
			free(*out);
			*out = NULL;
			return -1;
		}
		(*out)[i] = (char)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		oom();
	return p;
}

char *
xprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		oom();
	va_end(ap);
	return s;
}

/*
 * Seconds on a clock that never steps (NTP, date -s, a VM resumed) and
 * counts time asleep: every duration pmd and pmctl measure. Wall-clock
 * time is only for what is shown as a date.
 */
double
mono_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
log_line(const char *level, const char *fmt, va_list ap)
{
	struct timespec	 ts;
	struct tm	 tm;
	char		 stamp[32], msg[1024], line[1200];
	int		 n;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	vsnprintf(msg, sizeof msg, fmt, ap);
	n = snprintf(line, sizeof line, "%s.%03ld pmd[%ld]: %s%s\n", stamp,
	    ts.tv_nsec / 1000000, (long)getpid(), level, msg);
	if (n >= (int)sizeof line) {
		n = sizeof line;
		line[n - 1] = '\n';
	}
	/* One write per line: whole lines, even in a shared file. */
	(void)!write(STDERR_FILENO, line, n);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_line("", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_line("warning: ", fmt, ap);
	va_end(ap);
}

/*
 * Print "PROGRAM: message" and exit with code: for pmctl, and for pmd only
 * before its event loop runs (fatal_hook, if set, is called first).
 */
void	(*fatal_hook)(const char *);

void
fatalx(int code, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	/* A pmd taking over (pmctl update) hands back instead of exiting. */
	if (fatal_hook != NULL && msg != NULL)
		fatal_hook(msg);
	fprintf(stderr, "%s: %s\n", program_invocation_short_name,
	    msg != NULL ? msg : fmt);
	free(msg);
	exit(code);
}

/* printf onto the end of t, which grows as it needs. */
void
text_put(struct text *t, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (t->s == NULL)
		t->s = xmalloc(t->cap = 8192);
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->len) {
			t->len += n;
			return;
		}
		t->cap *= 2;
		if (n >= 0 && t->cap < t->len + n + 1)
			t->cap = t->len + n + 1;
		t->s = xrealloc(t->s, t->cap);
	}
}

/*
 * Long-lived fds go at fd_floor and above, so that the few fds a spawn
 * hands on sit low and the child's own fd table can stay small (proc.c).
 */
static int	fd_floor = INT_MAX;	/* INT_MAX: not set, fds stay */

/*
 * Where long-lived fds go: 1024 when the limit leaves room above it, a
 * quarter of the limit below that. Called once the limit is raised.
 */
void
fd_high_init(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur >= 64)
		fd_floor = rl.rlim_cur >= 4096 ? 1024 : (int)(rl.rlim_cur / 4);
}

/* fd moved to fd_floor or above (closing it), or fd if it cannot be. */
int
fd_high(int fd)
{
	int	high;

	if (fd < 0 || fd >= fd_floor ||
	    (high = fcntl(fd, F_DUPFD_CLOEXEC, fd_floor)) == -1)
		return fd;
	close(fd);
	return high;
}

int
fd_high_floor(void)
{
	return fd_floor;
}

int
fd_nonblock(int fd)
{
	int	flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1)
		return -1;
	if (flags & O_NONBLOCK)
		return 0;	/* (an fd pmctl update carried, say) */
	return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* mkdir -p with a mode for the directories it creates. */
int
mkdir_p(const char *path, mode_t mode, char **cause)
{
	char	*copy, *p;
	int	 rc = 0;

	copy = xstrdup(path);
	for (p = copy + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(copy, mode) == -1 && errno != EEXIST) {
			*cause = xprintf("%s: %s", copy, strerror(errno));
			rc = -1;
			break;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	free(copy);
	return rc;
}

/* dir/name, or name itself when it is absolute. */
char *
path_join(const char *dir, const char *name)
{
	if (name[0] == '/' || dir == NULL || *dir == '\0')
		return xstrdup(name);
	return xprintf("%s/%s", dir, name);
}

char *
path_dirname(const char *path)
{
	const char	*slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, slash - path);
}

/* A JSON array of the strings of v (NULL: empty). */
cJSON *
json_strings(char *const *v)
{
	cJSON	*list = cJSON_CreateArray();

	for (; v != NULL && *v != NULL; v++)
		cJSON_AddItemToArray(list, cJSON_CreateString(*v));
	return list;
}

/* Whether v is an array of strings only (nonempty: at least one). */
int
json_is_strings(const cJSON *v, int nonempty)
{
	const cJSON	*x;

	if (!cJSON_IsArray(v) || (nonempty && cJSON_GetArraySize(v) == 0))
		return 0;
	cJSON_ArrayForEach(x, v) {
		if (!cJSON_IsString(x))
			return 0;
	}
	return 1;
}

/* The string field key of o, or NULL if absent or not a string. */
const char *
json_string(cJSON *o, const char *key)
{
	cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The length of the valid UTF-8 sequence at p (of n bytes), or 0. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	size_t		need, i;
	unsigned	cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		need = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		need = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and past U+10FFFF are not UTF-8. */
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return need;
}

/*
 * Whether pmd holds capability cap (CAP_SYS_RESOURCE...) in its effective
 * set: root in a container may not.
 */
int
cap_effective(int cap)
{
	char		 buf[4096], *p;
	ssize_t		 n;
	int		 fd;
	unsigned long long mask;

	if ((fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)) == -1)
		return geteuid() == 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	if ((p = strstr(buf, "\nCapEff:")) == NULL ||
	    sscanf(p + 9, "%llx", &mask) != 1)
		return geteuid() == 0;
	return (mask >> cap) & 1;
}

/*
 * Whether s is a name fit to show anywhere: 1 to max bytes of valid UTF-8
 * with no control character (what a worker may name a metric).
 */
int
text_printable(const char *s, size_t max)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = strlen(s), i, k;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i += k) {
		if (p[i] < 0x20 || p[i] == 0x7f ||
		    (k = utf8_seq(p + i, n - i)) == 0)
			return 0;
	}
	return 1;
}

/*
 * s (taken) as valid UTF-8: each byte that starts no valid sequence
 * becomes U+FFFD. What pmd sends is JSON, which must be UTF-8, however
 * the bytes it echoes (app names, log lines, config values) were made.
 */
char *
utf8_fix(char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = strlen(s), i, k, out = 0;
	char			*fixed;

	for (i = 0; i < n; i += k) {
		if ((k = utf8_seq(p + i, n - i)) == 0)
			break;
	}
	if (i == n)
		return s;
	fixed = xmalloc(n * 3 + 1);
	for (i = 0; i < n; i += k) {
		if ((k = utf8_seq(p + i, n - i)) == 0) {
			memcpy(fixed + out, "\xef\xbf\xbd", 3);
			out += 3;
			k = 1;
		} else {
			memcpy(fixed + out, s + i, k);
			out += k;
		}
	}
	fixed[out] = '\0';
	free(s);
	return fixed;
}

/*
 * Read a whole regular file of at most max bytes into *buf (NUL added),
 * without ever blocking on it: a FIFO, a device or a directory is an
 * error, as is a file larger than max. Errors name the path.
 */
int
file_read(const char *path, size_t max, char **buf, size_t *len,
    char **cause)
{
	struct stat	 st;
	char		*b;
	size_t		 n = 0, cap;
	ssize_t		 r;
	int		 fd;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd == -1) {
		*cause = xprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		*cause = xprintf("%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*cause = xprintf("%s: not a regular file (%s)", path,
		    S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ?
		    "a FIFO" : S_ISSOCK(st.st_mode) ? "a socket" :
		    "a device");
		close(fd);
		return -1;
	}
	if ((uint64_t)st.st_size > max) {
		*cause = xprintf("%s: larger than %zu bytes", path, max);
		close(fd);
		return -1;
	}
	/* Sized by fstat, grown if the file grows while we read. */
	cap = (size_t)st.st_size + 2;
	b = xmalloc(cap);
	while (n <= max) {
		if (cap - n < 2) {
			cap = cap * 2 > max + 2 ? max + 2 : cap * 2;
			b = xrealloc(b, cap);
		}
		r = read(fd, b + n, cap - 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			*cause = xprintf("%s: %s", path, strerror(errno));
			free(b);
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > max) {
		*cause = xprintf("%s: larger than %zu bytes", path, max);
		free(b);
		return -1;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

static gid_t	*saved_groups;
static int	 nsaved_groups = -1;

/*
 * Open files with uid's permissions (its groups too) until fs_restore:
 * the kernel then checks each path as it would for that user, ACLs and
 * directories on the way included. For a root pmd only.
 */
int
fs_become(uid_t uid, char **cause)
{
	struct passwd	*pw;
	gid_t		*groups = NULL;
	int		 n = 32, rc;

	if ((pw = getpwuid(uid)) == NULL) {
		*cause = xprintf("uid %ld has no entry in the user database",
		    (long)uid);
		return -1;
	}
	do {
		groups = xrealloc(groups, n * sizeof *groups);
		rc = getgrouplist(pw->pw_name, pw->pw_gid, groups, &n);
	} while (rc == -1 && n > 0 && n < 65536);
	nsaved_groups = getgroups(0, NULL);
	saved_groups = xcalloc(nsaved_groups > 0 ? nsaved_groups : 1,
	    sizeof *saved_groups);
	if (nsaved_groups < 0 ||
	    getgroups(nsaved_groups, saved_groups) != nsaved_groups ||
	    setgroups(rc == -1 ? 0 : n, groups) == -1) {
		*cause = xprintf("cannot take the groups of %s: %s",
		    pw->pw_name, strerror(errno));
		free(groups);
		free(saved_groups);
		saved_groups = NULL;
		nsaved_groups = -1;
		return -1;
	}
	free(groups);
	setfsgid(pw->pw_gid);
	setfsuid(uid);
	return 0;
}

void
fs_restore(void)
{
	setfsuid(geteuid());
	setfsgid(getegid());
	if (nsaved_groups >= 0 && setgroups(nsaved_groups, saved_groups) == -1)
		log_warn("setgroups: %s", strerror(errno));
	free(saved_groups);
	saved_groups = NULL;
	nsaved_groups = -1;
}

/* s (len bytes) as a JSON string literal, quotes included; s is UTF-8. */
char *
json_quote(const char *s, size_t len)
{
	char	*out = xmalloc(len * 6 + 3), *o = out;
	size_t	 i;

	*o++ = '"';
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else if (c == '\t') {
			*o++ = '\\';
			*o++ = 't';
		} else if (c < 0x20 || c == 0x7f)
			o += sprintf(o, "\\u%04x", c);
		else
			*o++ = (char)c;
	}
	*o++ = '"';
	*o = '\0';
	return out;
}

/*
 * The credentials of user (uid, gid and groups), for creds_enter: -1 with
 * *cause if its groups cannot be had. The lookup may ask NSS: do it once.
 */
int
creds_of(const char *user, uid_t uid, gid_t gid, struct creds *c,
    char **cause)
{
	c->uid = uid;
	c->gid = gid;
	c->ngroups = CREDS_GROUPS;
	if (getgrouplist(user, gid, c->groups, &c->ngroups) == -1) {
		*cause = xprintf("user %s is in more than %d groups", user,
		    CREDS_GROUPS);
		return -1;
	}
	return 0;
}

/*
 * Act as c from now on, in what the kernel checks (files, inotify and
 * its budget): effective ids and groups, saved in *saved for creds_leave.
 * pmd has one thread, so this is all of pmd until creds_leave, which must
 * come before the loop runs again. -1 (nothing changed) if it cannot.
 */
int
creds_enter(const struct creds *c, struct creds *saved)
{
	saved->uid = geteuid();
	saved->gid = getegid();
	if ((saved->ngroups = getgroups(CREDS_GROUPS, saved->groups)) == -1)
		return -1;
	if (setgroups(c->ngroups, c->groups) == -1)
		return -1;
	if (setegid(c->gid) == -1 || seteuid(c->uid) == -1) {
		creds_leave(saved);
		return -1;
	}
	return 0;
}

void
creds_leave(const struct creds *saved)
{
	if (seteuid(saved->uid) == -1 || setegid(saved->gid) == -1 ||
	    setgroups(saved->ngroups, saved->groups) == -1)
		fatalx(1, "cannot take back pmd's own credentials: %s",
		    strerror(errno));
	/* A change of ids made pmd undumpable: it is itself again. */
	prctl(PR_SET_DUMPABLE, 1);
}

/*
 * A file pmd ships (pmd-preload.so, pmd-drain.js, pmd-dashboard.html):
 * beside pmd's executable, else where make install put it; NULL if
 * neither has it.
 */
char *
shipped_file(const char *name)
{
	char	exe[PATH_MAX], *slash, *path;
	ssize_t	n;

	if ((n = readlink("/proc/self/exe", exe, sizeof exe - 1)) > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL) {
			*slash = '\0';
			path = xprintf("%s/%s", exe, name);
			if (access(path, R_OK) == 0)
				return path;
			free(path);
		}
	}
	path = xprintf("%s/%s", PMD_LIBDIR, name);
	if (access(path, R_OK) == 0)
		return path;
	free(path);
	return NULL;
}

/* The last n lines of path: one read of at most max bytes from the end. */
char **
file_last_lines(const char *path, unsigned n, size_t max)
{
	char		**lines = xcalloc(1, sizeof *lines);
	struct stat	 st;
	char		*buf, *p, *end, *nl;
	size_t		 want, got = 0;
	ssize_t		 r;
	unsigned	 count = 0;
	int		 fd;

	if (n == 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return lines;
	if (fstat(fd, &st) == -1 || st.st_size == 0) {
		close(fd);
		return lines;
	}
	want = (size_t)st.st_size < max ? (size_t)st.st_size : max;
	buf = xmalloc(want + 1);
	while (got < want && (r = pread(fd, buf + got, want - got,
	    st.st_size - want + got)) > 0)
		got += r;
	close(fd);
	end = buf + got;
	if (end > buf && end[-1] == '\n')
		end--;
	/* Walk back n newlines. */
	for (p = end; p > buf && count < n; p--) {
		if (p[-1] == '\n' && ++count == n)
			break;
	}
	if (p == buf && got == want && want < (size_t)st.st_size && count < n)
		p = memchr(buf, '\n', end - buf) ? memchr(buf, '\n', end - buf) +
		    1 : end;	/* the first line was cut by the read */
	count = 0;
	while (p < end) {
		nl = memchr(p, '\n', end - p);
		if (nl == NULL)
			nl = end;
		*nl = '\0';
		lines = xrealloc(lines, (count + 2) * sizeof *lines);
		lines[count++] = xstrdup(p);
		lines[count] = NULL;
		p = nl + 1;
	}
	free(buf);
	return lines;
}
