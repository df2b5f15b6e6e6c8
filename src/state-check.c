/*
 * Checking the state before anything changes (state-read.c applies it,
 * state-write.c writes it): state_check() parses all of pmctl update's
 * state and checks every part (a truncated or garbage text, a missing or
 * out-of-range field, an fd that is not open or not what it is said to
 * be, one named twice), changing nothing, so that a pmd that cannot take
 * over can still hand back to the binary before it. Each check names the
 * field that is wrong. The helpers both sides read with are here too.
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
#include "state.h"

#define FD_ANY		0
#define FD_SOCKET	1
#define FD_PIPE		2
#define FD_PIDFD	3

/* The fds a state names, while it is checked: none twice. */
struct fdset {
	unsigned char	*map;		/* [fd]: named already */
	size_t		 n;
};

/* v as bytes (*out NULL for an empty string), or -1 if it is not hex. */
int
hex_bytes(const cJSON *v, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (v == NULL)
		return 0;
	if (cJSON_GetStringValue(v) == NULL)
		return -1;
	return hex_decode(cJSON_GetStringValue(v), out, len);
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

double
num_of(const cJSON *o, const char *k)
{
	return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

const char *
str_of(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* v (named k) is an fd of kind (or -1 where none may be): open, once. */
static int
fd_ok(struct rd *r, const cJSON *v, const char *k, int kind, pid_t pid,
    int none_ok)
{
	struct stat	 st;
	size_t		 n;
	int		 fd;

	if (!cJSON_IsNumber(v) || v->valuedouble < -1 ||
	    v->valuedouble > INT_MAX || (fd = (int)v->valuedouble) !=
	    v->valuedouble)
		return bad(r, "%s: not an fd", k);
	if (fd == -1)
		return none_ok ? 0 : bad(r, "%s: missing", k);
	if (fd <= 2 || fstat(fd, &st) == -1)
		return bad(r, "%s: fd %d is not open", k, fd);
	/* One byte per fd number: none named twice, at any count. */
	if ((size_t)fd >= r->seen.n) {
		n = (size_t)fd * 2 + 64;
		r->seen.map = xrealloc(r->seen.map, n);
		memset(r->seen.map + r->seen.n, 0, n - r->seen.n);
		r->seen.n = n;
	}
	if (r->seen.map[fd])
		return bad(r, "%s: fd %d named twice", k, fd);
	r->seen.map[fd] = 1;
	if ((kind == FD_SOCKET && !S_ISSOCK(st.st_mode)) ||
	    (kind == FD_PIPE && !S_ISFIFO(st.st_mode)) ||
	    (kind == FD_PIDFD && proc_pidfd_pid(fd) != pid))
		return bad(r, "%s: fd %d is not the %s it should be", k, fd,
		    kind == FD_PIDFD ? "pidfd" : kind == FD_PIPE ? "pipe" :
		    "socket");
	return 0;
}

static int
check_fd(struct rd *r, const cJSON *o, const char *k, int kind, pid_t pid,
    int none_ok)
{
	return fd_ok(r, cJSON_GetObjectItemCaseSensitive(o, k), k, kind, pid,
	    none_ok);
}

static int
check_fds(struct rd *r, const cJSON *a, const char *what)
{
	const cJSON	*v;

	if (!cJSON_IsArray(a))
		return bad(r, "%s: not a list", what);
	cJSON_ArrayForEach(v, a) {
		if (fd_ok(r, v, what, FD_SOCKET, 0, 0) == -1)
			return -1;
	}
	return 0;
}

static int
check_hex(struct rd *r, const cJSON *v, const char *k, size_t max)
{
	char	*p;
	size_t	 n;

	if (!cJSON_IsString(v) || hex_bytes(v, &p, &n) == -1)
		return bad(r, "%s: not hex", k);
	free(p);
	return n > max ? bad(r, "%s: longer than %zu bytes", k, max) : 0;
}

/* The bounds of a worker's numbers (include/state.h). */
static const struct {
	const char	*name;
	double		 min;
	double		 max;
} wf_num[WF_NUMBERS] = {
	[WF_INSTANCE] = { "instance", 0, 65535 },
	[WF_ID] = { "id", 0, UINT_MAX },
	[WF_PM_ID] = { "pm_id", 1, UINT_MAX },
	[WF_PID] = { "pid", 0, INT_MAX },
	[WF_LAST_PID] = { "last_pid", 0, INT_MAX },
	[WF_PIDFD] = { "pidfd", -1, INT_MAX },
	[WF_STATE] = { "state", 0, W_NSTATES - 1 },
	[WF_WANT] = { "want", WANT_NONE, WANT_GONE },
	[WF_REASON] = { "reason", R_NONE, R_NO_SOCKET },
	[WF_UNSTABLE] = { "unstable", 0, UINT_MAX },
	[WF_RESTARTS] = { "restarts", 0, UINT_MAX },
	[WF_BACKOFF] = { "backoff", 0, 1e12 },
	[WF_DELAY] = { "delay", 0, 1e12 },
	[WF_SPAWN_BACKOFF] = { "spawn_backoff", 0, 1e12 },
	[WF_STARTED] = { "started", 0, 1e12 },
	[WF_TRACKED] = { "tracked", 0, 1e18 },
	[WF_LAST_STATUS] = { "last_status", INT_MIN, INT_MAX },
	[WF_HAVE_STATUS] = { "have_status", 0, 1 },
	[WF_CRASH_AT] = { "crash_at", 0, 1e12 },
	[WF_CRASH_UPTIME] = { "crash_uptime", 0, 1e15 },
	[WF_AWAIT_LISTEN] = { "await_listen", 0, 1 },
	[WF_PROVEN] = { "proven", 0, 1 },
	[WF_STOP_PHASE] = { "stop_phase", STOP_NONE, STOP_SIGNAL },
	[WF_WATCHDOG_FIRED] = { "watchdog_fired", 0, 1 },
	[WF_TIMER] = { "timer", -1, 1e9 },
	[WF_WATCHDOG] = { "watchdog", -1, 1e9 },
	[WF_NOTIFY] = { "notify", -1, INT_MAX },
	[WF_OUT] = { "out", -1, INT_MAX },
	[WF_ERR] = { "err", -1, INT_MAX },
	[WF_IPC] = { "ipc", -1, INT_MAX },
	[WF_IPC_SKIP] = { "ipc_skip", 0, 1 },
	[WF_IPC_BAD] = { "ipc_bad", 0, 1e18 },
	[WF_IPC_DROPPED] = { "ipc_dropped", 0, 1e18 },
};

/* A worker's items, in order (*it), or -1 if there are too few. */
int
worker_items(const cJSON *w, const cJSON **it)
{
	const cJSON	*v;
	int		 n = 0;

	if (!cJSON_IsArray(w))
		return -1;
	for (v = w->child; v != NULL && n < WF_COUNT; v = v->next)
		it[n++] = v;
	return n == WF_COUNT ? 0 : -1;
}

static int
check_worker(struct rd *r, const cJSON *w)
{
	const cJSON	*it[WF_COUNT];
	pid_t		 pid;
	int		 i;

	if (worker_items(w, it) == -1)
		return bad(r, "a worker is not a list of %d items", WF_COUNT);
	for (i = 0; i < WF_NUMBERS; i++) {
		if (!cJSON_IsNumber(it[i]) || it[i]->valuedouble < wf_num[i].min ||
		    it[i]->valuedouble > wf_num[i].max)
			return bad(r, "a worker's %s is not a number from %.0f "
			    "to %.0f", wf_num[i].name, wf_num[i].min,
			    wf_num[i].max);
	}
	pid = (pid_t)it[WF_PID]->valuedouble;
	if (it[WF_STATE]->valuedouble == W_STOPPED && pid > 0)
		return bad(r, "a stopped worker has a process");
	for (i = WF_EXEC_ERROR; i <= WF_EXIT_REASON; i++) {
		if (!cJSON_IsString(it[i]) && !cJSON_IsNull(it[i]))
			return bad(r, "worker pid %ld: a text is not one",
			    (long)pid);
	}
	if (fd_ok(r, it[WF_PIDFD], "pidfd", FD_PIDFD, pid, pid == 0 ||
	    !child_pidfds()) == -1 ||
	    fd_ok(r, it[WF_OUT], "out", FD_PIPE, 0, 1) == -1 ||
	    fd_ok(r, it[WF_ERR], "err", FD_PIPE, 0, 1) == -1 ||
	    fd_ok(r, it[WF_IPC], "ipc", FD_SOCKET, 0, 1) == -1 ||
	    fd_ok(r, it[WF_NOTIFY], "notify", FD_SOCKET, 0, 1) == -1 ||
	    check_hex(r, it[WF_OUT_PARTIAL], "out partial", 65536) == -1 ||
	    check_hex(r, it[WF_ERR_PARTIAL], "err partial", 65536) == -1 ||
	    check_hex(r, it[WF_TAIL], "tail", TAIL_SIZE) == -1 ||
	    check_hex(r, it[WF_IPC_IN], "ipc in", 1 << 20) == -1 ||
	    check_hex(r, it[WF_IPC_OUT], "ipc out", 32 << 20) == -1 ||
	    !cJSON_IsObject(it[WF_METRICS]))
		return bad(r, "worker pid %ld", (long)pid);
	return 0;
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
	if (!json_is_strings(cJSON_GetObjectItemCaseSensitive(cfg, "argv"), 1) ||
	    str_of(cfg, "cwd") == NULL ||
	    !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(cfg, "keys")) ||
	    !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(cfg, "env")) ||
	    !json_is_strings(cJSON_GetObjectItemCaseSensitive(a, "learned"), 0) ||
	    (cJSON_GetObjectItemCaseSensitive(a, "widened") != NULL &&
	    !json_is_strings(cJSON_GetObjectItemCaseSensitive(a, "widened"), 1)) ||
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

/* The hooks still running (optional: added in version 2). */
static int
check_hooks(struct rd *r, const cJSON *list)
{
	const cJSON	*h;
	pid_t		 pid;

	if (list == NULL)
		return 0;
	if (!cJSON_IsArray(list))
		return bad(r, "not a list");
	cJSON_ArrayForEach(h, list) {
		if (!cJSON_IsObject(h) || str_of(h, "what") == NULL ||
		    !is_num(h, "pid", 2, INT_MAX) || !is_num(h, "left", -1e9,
		    1e9))
			return bad(r, "a hook");
		/* Its pidfd names it: no other process is timed or killed. */
		pid = (pid_t)num_of(h, "pid");
		if (check_fd(r, h, "pidfd", FD_PIDFD, pid, 0) == -1 ||
		    check_fd(r, h, "out", FD_PIPE, 0, 1) == -1 ||
		    check_hex(r, cJSON_GetObjectItemCaseSensitive(h, "line"),
		    "line", HOOK_LINE) == -1)
			return bad(r, "hook %s", str_of(h, "what"));
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
	else if (check_hooks(&r, cJSON_GetObjectItemCaseSensitive(root,
	    "hooks")) == -1)
		bad(&r, "hooks");
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
	free(r.seen.map);
	if (r.why != NULL) {
		*cause = r.why;
		cJSON_Delete(root);
		return -1;
	}
	*rootp = root;
	return 0;
}
