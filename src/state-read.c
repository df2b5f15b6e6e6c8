/*
 * Reading the state (state-write.c writes it). What pmctl update carries from one pmd to the next in the same process
 * (update.c runs the exec): every app with its config as it runs, every
 * worker slot with its process, counters and timers, the event ring, the
 * daemon's own sockets, and the fds all of these hold, named by number
 * (the exec keeps them open). It is JSON with a version (STATE_VERSION;
 * ARCHITECTURE.md gives the rule for changing it).
 *
 * Reading is two steps: state_check() parses and checks all of it (a
 * truncated or garbage text, an fd that is not what it is said to be),
 * changing nothing, so that a pmd that cannot take over can still hand
 * back to the binary before it; state_apply() then builds the apps and
 * workers, which start nothing and bind nothing.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"

#define FD_ANY		0
#define FD_SOCKET	1
#define FD_PIPE		2
#define FD_PIDFD	3

/* The fds a state names, while it is checked: none twice. */
struct fdset {
	int	*fds;
	size_t	 n;
};

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* v as bytes (*out NULL for an empty string), or -1 if it is not hex. */
static int
hex_bytes(const cJSON *v, char **out, size_t *len)
{
	const char	*s = cJSON_GetStringValue(v);
	size_t		 n, i;
	int		 hi, lo;

	*out = NULL;
	*len = 0;
	if (v == NULL)
		return 0;
	if (s == NULL || (n = strlen(s)) % 2 != 0)
		return -1;
	if (n == 0)
		return 0;
	*out = xmalloc(n / 2);
	for (i = 0; i < n / 2; i++) {
		if ((hi = hexval(s[2 * i])) == -1 ||
		    (lo = hexval(s[2 * i + 1])) == -1) {
			free(*out);
			*out = NULL;
			return -1;
		}
		(*out)[i] = (char)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}


/* Reading: each check names the field that is wrong. */
struct rd {
	struct fdset	 seen;
	char		*why;
};

static int
bad(struct rd *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
bad(struct rd *r, const char *fmt, ...)
{
	va_list	ap;

	char	*s, *old = r->why;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		s = NULL;
	va_end(ap);
	/* The first says what; each caller after it says where. */
	r->why = old == NULL ? s : s == NULL ? old : xprintf("%s: %s", s, old);
	if (old != NULL && s != NULL) {
		free(old);
		free(s);
	}
	if (r->why == NULL)
		r->why = xstrdup("bad state");
	return -1;
}

static int
is_num(const cJSON *o, const char *k, double min, double max)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) && v->valuedouble >= min &&
	    v->valuedouble <= max;
}

static double
num_of(const cJSON *o, const char *k)
{
	return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static const char *
str_of(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* Whether a pidfd names pid: its fdinfo says so. */
static int
pidfd_of(int fd, pid_t pid)
{
	char	 path[64], buf[512], *p;
	int	 f;
	ssize_t	 n;

	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
	if ((f = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(f, buf, sizeof buf - 1);
	close(f);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return (p = strstr(buf, "\nPid:")) != NULL && atol(p + 5) == pid;
}

/* o's field k is an fd of kind (or -1 where none may be): open, once. */
static int
check_fd(struct rd *r, const cJSON *o, const char *k, int kind, pid_t pid,
    int none_ok)
{
	struct stat	 st;
	double		 v;
	size_t		 i;
	int		 fd;

	if (!is_num(o, k, -1, INT_MAX))
		return bad(r, "%s: not an fd", k);
	v = num_of(o, k);
	if ((fd = (int)v) != v)
		return bad(r, "%s: not an fd", k);
	if (fd == -1)
		return none_ok ? 0 : bad(r, "%s: missing", k);
	if (fd <= 2 || fcntl(fd, F_GETFD) == -1 || fstat(fd, &st) == -1)
		return bad(r, "%s: fd %d is not open", k, fd);
	for (i = 0; i < r->seen.n; i++)
		if (r->seen.fds[i] == fd)
			return bad(r, "%s: fd %d named twice", k, fd);
	r->seen.fds = xrealloc(r->seen.fds, (r->seen.n + 1) * sizeof fd);
	r->seen.fds[r->seen.n++] = fd;
	if ((kind == FD_SOCKET && !S_ISSOCK(st.st_mode)) ||
	    (kind == FD_PIPE && !S_ISFIFO(st.st_mode)) ||
	    (kind == FD_PIDFD && !pidfd_of(fd, pid)))
		return bad(r, "%s: fd %d is not the %s it should be", k, fd,
		    kind == FD_PIDFD ? "pidfd" : kind == FD_PIPE ? "pipe" :
		    "socket");
	return 0;
}

static int
check_fds(struct rd *r, const cJSON *a, const char *what)
{
	const cJSON	*v;
	cJSON		*o;
	int		 rc = 0;

	if (!cJSON_IsArray(a))
		return bad(r, "%s: not a list", what);
	cJSON_ArrayForEach(v, a) {
		o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, what, cJSON_Duplicate(v, 0));
		rc = check_fd(r, o, what, FD_SOCKET, 0, 0);
		cJSON_Delete(o);
		if (rc == -1)
			return -1;
	}
	return 0;
}

static int
check_hex(struct rd *r, const cJSON *o, const char *k, size_t max)
{
	char	*p;
	size_t	 n;

	if (hex_bytes(cJSON_GetObjectItemCaseSensitive(o, k), &p, &n) == -1)
		return bad(r, "%s: not hex", k);
	free(p);
	return n > max ? bad(r, "%s: longer than %zu bytes", k, max) : 0;
}

static int
check_pipe(struct rd *r, const cJSON *o, const char *k)
{
	const cJSON	*p = cJSON_GetObjectItemCaseSensitive(o, k);

	if (p == NULL || cJSON_IsNull(p))
		return 0;
	if (!cJSON_IsObject(p))
		return bad(r, "%s: not an object", k);
	if (check_fd(r, p, "fd", FD_PIPE, 0, 0) == -1 ||
	    check_hex(r, p, "partial", 65536) == -1)
		return bad(r, "%s", k);	/* "out: fd: ..." */
	return 0;
}

static int
check_worker(struct rd *r, const cJSON *w)
{
	const cJSON	*sm = cJSON_GetObjectItemCaseSensitive(w, "sm");
	const cJSON	*ipc = cJSON_GetObjectItemCaseSensitive(w, "ipc");
	pid_t		 pid;

	if (!cJSON_IsObject(w) || !cJSON_IsObject(sm) || !cJSON_IsObject(ipc))
		return bad(r, "a worker is not an object with sm and ipc");
	if (!is_num(w, "instance", 0, 65535) || !is_num(w, "id", 0, UINT_MAX) ||
	    !is_num(w, "pm_id", 1, UINT_MAX) || !is_num(w, "pid", 0, INT_MAX) ||
	    !is_num(w, "last_pid", 0, INT_MAX) ||
	    !is_num(sm, "state", 0, W_NSTATES - 1) ||
	    !is_num(sm, "want", WANT_NONE, WANT_GONE) ||
	    !is_num(sm, "reason", R_NONE, R_NO_SOCKET) ||
	    !is_num(sm, "unstable", 0, UINT_MAX) ||
	    !is_num(sm, "restarts", 0, UINT_MAX) ||
	    !is_num(sm, "backoff", 0, 1e12) || !is_num(sm, "delay", 0, 1e12) ||
	    !is_num(sm, "spawn_backoff", 0, 1e12) ||
	    !is_num(w, "started", 0, 1e12) || !is_num(w, "tracked", 0, 1e18) ||
	    !is_num(w, "last_status", INT_MIN, INT_MAX) ||
	    !is_num(w, "crash_at", 0, 1e12) ||
	    !is_num(w, "crash_uptime", 0, 1e15) ||
	    !is_num(w, "stop_phase", STOP_NONE, STOP_SIGNAL) ||
	    !is_num(w, "timer", -1, 1e9) || !is_num(w, "watchdog", -1, 1e9) ||
	    !is_num(ipc, "skip", 0, 1) || !is_num(ipc, "bad", 0, 1e18) ||
	    !is_num(ipc, "dropped_out", 0, 1e18) ||
	    !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(ipc, "metrics")))
		return bad(r, "a worker's numbers are missing or out of range");
	pid = (pid_t)num_of(w, "pid");
	if (num_of(sm, "state") == W_STOPPED && pid > 0)
		return bad(r, "a stopped worker has a process");
	if (check_fd(r, w, "pidfd", FD_PIDFD, pid, pid == 0 ||
	    !child_pidfds()) == -1 ||
	    check_pipe(r, w, "out") == -1 || check_pipe(r, w, "err") == -1 ||
	    check_fd(r, ipc, "fd", FD_SOCKET, 0, 1) == -1 ||
	    check_hex(r, ipc, "in", 1 << 20) == -1 ||
	    check_hex(r, ipc, "out", 32 << 20) == -1 ||
	    check_hex(r, w, "tail", TAIL_SIZE) == -1 ||
	    check_fd(r, w, "notify", FD_SOCKET, 0, 1) == -1)
		return bad(r, "worker pid %ld", (long)pid);
	return 0;
}

static int
check_strings(const cJSON *a, int empty_ok)
{
	const cJSON	*v;

	if (!cJSON_IsArray(a) || (!empty_ok && cJSON_GetArraySize(a) == 0))
		return 0;
	cJSON_ArrayForEach(v, a) {
		if (!cJSON_IsString(v))
			return 0;
	}
	return 1;
}

static int
check_app(struct rd *r, const cJSON *a)
{
	const cJSON	*cfg = cJSON_GetObjectItemCaseSensitive(a, "cfg");
	const cJSON	*ws = cJSON_GetObjectItemCaseSensitive(a, "workers");
	const cJSON	*slots = cJSON_GetObjectItemCaseSensitive(a, "slots");
	const cJSON	*v;
	const char	*name = str_of(cfg, "name");

	if (!cJSON_IsObject(a) || !cJSON_IsObject(cfg) || name == NULL ||
	    !cJSON_IsArray(ws) || !cJSON_IsArray(slots))
		return bad(r, "an app has no cfg, name, workers or slots");
	if (!check_strings(cJSON_GetObjectItemCaseSensitive(cfg, "argv"), 0) ||
	    str_of(cfg, "cwd") == NULL ||
	    !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(cfg, "keys")) ||
	    !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(cfg, "env")) ||
	    !check_strings(cJSON_GetObjectItemCaseSensitive(a, "learned"), 1) ||
	    !is_num(a, "nlisten", 0, 4096) ||
	    !is_num(a, "held_instance", -1, 65535) ||
	    cJSON_GetArraySize(slots) != cJSON_GetArraySize(
	    cJSON_GetObjectItemCaseSensitive(a, "slot_out")))
		return bad(r, "app %s: its config or sockets are malformed",
		    name);
	if (check_fds(r, cJSON_GetObjectItemCaseSensitive(a, "listen_fds"),
	    "listen_fds") == -1)
		return bad(r, "app %s", name);
	cJSON_ArrayForEach(v, slots) {
		if (!cJSON_IsNull(v) && (check_fds(r, v, "slot") == -1 ||
		    cJSON_GetArraySize(v) != num_of(a, "nlisten")))
			return bad(r, "app %s: a slot's sockets", name);
	}
	cJSON_ArrayForEach(v, ws) {
		if (check_worker(r, v) == -1)
			return bad(r, "app %s", name);
	}
	return 0;
}

static int
check_followers(struct rd *r, const cJSON *list)
{
	const cJSON	*f;

	if (list == NULL)
		return 0;	/* (optional: a field added in version 1) */
	if (!cJSON_IsArray(list))
		return bad(r, "not a list");
	cJSON_ArrayForEach(f, list) {
		if (!cJSON_IsObject(f) || !is_num(f, "mask", 0, 3) ||
		    !is_num(f, "uid", 0, UINT_MAX) || !is_num(f, "gid", 0,
		    UINT_MAX) || !is_num(f, "pid", 0, INT_MAX) ||
		    check_fd(r, f, "fd", FD_SOCKET, 0, 0) == -1)
			return bad(r, "a follower");
	}
	return 0;
}

/*
 * Parse and check the state text (len bytes): *rootp is the tree to
 * apply. -1 with *cause naming what is wrong; nothing has changed then.
 */
int
state_check(const char *text, size_t len, cJSON **rootp, char **cause)
{
	struct rd	 r = { { NULL, 0 }, NULL };
	cJSON		*root = cJSON_ParseWithLength(text, len), *d, *v;

	*rootp = NULL;
	if (root == NULL)
		bad(&r, "not JSON (cut short?) near byte %zu",
		    (size_t)(cJSON_GetErrorPtr() != NULL ?
		    cJSON_GetErrorPtr() - text : 0));
	else if (!is_num(root, "version", 0, INT_MAX))
		bad(&r, "no version");
	else if (num_of(root, "version") < STATE_OLDEST ||
	    num_of(root, "version") > STATE_VERSION)
		bad(&r, "version %.0f: this pmd reads %d to %d",
		    num_of(root, "version"), STATE_OLDEST, STATE_VERSION);
	else if (!cJSON_IsObject(d = cJSON_GetObjectItemCaseSensitive(root,
	    "daemon")) || !is_num(root, "written", 0, 1e12) ||
	    !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "events")) ||
	    !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "apps")) ||
	    !is_num(d, "fd_base", 0, INT_MAX) ||
	    !is_num(d, "nofile", -1, 1e12) || !is_num(d, "nofile_max", -1, 1e12) ||
	    !is_num(d, "worker_last_id", 0, UINT_MAX) ||
	    !is_num(d, "client_uid", 0, UINT_MAX) ||
	    !is_num(d, "client_gid", 0, UINT_MAX) ||
	    !is_num(d, "client_pid", 0, INT_MAX) ||
	    !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(d, "extra")))
		bad(&r, "daemon: a field is missing or wrong");
	else if (check_followers(&r, cJSON_GetObjectItemCaseSensitive(d,
	    "followers")) == -1)
		bad(&r, "daemon: followers");
	else if (check_fd(&r, d, "lock", FD_ANY, 0, 0) == -1 ||
	    check_fd(&r, d, "control", FD_SOCKET, 0, 0) == -1 ||
	    check_fd(&r, d, "http", FD_SOCKET, 0, 1) == -1 ||
	    check_fd(&r, d, "handoff", FD_SOCKET, 0, 1) == -1 ||
	    check_fd(&r, d, "client", FD_SOCKET, 0, 1) == -1)
		bad(&r, "daemon");	/* "daemon: http: ..." */
	else {
		cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(root,
		    "apps")) {
			if (check_app(&r, v) == -1)
				break;
		}
	}
	free(r.seen.fds);
	if (r.why != NULL) {
		*cause = r.why;
		cJSON_Delete(root);
		return -1;
	}
	*rootp = root;
	return 0;
}

/* Applying: the tree was checked, so only a key's value can still fail. */
static char **
strings_of(const cJSON *a)
{
	const cJSON	*v;
	char		**out = NULL;

	cJSON_ArrayForEach(v, a)
		strv_add(&out, v->valuestring);
	return out;
}

static int
cfg_keys(struct app_config *cfg, const cJSON *keys, char **cause)
{
	const struct app_key	*k;
	const cJSON		*v;
	char			*why;

	cJSON_ArrayForEach(v, keys) {
		if ((k = key_find(v->string)) == NULL || !cJSON_IsString(v)) {
			*cause = xprintf("app %s: key %s: not one this pmd knows",
			    cfg->name, v->string);
			return -1;
		}
		if (key_set(k, cfg, v->valuestring, cfg->cwd, &why) == -1) {
			*cause = xprintf("app %s: %s: %s", cfg->name, k->name,
			    why);
			free(why);
			return -1;
		}
	}
	return 0;
}

/* An app's config as it ran: NULL with *cause naming the key. */
static struct app_config *
cfg_read(const cJSON *o, char **cause)
{
	struct app_config	*cfg;
	const cJSON		*v;
	const char		*s;
	struct envvar		*e;

	cfg = appcfg_adhoc(str_of(o, "name"), strings_of(
	    cJSON_GetObjectItemCaseSensitive(o, "argv")), str_of(o, "cwd"), 1);
	if ((s = str_of(o, "file")) != NULL)
		cfg->file = xstrdup(s);
	cfg->line = (int)num_of(o, "line");
	if ((s = str_of(o, "command")) != NULL) {
		free(cfg->command);
		cfg->command = xstrdup(s);
	}
	cfg->owner = num_of(o, "owner") < 0 ? OWNER_NONE :
	    (uid_t)num_of(o, "owner");
	cfg->after_line = (int)num_of(o, "after_line");
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(o, "env")) {
		if (str_of(v, "key") == NULL || str_of(v, "value") == NULL)
			continue;
		cfg->env = xrealloc(cfg->env, (cfg->nenv + 1) * sizeof *e);
		e = &cfg->env[cfg->nenv++];
		e->profile = (s = str_of(v, "profile")) ? xstrdup(s) : NULL;
		e->key = xstrdup(str_of(v, "key"));
		e->value = xstrdup(str_of(v, "value"));
	}
	if (cfg_keys(cfg, cJSON_GetObjectItemCaseSensitive(o, "keys"),
	    cause) == -1) {
		appcfg_unref(cfg);
		return NULL;
	}
	return cfg;
}

static int *
fds_of(const cJSON *a, size_t *n)
{
	const cJSON	*v;
	int		*fds;

	*n = (size_t)cJSON_GetArraySize(a);
	if (*n == 0)
		return NULL;
	fds = xcalloc(*n, sizeof *fds);
	*n = 0;
	cJSON_ArrayForEach(v, a)
		fds[(*n)++] = (int)v->valuedouble;
	return fds;
}

static void
pipe_read(const cJSON *p, int *fd, char **partial, size_t *plen)
{
	*fd = -1;
	*partial = NULL;
	*plen = 0;
	if (!cJSON_IsObject(p))
		return;
	*fd = (int)num_of(p, "fd");
	hex_bytes(cJSON_GetObjectItemCaseSensitive(p, "partial"), partial,
	    plen);
}

static void
metrics_read(struct worker *w, const cJSON *m)
{
	const cJSON	*v;
	size_t		 n = (size_t)cJSON_GetArraySize(m);

	if (n == 0)
		return;
	w->ipc.metrics = xcalloc(n, sizeof *w->ipc.metrics);
	cJSON_ArrayForEach(v, m) {
		if (!cJSON_IsNumber(v))
			continue;
		w->ipc.metrics[w->ipc.nmetrics].name = xstrdup(v->string);
		w->ipc.metrics[w->ipc.nmetrics++].value = v->valuedouble;
	}
}

static char *
dup_of(const cJSON *o, const char *k)
{
	const char	*s = str_of(o, k);

	return s != NULL ? xstrdup(s) : NULL;
}

/* The fields of a slot, then its process's fds and timers (worker.c). */
static void
worker_read(struct worker *w, const cJSON *o)
{
	const cJSON		*sm = cJSON_GetObjectItemCaseSensitive(o, "sm");
	const cJSON		*ipc = cJSON_GetObjectItemCaseSensitive(o, "ipc");
	struct worker_carry	 c;
	char			*tail, *in, *out;
	size_t			 n, inlen, outlen;

	w->id = (unsigned)num_of(o, "id");
	w->pid = (pid_t)num_of(o, "pid");
	w->last_pid = (pid_t)num_of(o, "last_pid");
	w->sm.state = (enum wstate)num_of(sm, "state");
	w->sm.want = (enum want)num_of(sm, "want");
	w->sm.reason = (enum wreason)num_of(sm, "reason");
	w->sm.unstable = (unsigned)num_of(sm, "unstable");
	w->sm.restarts = (unsigned)num_of(sm, "restarts");
	w->sm.backoff = (uint64_t)num_of(sm, "backoff");
	w->sm.delay = (uint64_t)num_of(sm, "delay");
	w->sm.spawn_backoff = (uint64_t)num_of(sm, "spawn_backoff");
	w->started = num_of(o, "started");
	w->tracked = (unsigned long long)num_of(o, "tracked");
	w->last_status = (int)num_of(o, "last_status");
	w->have_status = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o,
	    "have_status"));
	w->exec_error = dup_of(o, "exec_error");
	w->crash_at = num_of(o, "crash_at");
	w->crash_uptime = (uint64_t)num_of(o, "crash_uptime");
	w->status_text = dup_of(o, "status_text");
	w->await_listen = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o,
	    "await_listen"));
	w->proven = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "proven"));
	w->stop_phase = (int)num_of(o, "stop_phase");
	w->watchdog_fired = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o,
	    "watchdog_fired"));
	w->exit_reason = dup_of(o, "exit_reason");
	if (hex_bytes(cJSON_GetObjectItemCaseSensitive(o, "tail"), &tail,
	    &n) == 0 && n > 0) {
		tail_append(&w->tail, tail, n);
		free(tail);
	}
	w->ipc.bad = (unsigned long)num_of(ipc, "bad");
	w->ipc.dropped_out = (unsigned long)num_of(ipc, "dropped_out");
	metrics_read(w, cJSON_GetObjectItemCaseSensitive(ipc, "metrics"));

	memset(&c, 0, sizeof c);
	c.pidfd = (int)num_of(o, "pidfd");
	pipe_read(cJSON_GetObjectItemCaseSensitive(o, "out"), &c.out_fd,
	    &c.out_partial, &c.out_plen);
	pipe_read(cJSON_GetObjectItemCaseSensitive(o, "err"), &c.err_fd,
	    &c.err_partial, &c.err_plen);
	c.notify_fd = (int)num_of(o, "notify");
	c.timer = num_of(o, "timer");
	c.watchdog = num_of(o, "watchdog");
	worker_adopt(w, &c);
	free(c.out_partial);
	free(c.err_partial);
	if ((c.ipc_fd = (int)num_of(ipc, "fd")) != -1) {
		hex_bytes(cJSON_GetObjectItemCaseSensitive(ipc, "in"), &in,
		    &inlen);
		hex_bytes(cJSON_GetObjectItemCaseSensitive(ipc, "out"), &out,
		    &outlen);
		ipc_adopt(w, c.ipc_fd, in, inlen, (int)num_of(ipc, "skip"), out,
		    outlen);
	}
}

static int
app_read(const cJSON *o, char **cause)
{
	const cJSON	*ws = cJSON_GetObjectItemCaseSensitive(o, "workers");
	const cJSON	*slots = cJSON_GetObjectItemCaseSensitive(o, "slots");
	const cJSON	*v, *out;
	struct app_config *cfg;
	struct app	*a;
	unsigned	 n = (unsigned)cJSON_GetArraySize(ws), i = 0, *ids;
	int		**slot_fds = NULL;
	unsigned char	*slot_out = NULL;
	size_t		 ns = (size_t)cJSON_GetArraySize(slots), nl, k;
	int		*fds;

	if ((cfg = cfg_read(cJSON_GetObjectItemCaseSensitive(o, "cfg"),
	    cause)) == NULL)
		return -1;
	ids = xcalloc(n + 1, sizeof *ids);
	cJSON_ArrayForEach(v, ws)
		ids[i++] = (unsigned)num_of(v, "pm_id");
	a = app_adopt(cfg, strings_of(cJSON_GetObjectItemCaseSensitive(o,
	    "base_env")), cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o,
	    "adhoc")), str_of(o, "profile"), n, ids);
	appcfg_unref(cfg);
	free(ids);
	if (ns > 0) {
		slot_fds = xcalloc(ns, sizeof *slot_fds);
		slot_out = xcalloc(ns, 1);
	}
	out = cJSON_GetObjectItemCaseSensitive(o, "slot_out")->child;
	k = 0;
	cJSON_ArrayForEach(v, slots) {
		slot_fds[k] = cJSON_IsNull(v) ? NULL : fds_of(v, &nl);
		slot_out[k++] = (unsigned char)cJSON_GetNumberValue(out);
		out = out->next;
	}
	fds = fds_of(cJSON_GetObjectItemCaseSensitive(o, "listen_fds"), &nl);
	listen_adopt(a, fds, (size_t)num_of(o, "nlisten"), slot_fds, slot_out,
	    (unsigned)ns, strings_of(cJSON_GetObjectItemCaseSensitive(o,
	    "learned")));
	a->listen_error = dup_of(o, "listen_error");
	a->reload_error = dup_of(o, "reload_error");
	a->reloads = (unsigned long)num_of(o, "reloads");
	a->reloads_failed = (unsigned long)num_of(o, "reloads_failed");
	a->held = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "held"));
	a->held_instance = (int)num_of(o, "held_instance");
	a->held_for = dup_of(o, "held_for");
	a->stop_pending = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o,
	    "stop_pending"));
	i = 0;
	cJSON_ArrayForEach(v, ws)
		worker_read(a->workers[i++], v);
	return 0;
}

static void
events_read(const cJSON *list)
{
	const cJSON	*v;
	struct event	 e;

	cJSON_ArrayForEach(v, list) {
		if (str_of(v, "type") == NULL || str_of(v, "text") == NULL)
			continue;
		e.time = num_of(v, "time");
		e.app = (char *)str_of(v, "app");
		e.instance = (int)num_of(v, "instance");
		e.pid = (long)num_of(v, "pid");
		e.type = (char *)str_of(v, "type");
		e.text = (char *)str_of(v, "text");
		e.data = (char *)str_of(v, "data");
		event_restore(&e);
	}
}

/* The followers of a checked state (*list, strings in root): n of them. */
size_t
state_followers(const cJSON *root, struct follower **list)
{
	const cJSON	*d = cJSON_GetObjectItemCaseSensitive(root, "daemon");
	const cJSON	*v;
	struct follower	*f;
	size_t		 n = 0;

	*list = NULL;
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(d,
	    "followers")) {
		*list = xrealloc(*list, (n + 1) * sizeof **list);
		f = &(*list)[n++];
		f->fd = (int)num_of(v, "fd");
		f->events = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v,
		    "events"));
		f->app = str_of(v, "app");
		f->ns = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "ns"));
		f->mask = (int)num_of(v, "mask");
		f->uid = (uid_t)num_of(v, "uid");
		f->gid = (gid_t)num_of(v, "gid");
		f->pid = (pid_t)num_of(v, "pid");
	}
	return n;
}

/* The daemon's part of a checked state. */
void
state_daemon(const cJSON *root, struct state_daemon *d)
{
	const cJSON	*o = cJSON_GetObjectItemCaseSensitive(root, "daemon");

	memset(d, 0, sizeof *d);
	d->lock = (int)num_of(o, "lock");
	d->control = (int)num_of(o, "control");
	d->http = (int)num_of(o, "http");
	d->http_url = str_of(o, "http_url");
	d->handoff = (int)num_of(o, "handoff");
	d->handoff_name = str_of(o, "handoff_name");
	d->client = (int)num_of(o, "client");
	d->client_uid = (uid_t)num_of(o, "client_uid");
	d->client_gid = (gid_t)num_of(o, "client_gid");
	d->client_pid = (pid_t)num_of(o, "client_pid");
	d->fd_base = (unsigned)num_of(o, "fd_base");
	d->nofile.rlim_cur = num_of(o, "nofile") < 0 ? RLIM_INFINITY :
	    (rlim_t)num_of(o, "nofile");
	d->nofile.rlim_max = num_of(o, "nofile_max") < 0 ? RLIM_INFINITY :
	    (rlim_t)num_of(o, "nofile_max");
	d->booting = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o,
	    "booting"));
	d->written = num_of(root, "written");
	d->version = str_of(root, "pmd");
}

/*
 * Build the apps and workers of a checked state, the event ring and the
 * extra config files; -1 with *cause if an app's config does not load
 * (then the apps before it exist: the caller hands back, never runs on).
 */
int
state_apply(const cJSON *root, char **cause)
{
	const cJSON	*o = cJSON_GetObjectItemCaseSensitive(root, "daemon");
	const cJSON	*v;

	worker_last_id = (unsigned)num_of(o, "worker_last_id");
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(o, "extra")) {
		if (str_of(v, "file") != NULL && !strv_has(config->extra,
		    str_of(v, "file")))
			config_add_extra(config, str_of(v, "file"),
			    (uid_t)num_of(v, "owner"));
	}
	events_read(cJSON_GetObjectItemCaseSensitive(root, "events"));
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(root, "apps")) {
		if (app_read(v, cause) == -1)
			return -1;
	}
	return 0;
}
