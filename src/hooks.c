/*
 * Hooks: a command run when an event happens (hook_exited, hook_restarted,
 * hook_errored, hook_online, hook_reload_failed, hook_watchdog), the app's
 * and the [daemon]'s. Like command, it is split without a shell, and it
 * runs as the app's user, in its cwd, with PMD_EVENT, PMD_APP,
 * PMD_INSTANCE, PMD_PID, PMD_EXIT_CODE or PMD_EXIT_SIGNAL and PMD_REASON.
 * The loop never waits for one: at most HOOKS_MAX run at once (the rest
 * are skipped, counted and logged at most every SKIP_WARN seconds), one
 * still running after hook_timeout (HOOK_TIMEOUT) is killed, and what they
 * print goes to pmd's log. A hook's slot ends when the hook exits.
 *
 * pmd runs each hook through itself (pmd --hook-runner CMD...): the runner
 * is the subreaper of whatever the hook starts, so when the hook exits it
 * kills what is left, processes that left the hook's process group or
 * session (setsid) included, says how many, and exits as the hook did.
 * Should one still hold the output pipe, pmd closes its end.
 */
#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmd.h"

#define HOOKS_MAX	4
#define HOOK_TIMEOUT	30000	/* ms, unless [daemon] hook_timeout */
#define SKIP_WARN	10.0	/* seconds between two "skipped" warnings */

extern char **environ;

struct hook_run {
	LIST_ENTRY(hook_run)	 entry;
	char			*what;		/* "hook_exited of web:0" */
	pid_t			 pid;
	struct child		 child;
	ev_timer		 timer_w;
	ev_io			 out_w;
	char			 line[HOOK_LINE];
	size_t			 len;
};

static LIST_HEAD(, hook_run) runs = LIST_HEAD_INITIALIZER(runs);
static unsigned		 nruns;
static unsigned long	 hooks_skipped;

static void
hook_end(struct hook_run *h)
{
	if (h->out_w.fd != -1) {
		ev_io_stop(pmd_loop, &h->out_w);
		close(h->out_w.fd);
		h->out_w.fd = -1;
	}
	if (h->pid > 0)
		return;		/* its exit frees it */
	ev_timer_stop(pmd_loop, &h->timer_w);
	child_unwatch(&h->child);
	LIST_REMOVE(h, entry);
	nruns--;
	free(h->what);
	free(h);
}

static void
hook_flush(struct hook_run *h)
{
	if (h->len > 0)
		log_info("%s: %.*s", h->what, (int)h->len, h->line);
	h->len = 0;
}

/* Log what h printed: 1 at the end of its output, 0 for more to come. */
static int
hook_read(struct hook_run *h)
{
	char		 buf[4096];
	ssize_t		 n, i;

	n = read(h->out_w.fd, buf, sizeof buf);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		hook_flush(h);
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (buf[i] == '\n' || h->len == sizeof h->line)
			hook_flush(h);
		if (buf[i] != '\n')
			h->line[h->len++] = buf[i];
	}
	return 0;
}

static void
hook_out_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct hook_run	*h = container_of(io, struct hook_run, out_w);

	(void)loop; (void)revents;
	if (hook_read(h))
		hook_end(h);
}

static void
hook_child_cb(struct child *c)
{
	struct hook_run	*h = container_of(c, struct hook_run, child);
	char		*how = status_string(c->status);

	if (!WIFEXITED(c->status) || WEXITSTATUS(c->status) != 0)
		log_warn("%s: %s", h->what, how);
	free(how);
	/* Whatever it left in its process group goes with it. */
	kill(-h->pid, SIGKILL);
	h->pid = 0;
	/*
	 * Its slot ends now. What it wrote before it exited is read; a
	 * pipe still open after that is held by processes that escaped its
	 * process group: they lose it.
	 */
	if (h->out_w.fd != -1 && !hook_read(h)) {
		hook_flush(h);
		log_warn("%s: exited, but processes it started in another "
		    "session still hold its output; no longer read", h->what);
	}
	hook_end(h);
}

static void
hook_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct hook_run	*h = container_of(t, struct hook_run, timer_w);

	(void)loop; (void)revents;
	if (h->pid <= 0)
		return;
	log_warn("%s: still running after hook_timeout: killed", h->what);
	kill(-h->pid, SIGKILL);
}

/* argv (taken) behind pmd --hook-runner, where pmd's path is known. */
static char **
runner_argv(char **argv)
{
	static char	 self[PATH_MAX];
	char		**out;
	size_t		 n = argv_count(argv);
	ssize_t		 len;

	if (self[0] == '\0') {
		if ((len = readlink("/proc/self/exe", self,
		    sizeof self - 1)) <= 0)
			return argv;
		self[len] = '\0';
	}
	out = xcalloc(n + 3, sizeof *out);
	out[0] = xstrdup(self);
	out[1] = xstrdup(HOOK_RUNNER);
	memcpy(out + 2, argv, (n + 1) * sizeof *out);
	free(argv);
	return out;
}

static void
env_put(char ***envp, size_t *n, char *entry)
{
	*envp = xrealloc(*envp, (*n + 2) * sizeof **envp);
	(*envp)[(*n)++] = entry;
	(*envp)[*n] = NULL;
}

static void
env_add(char ***envp, size_t *n, const char *key, const char *value)
{
	env_put(envp, n, xprintf("%s=%s", key, value));
}

/* Too many hooks run already: skipped, said at most every SKIP_WARN. */
static int
hook_too_many(const char *key, const struct app *a)
{
	static double	warned = -SKIP_WARN;

	if (nruns < HOOKS_MAX)
		return 0;
	hooks_skipped++;
	if (mono_now() - warned >= SKIP_WARN) {
		log_warn("%s of %s: skipped: %d hooks run already (%lu skipped "
		    "so far; said at most every %.0fs)", key, a != NULL ?
		    a->name : "pmd", HOOKS_MAX, hooks_skipped, SKIP_WARN);
		warned = mono_now();
	}
	return 1;
}

/*
 * A hook's environment: pmd's own (less what is pmd's, for its workers),
 * and the event: PMD_EVENT, PMD_REASON, PMD_APP, and for a worker its
 * instance, pid and how it exited.
 */
static char **
hook_env(const struct app *a, const struct worker *w, const struct event *e)
{
	char	**envp = NULL, buf[32];
	size_t	  n = 0, i;

	for (i = 0; environ[i] != NULL; i++) {
		if (strncmp(environ[i], "PMD_", 4) != 0 &&
		    strncmp(environ[i], "NOTIFY_SOCKET=", 14) != 0 &&
		    strncmp(environ[i], "LISTEN_", 7) != 0)
			env_put(&envp, &n, xstrdup(environ[i]));
	}
	env_add(&envp, &n, "PMD_EVENT", e->type);
	env_add(&envp, &n, "PMD_REASON", e->text);
	if (a != NULL)
		env_add(&envp, &n, "PMD_APP", a->name);
	if (w == NULL)
		return envp;
	snprintf(buf, sizeof buf, "%u", w->instance);
	env_add(&envp, &n, "PMD_INSTANCE", buf);
	snprintf(buf, sizeof buf, "%ld", e->pid);
	env_add(&envp, &n, "PMD_PID", buf);
	if (w->have_status && WIFEXITED(w->last_status)) {
		snprintf(buf, sizeof buf, "%d", WEXITSTATUS(w->last_status));
		env_add(&envp, &n, "PMD_EXIT_CODE", buf);
	} else if (w->have_status && WIFSIGNALED(w->last_status))
		env_add(&envp, &n, "PMD_EXIT_SIGNAL",
		    signal_name(WTERMSIG(w->last_status)));
	return envp;
}

/* A hook runs as the app's user, in its cwd; its output into out. */
static void
hook_spawn_fill(struct spawn *sp, const struct app_config *cfg, char **argv,
    char **envp, int out)
{
	memset(sp, 0, sizeof *sp);
	sp->argv = argv;
	sp->envp = envp;
	sp->cwd = cfg != NULL ? cfg->cwd : "/";
	sp->set_ids = cfg != NULL && (cfg->user != NULL || cfg->group != NULL) &&
	    geteuid() == 0;
	sp->uid = cfg != NULL && cfg->user != NULL ? cfg->uid : geteuid();
	sp->gid = cfg != NULL && cfg->gid != (gid_t)-1 ? cfg->gid : getegid();
	sp->user = cfg != NULL && cfg->user != NULL ? cfg->user : "root";
	sp->out_fd = out;
	sp->err_fd = out;
}

/* The hook runs (pid, pidfd; its output on fd out): watched and timed. */
static void
hook_began(const char *key, const struct app *a, const struct worker *w,
    pid_t pid, int pidfd, int out, char *exec_error)
{
	struct hook_run	*h = xcalloc(1, sizeof *h);

	if (w != NULL)
		h->what = xprintf("%s of %s:%u", key, a->name, w->instance);
	else
		h->what = xprintf("%s of %s", key, a != NULL ? a->name : "pmd");
	h->pid = pid;
	if (exec_error != NULL) {
		log_warn("%s: cannot run: %s", h->what, exec_error);
		free(exec_error);
	}
	fd_nonblock(out);
	ev_io_init(&h->out_w, hook_out_cb, out, EV_READ);
	ev_io_start(pmd_loop, &h->out_w);
	child_watch(&h->child, pid, pidfd, hook_child_cb);	/* cannot fail */
	ev_timer_init(&h->timer_w, hook_timer_cb, (config != NULL &&
	    config->hook_timeout_ms > 0 ? config->hook_timeout_ms :
	    HOOK_TIMEOUT) / 1000.0, 0);
	ev_timer_start(pmd_loop, &h->timer_w);
	LIST_INSERT_HEAD(&runs, h, entry);
	nruns++;
}

static void
hook_run(const char *key, const char *text, const struct app *a,
    const struct worker *w, const struct event *e)
{
	struct spawn	 sp;
	char		**argv, **envp, *cause, *exec_error = NULL;
	int		  p[2], pidfd = -1;
	pid_t		  pid;

	if (hook_too_many(key, a))
		return;
	if (split_command(text, &argv, &cause) == -1) {
		log_warn("%s: %s", key, cause);
		free(cause);
		return;
	}
	argv = runner_argv(argv);
	if (pipe2(p, O_CLOEXEC) == -1) {
		log_warn("%s: pipe: %s", key, strerror(errno));
		argv_free(argv);
		return;
	}
	envp = hook_env(a, w, e);
	hook_spawn_fill(&sp, a != NULL ? a->cfg : NULL, argv, envp, p[1]);
	pid = proc_spawn(&sp, &pidfd, &exec_error, &cause);
	close(p[1]);
	argv_free(argv);
	argv_free(envp);
	if (pid == -1) {
		log_warn("%s: %s", key, cause);
		free(cause);
		close(p[0]);
		return;
	}
	hook_began(key, a, w, pid, pidfd, p[0], exec_error);
}

/*
 * Kill every child left (orphans come to us: we are their subreaper), and
 * theirs as they come, until none is left. Returns how many were killed.
 */
static unsigned
kill_left(void)
{
	char		 path[64], buf[4096], *p, *end;
	unsigned	 killed = 0;
	ssize_t		 n;
	long		 pid;
	int		 fd, found;

	snprintf(path, sizeof path, "/proc/self/task/%ld/children",
	    (long)getpid());
	do {
		found = 0;
		/* Those that exited by themselves are not counted as killed. */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
			n = read(fd, buf, sizeof buf - 1);
			close(fd);
			buf[n > 0 ? n : 0] = '\0';
			/* Each one killed and reaped: its own come to us next. */
			for (p = buf; (pid = strtol(p, &end, 10)) > 0; p = end) {
				if (kill((pid_t)pid, SIGKILL) == 0)
					killed++;
				while (waitpid((pid_t)pid, NULL, 0) == -1 &&
				    errno == EINTR)
					;
				found = 1;
			}
		}
	} while (found);
	return killed;
}

/*
 * pmd --hook-runner CMD [ARGS]: run CMD as a child, then kill whatever it
 * left; exit as CMD did. Its output goes where the runner's does.
 */
int
hook_runner(char **argv)
{
	unsigned	 killed;
	pid_t		 pid;
	int		 status;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		dprintf(STDERR_FILENO, "pmd: hook: PR_SET_CHILD_SUBREAPER: %s; "
		    "what the hook leaves behind may stay\n", strerror(errno));
	switch (pid = fork()) {
	case -1:
		dprintf(STDERR_FILENO, "pmd: hook: fork: %s\n", strerror(errno));
		return 127;
	case 0:
		execvp(argv[0], argv);
		dprintf(STDERR_FILENO, "cannot run %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if ((killed = kill_left()) > 0)
		dprintf(STDERR_FILENO, "pmd: killed %u process%s the hook left "
		    "behind\n", killed, killed == 1 ? "" : "es");
	if (WIFSIGNALED(status)) {
		signal(WTERMSIG(status), SIG_DFL);
		raise(WTERMSIG(status));
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* e happened (to a's worker w): run the hooks set for it. */
void
hooks_event(const struct app *a, const struct worker *w,
    const struct event *e)
{
	int	i;
	char	key[64];

	for (i = 0; i < HOOK_COUNT; i++) {
		if (strcmp(e->type, hook_events[i]) != 0)
			continue;
		snprintf(key, sizeof key, "hook_%s", hook_events[i]);
		for (char *p = key; *p != '\0'; p++)
			*p = *p == '-' ? '_' : *p;
		if (a != NULL && a->cfg->hooks[i] != NULL)
			hook_run(key, a->cfg->hooks[i], a, w, e);
		if (config != NULL && config->hooks[i] != NULL)
			hook_run(key, config->hooks[i], a, w, e);
	}
}

/* pmctl update: each hook still running, for the state. */
void
hooks_each(void (*fn)(const struct hook_state *, void *), void *arg)
{
	struct hook_run		*h;
	struct hook_state	 st;

	LIST_FOREACH(h, &runs, entry) {
		st.what = h->what;
		st.pid = h->pid;
		st.pidfd = child_pidfd(&h->child);
		st.out = h->out_w.fd;
		st.left = ev_timer_remaining(pmd_loop, &h->timer_w);
		st.line = h->line;
		st.len = h->len;
		fn(&st, arg);
	}
}

/*
 * pmctl update: a hook the pmd before this one ran, taken over (its fds
 * are this pmd's now): its output read and logged, its exit reaped, its
 * timeout kept, its slot counted.
 */
void
hooks_adopt(const struct hook_state *st)
{
	struct hook_run	*h = xcalloc(1, sizeof *h);

	h->what = xstrdup(st->what);
	h->pid = st->pid;
	h->len = st->len < sizeof h->line ? st->len : sizeof h->line;
	if (h->len > 0)
		memcpy(h->line, st->line, h->len);
	ev_io_init(&h->out_w, hook_out_cb, st->out, EV_READ);
	if (st->out != -1)
		ev_io_start(pmd_loop, &h->out_w);
	if (child_watch(&h->child, st->pid, st->pidfd, hook_child_cb) == -1)
		child_unmade(&h->child, 0, hook_child_cb);	/* gone */
	ev_timer_init(&h->timer_w, hook_timer_cb, st->left > 0 ? st->left :
	    0.001, 0);
	ev_timer_start(pmd_loop, &h->timer_w);
	LIST_INSERT_HEAD(&runs, h, entry);
	nruns++;
}

/* At exit: the hooks still running are killed, not left behind. */
void
hooks_free(void)
{
	struct hook_run	*h;

	while ((h = LIST_FIRST(&runs)) != NULL) {
		if (h->pid > 0) {
			kill(-h->pid, SIGKILL);
			while (waitpid(h->pid, NULL, 0) == -1 && errno == EINTR)
				;
			h->pid = 0;
		}
		hook_end(h);
	}
}
