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
static int
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
	    (cJSON_GetObjectItemCaseSensitive(a, "widened") != NULL &&
	    !check_strings(cJSON_GetObjectItemCaseSensitive(a, "widened"), 0)) ||
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

/* A copy of v's text, or NULL (v is not a string). */
static char *
text_of(const cJSON *v)
{
	return cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
}

static char *
dup_of(const cJSON *o, const char *k)
{
	return text_of(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* The fields of a slot, then its process's fds and timers (worker.c). */
static void
worker_read(struct worker *w, const cJSON *o)
{
	const cJSON		*it[WF_COUNT];
	double			 v[WF_NUMBERS];
	struct worker_carry	 c;
	char			*tail, *in, *out;
	size_t			 n, inlen, outlen, i;

	worker_items(o, it);	/* checked */
	for (i = 0; i < WF_NUMBERS; i++)
		v[i] = it[i]->valuedouble;
	w->id = (unsigned)v[WF_ID];
	w->pid = (pid_t)v[WF_PID];
	w->last_pid = (pid_t)v[WF_LAST_PID];
	w->sm.state = (enum wstate)v[WF_STATE];
	w->sm.want = (enum want)v[WF_WANT];
	w->sm.reason = (enum wreason)v[WF_REASON];
	w->sm.unstable = (unsigned)v[WF_UNSTABLE];
	w->sm.restarts = (unsigned)v[WF_RESTARTS];
	w->sm.backoff = (uint64_t)v[WF_BACKOFF];
	w->sm.delay = (uint64_t)v[WF_DELAY];
	w->sm.spawn_backoff = (uint64_t)v[WF_SPAWN_BACKOFF];
	w->started = v[WF_STARTED];
	w->tracked = (unsigned long long)v[WF_TRACKED];
	w->last_status = (int)v[WF_LAST_STATUS];
	w->have_status = v[WF_HAVE_STATUS] != 0;
	w->crash_at = v[WF_CRASH_AT];
	w->crash_uptime = (uint64_t)v[WF_CRASH_UPTIME];
	w->await_listen = v[WF_AWAIT_LISTEN] != 0;
	w->proven = v[WF_PROVEN] != 0;
	/* Not in the state: one that runs may accept on the app's sockets. */
	w->handed = w->pid > 0;
	w->stop_phase = (int)v[WF_STOP_PHASE];
	w->watchdog_fired = v[WF_WATCHDOG_FIRED] != 0;
	w->exec_error = text_of(it[WF_EXEC_ERROR]);
	w->status_text = text_of(it[WF_STATUS_TEXT]);
	w->exit_reason = text_of(it[WF_EXIT_REASON]);
	if (hex_bytes(it[WF_TAIL], &tail, &n) == 0 && n > 0) {
		tail_append(&w->tail, tail, n);
		free(tail);
	}
	w->ipc.bad = (unsigned long)v[WF_IPC_BAD];
	w->ipc.dropped_out = (unsigned long)v[WF_IPC_DROPPED];
	metrics_read(w, it[WF_METRICS]);

	memset(&c, 0, sizeof c);
	c.pidfd = (int)v[WF_PIDFD];
	c.out_fd = (int)v[WF_OUT];
	c.err_fd = (int)v[WF_ERR];
	hex_bytes(it[WF_OUT_PARTIAL], &c.out_partial, &c.out_plen);
	hex_bytes(it[WF_ERR_PARTIAL], &c.err_partial, &c.err_plen);
	c.notify_fd = (int)v[WF_NOTIFY];
	c.timer = v[WF_TIMER];
	c.watchdog = v[WF_WATCHDOG];
	worker_adopt(w, &c);
	free(c.out_partial);
	free(c.err_partial);
	if ((c.ipc_fd = (int)v[WF_IPC]) != -1) {
		hex_bytes(it[WF_IPC_IN], &in, &inlen);
		hex_bytes(it[WF_IPC_OUT], &out, &outlen);
		ipc_adopt(w, c.ipc_fd, in, inlen, (int)v[WF_IPC_SKIP], out,
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
		ids[i++] = (unsigned)cJSON_GetArrayItem(v, WF_PM_ID)->valuedouble;
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
	a->widened = strings_of(cJSON_GetObjectItemCaseSensitive(o,
	    "widened"));
	if (argv_count(a->widened) != argv_count(a->cfg->listen)) {
		argv_free(a->widened);	/* not this config's: as bound */
		a->widened = NULL;
	}
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

/* The hooks of a checked state, taken over. */
static void
hooks_read(const cJSON *list)
{
	const cJSON		*v;
	struct hook_state	 st;
	char			*line;

	cJSON_ArrayForEach(v, list) {
		if (hex_bytes(cJSON_GetObjectItemCaseSensitive(v, "line"),
		    &line, &st.len) == -1)
			continue;	/* (checked) */
		st.what = str_of(v, "what");
		st.pid = (pid_t)num_of(v, "pid");
		st.pidfd = (int)num_of(v, "pidfd");
		st.out = (int)num_of(v, "out");
		st.left = num_of(v, "left");
		st.line = line;
		hooks_adopt(&st);
		free(line);
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
	hooks_read(cJSON_GetObjectItemCaseSensitive(root, "hooks"));
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(root, "apps")) {
		if (app_read(v, cause) == -1)
			return -1;
	}
	return 0;
}
