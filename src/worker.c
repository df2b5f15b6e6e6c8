/*
 * One instance slot of an app and the process it currently runs: the libev
 * watchers (child, timer) and the glue that feeds events to the
 * restart table (supervise.c) and performs the actions it returns. A slot
 * outlives its processes; its counters and stderr tail span restarts.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmd.h"

unsigned	worker_last_id;	/* of the last spawn: ids only grow */
static unsigned	pm_last_id;	/* of the last slot made */

#define CPU_WINDOW	0.5	/* seconds: the shortest a CPU figure spans */

static void	worker_step(struct worker *, enum wevent, int, uint64_t);
static void	stop_next(struct worker *);

static void
child_cb(struct child *c)
{
	struct worker	*w = container_of(c, struct worker, child);
	struct ev_loop	*loop = pmd_loop;
	char		*how;
	uint64_t	 uptime;
	pid_t		 pid = w->pid;

	notify_close(w);
	ipc_close(w);
	ev_timer_stop(loop, &w->watchdog_w);
	free(w->exit_reason);
	w->exit_reason = w->watchdog_fired ? xstrdup("watchdog timeout") :
	    w->sm.state == W_FAILING ? xprintf("not ready: no READY=1 within "
	    "listen_timeout (%llums), and wait_ready says it must be",
	    (unsigned long long)w->app->cfg->listen_timeout) : NULL;
	w->watchdog_fired = 0;
	w->last_status = c->status;
	w->have_status = 1;
	logpipe_release(&w->out);
	logpipe_release(&w->err);
	uptime = pid > 0 ? (uint64_t)((mono_now() - w->started) * 1000) : 0;
	if (pid > 0) {
		/* Whatever the worker left in its process group goes too. */
		kill(-pid, SIGKILL);
		track_del(pid, w->tracked);
		how = status_string(w->last_status);
		log_info("%s:%u: pid %ld %s after %llums%s%s", w->app->name,
		    w->instance, (long)pid, how, (unsigned long long)uptime,
		    w->exec_error ? ": " : "",
		    w->exec_error ? w->exec_error : "");
		event_emit(w->app, w, "exited", NULL, "%s after %llums%s%s",
		    how, (unsigned long long)uptime, w->exit_reason ? ": " : "",
		    w->exit_reason ? w->exit_reason : "");
		free(how);
	}
	w->last_pid = pid;
	w->pid = 0;
	/* An exit nobody asked for, within min_uptime: start reports it. */
	if (pid > 0 && w->sm.want == WANT_UP && w->sm.state != W_STOPPING &&
	    (uptime < w->app->cfg->min_uptime || w->sm.state == W_FAILING)) {
		w->crash_at = mono_now();
		w->crash_uptime = uptime;
	}
	if (w->no_spawn) {
		w->no_spawn = 0;
		w->have_status = 0;
		worker_step(w, E_NOSPAWN, 0, 0);
		if (w->sm.state == W_WAITING)
			log_warn("%s:%u: trying again in %llums (not counted "
			    "as a crash)", w->app->name, w->instance,
			    (unsigned long long)w->sm.delay);
		return;
	}
	worker_step(w, E_EXIT, w->last_status, uptime);
}

static void
timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker	*w = container_of(t, struct worker, timer_w);

	(void)loop; (void)revents;
	/* A stop in steps: past the grace or the message, the signal. */
	if ((w->sm.state == W_STOPPING || w->sm.state == W_FAILING) &&
	    (w->stop_phase == STOP_GRACE || w->stop_phase == STOP_MESSAGE)) {
		stop_next(w);
		return;
	}
	worker_step(w, E_TIMER, 0, 0);
}

/*
 * A process of w (pid) took the app's sockets through pmd-preload.so, or
 * listens on those it inherited: it accepts from now on, so it is online
 * unless READY=1 is what the app waits for.
 */
void
worker_listening(struct worker *w, pid_t pid)
{
	w->handed = 1;
	if (w->sm.state == W_ONLINE)
		w->proven = 1;	/* listen_share: online already */
	if (!w->await_listen || w->sm.state != W_STARTING)
		return;
	w->await_listen = 0;
	w->proven = 1;
	log_info("%s:%u: pid %ld listens", w->app->name, w->instance,
	    (long)pid);
	worker_step(w, E_READY, 0, 0);
}

/* READY=1, or PM2's process.send('ready'): online. */
void
worker_ready(struct worker *w)
{
	if (w->sm.state == W_STARTING || w->sm.state == W_ONLINE)
		w->proven = 1;
	worker_step(w, E_READY, 0, 0);
}

/*
 * The restart policy of w: its app's, but a reload's new worker is not
 * restarted (its exit fails the reload).
 */
static struct policy
worker_policy(const struct worker *w)
{
	const struct app	*a = w->app;
	struct policy		 p;

	p.autorestart = a->cfg->autorestart;
	p.min_uptime = a->cfg->min_uptime;
	p.max_restarts = a->cfg->max_restarts;
	p.restart_delay = a->cfg->restart_delay;
	p.exp_backoff = a->cfg->exp_backoff;
	p.stop_exit_codes = a->cfg->stop_exit_codes;
	p.timeout_online = w->await_listen || (a->cfg->wait_ready &&
	    a->cfg->not_ready == NOT_READY_ONLINE);
	if (w->trial != NULL)
		p.autorestart = 0;
	return p;
}

/*
 * Where instance's stream goes: LOG_DIR/NAME.out.log, or NAME-N.out.log
 * with merge_logs off; out_file and err_file replace the default, with -N
 * before their extension when each instance has its own.
 */
static char *
log_path(const struct app *a, unsigned instance, int stream)
{
	const char	*file = stream == LOG_ERR ? a->cfg->err_file :
			    a->cfg->out_file;
	const char	*what = stream == LOG_ERR ? "err" : "out";
	const char	*dot, *slash;

	/* Container mode: pmd's stdout or stderr, a prefix per worker. */
	if (daemon_container)
		return xprintf("%s:%s:%u", stream == LOG_ERR ? "stderr" :
		    "stdout", a->name, instance);
	if (file == NULL) {
		if (a->cfg->merge_logs)
			return xprintf("%s/%s.%s.log", log_dir, a->name, what);
		return xprintf("%s/%s-%u.%s.log", log_dir, a->name, instance,
		    what);
	}
	if (a->cfg->merge_logs || strcmp(file, "/dev/null") == 0)
		return xstrdup(file);
	dot = strrchr(file, '.');
	slash = strrchr(file, '/');
	if (dot == NULL || (slash != NULL && dot < slash))
		return xprintf("%s-%u", file, instance);
	return xprintf("%.*s-%u%s", (int)(dot - file), file, instance, dot);
}

/*
 * A slot for instance of app, with the id pm_id (a reload's new worker
 * takes its slot's; a resurrect gives the saved one), or a new id if 0.
 */
struct worker *
worker_new(struct app *app, unsigned instance, unsigned pm_id)
{
	struct worker	*w = xcalloc(1, sizeof *w);
	char		*path;
	int		 s;

	w->app = app;
	w->instance = instance;
	w->pm_id = pm_id != 0 ? pm_id : ++pm_last_id;
	if (w->pm_id > pm_last_id)
		pm_last_id = w->pm_id;
	for (s = LOG_OUT; s <= LOG_ERR; s++) {
		path = log_path(app, instance, s);
		*(s == LOG_OUT ? &w->outf : &w->errf) = logfile_open(path,
		    app->name, app->cfg->merge_logs ? -1 : (int)instance, s,
		    app->cfg);
		free(path);
	}
	ev_init(&w->timer_w, timer_cb);
	notify_init(w);
	ev_io_init(&w->notify_w, NULL, -1, EV_READ);
	ipc_init(w);
	return w;
}

/*
 * pmctl update: w's process as the pmd before this one left it. The
 * caller has set the slot's fields (ids, the table's state, counters,
 * texts); here its watchers come back: the pidfd (or, for a spawn that
 * failed and whose exit was not yet handled, that exit again), the log
 * pipes with the lines they had begun, the notify socket, the timers.
 */
void
worker_adopt(struct worker *w, const struct worker_carry *c)
{
	if (w->pid > 0)
		child_watch(&w->child, w->pid, c->pidfd, child_cb);
	else if (worker_busy(w))
		child_unmade(&w->child, w->have_status ? w->last_status :
		    127 << 8, child_cb);
	if (c->out_fd != -1)
		logpipe_adopt(c->out_fd, w->outf, w->instance, NULL, &w->out,
		    c->out_partial, c->out_plen);
	if (c->err_fd != -1)
		logpipe_adopt(c->err_fd, w->errf, w->instance, &w->tail,
		    &w->err, c->err_partial, c->err_plen);
	if (c->notify_fd != -1)
		notify_adopt(w, c->notify_fd);
	if (c->timer >= 0) {
		ev_timer_set(&w->timer_w, c->timer, 0);
		ev_timer_start(pmd_loop, &w->timer_w);
	}
	if (c->watchdog >= 0) {
		ev_timer_set(&w->watchdog_w, c->watchdog, 0);
		ev_timer_start(pmd_loop, &w->watchdog_w);
	}
}

/* Only for a slot with no process left. */
void
worker_free(struct worker *w)
{
	ev_timer_stop(pmd_loop, &w->timer_w);
	ev_timer_stop(pmd_loop, &w->watchdog_w);
	child_unwatch(&w->child);
	notify_close(w);
	ipc_free(w);
	free(w->exit_reason);
	logpipe_release(&w->out);
	logpipe_release(&w->err);
	logfile_unref(w->outf);
	logfile_unref(w->errf);
	free(w->tail);
	free(w->exec_error);
	free(w->status_text);
	free(w);
}

static void
arm(struct worker *w, uint64_t ms)
{
	ev_timer_stop(pmd_loop, &w->timer_w);
	ev_timer_set(&w->timer_w, ms / 1000.0, 0);
	ev_timer_start(pmd_loop, &w->timer_w);
}

/*
 * The next step of stopping w, each with kill_timeout (or the grace) on
 * the timer; SIGKILL comes from the restart table after the last. A worker
 * younger than STOP_YOUNG that has not shown it is ready may not have its
 * handlers yet: the stop waits until it is that old. With
 * shutdown_with_message, "shutdown" goes on its message channel first.
 */
static void
stop_next(struct worker *w)
{
	const struct app_config	*cfg = w->app->cfg;
	double			 young = STOP_YOUNG - (mono_now() - w->started);

	if (w->pid <= 0) {
		arm(w, cfg->kill_timeout);
		return;
	}
	if (w->stop_phase == STOP_NONE && w->sm.state == W_STOPPING &&
	    !w->proven && young > 0) {
		w->stop_phase = STOP_GRACE;
		arm(w, (uint64_t)(young * 1000) + 1);
		return;
	}
	/* (No channel: the signal at once, and no message counted lost.) */
	if (w->stop_phase < STOP_MESSAGE && cfg->shutdown_with_message &&
	    w->ipc.r.fd != -1 && ipc_send(w, "\"shutdown\"") == 0) {
		w->stop_phase = STOP_MESSAGE;
		arm(w, cfg->kill_timeout);
		return;
	}
	if (w->stop_phase == STOP_MESSAGE)
		log_info("%s:%u: pid %ld still running kill_timeout after "
		    "\"shutdown\": sending %s", w->app->name, w->instance,
		    (long)w->pid, signal_name(cfg->kill_signal));
	w->stop_phase = STOP_SIGNAL;
	kill(-w->pid, cfg->kill_signal);
	arm(w, cfg->kill_timeout);
}

/* /dev/null for writing, opened once, for streams that go there. */
static int
dev_null(void)
{
	static int	fd = -1;

	if (fd == -1)
		fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	return fd;
}

/* A new run of w: what the last one left is cleared. */
static void
worker_fresh(struct worker *w)
{
	w->id = ++worker_last_id;
	free(w->exec_error);
	w->exec_error = NULL;
	free(w->status_text);
	w->status_text = NULL;
	w->started = mono_now();
	w->cpu_at = 0;
	w->await_listen = w->proven = w->handed = 0;
	w->stop_phase = STOP_NONE;
	ipc_metrics_clear(w);
}

/* The app's process settings (limits, nice, ...) for proc_spawn. */
static void
spawn_settings(struct worker *w, struct spawn *sp)
{
	const struct app_config	*cfg = w->app->cfg;
	struct spawn_limit	*sl;
	char			*cause;
	size_t			 i;

	for (i = 0; i < LIMIT_COUNT; i++) {
		if (!cfg->limits[i].set)
			continue;
		sl = &sp->limits[sp->nlimits++];
		sl->resource = app_limit_resource[i];
		sl->key = app_limit_key[i];
		sl->lim.rlim_cur = cfg->limits[i].soft == LIMIT_INFINITY ?
		    RLIM_INFINITY : cfg->limits[i].soft;
		sl->lim.rlim_max = cfg->limits[i].hard == LIMIT_INFINITY ?
		    RLIM_INFINITY : cfg->limits[i].hard;
	}
	if (cfg->nice.set) {
		sp->set |= SET_NICE;
		sp->nice = cfg->nice.value;
	}
	if (cfg->oom_score_adj.set) {
		sp->set |= SET_OOM;
		sp->oom_score_adj = cfg->oom_score_adj.value;
	}
	if (cfg->umask.set) {
		sp->set |= SET_UMASK;
		sp->umask = (mode_t)cfg->umask.value;
	}
	if (cfg->cpu_affinity != NULL) {
		if (parse_cpus(cfg->cpu_affinity, &sp->cpus, &cause) == 0)
			sp->set |= SET_CPUS;
		else
			free(cause);	/* checked when it was set */
	}
}

/*
 * What proc_spawn needs for w: its command, environment, ids, cwd, the
 * app's sockets and the message channel (ipc, or -1) as fds 3.., and
 * where its output goes. The caller frees *envp and *fdsp.
 */
static void
spawn_fill(struct worker *w, struct spawn *sp, const char *notify, int ipc,
    int out, int err, char ***envp, int **fdsp)
{
	struct app		*a = w->app;
	struct app_config	*cfg = a->cfg;
	int			*fds;

	memset(sp, 0, sizeof *sp);
	/* The message channel goes after the sockets: fd 3 + nlisten. */
	sp->envp = *envp = env_worker(a, w, notify, ipc != -1 ?
	    3 + (int)a->nlisten : -1, sp->pid_slot);
	fds = *fdsp = xcalloc(a->nlisten + 1, sizeof *fds);
	if (a->nlisten > 0)
		memcpy(fds, listen_sockets(a, w->instance),
		    a->nlisten * sizeof *fds);
	sp->nlisten = a->nlisten;
	if (ipc != -1)
		fds[sp->nlisten++] = ipc;
	sp->listen_fds = fds;
	sp->argv = cfg->argv;
	sp->nofile = &worker_nofile;
	sp->cwd = cfg->cwd;
	sp->set_ids = (cfg->user != NULL || cfg->group != NULL) &&
	    geteuid() == 0;
	sp->uid = cfg->user != NULL ? cfg->uid : geteuid();
	sp->gid = cfg->gid != (gid_t)-1 ? cfg->gid : getegid();
	sp->user = cfg->user != NULL ? cfg->user : "root";
	sp->out_fd = out != -1 ? out : dev_null();
	sp->err_fd = err != -1 ? err : dev_null();
	spawn_settings(w, sp);
}

/* w's process runs (pid, pidfd): watched, its output read, and timed. */
static void
spawn_began(struct worker *w, pid_t pid, int pidfd, int out, int err)
{
	struct app_config	*cfg = w->app->cfg;

	w->pid = pid;
	w->tracked = track_add(pid);
	child_watch(&w->child, pid, pidfd, child_cb);	/* cannot fail */
	if (out != -1)
		logpipe_new(fd_high(out), w->outf, w->instance, NULL, &w->out);
	if (err != -1)
		logpipe_new(fd_high(err), w->errf, w->instance, &w->tail,
		    &w->err);
	if (w->exec_error != NULL) {
		/* Its exit, coming next, carries this into the restart policy. */
		log_warn("%s:%u: cannot start: %s", w->app->name, w->instance,
		    w->exec_error);
		return;
	}
	log_info("%s:%u: started pid %ld (worker %u)", w->app->name,
	    w->instance, (long)pid, w->id);
	event_emit(w->app, w, "started", NULL, "worker %u", w->id);
	notify_watchdog(w);
	/* The program runs: proc_spawn returns after its exec. */
	if (cfg->wait_ready)
		arm(w, cfg->listen_timeout);
	else if (w->await_listen && cfg->min_uptime > 0)
		arm(w, cfg->min_uptime);
	else {
		w->await_listen = 0;
		worker_step(w, E_READY, 0, 0);
	}
}

/*
 * w could not start (errno e, cause): reported as an exit from the next
 * loop iteration, as a real child would, so the restart policy applies
 * and nothing recurses here; for want of resources, as E_NOSPAWN.
 */
static void
spawn_failed(struct worker *w, int e, char *cause)
{
	notify_close(w);
	ipc_close(w);
	log_warn("%s:%u: cannot start: %s", w->app->name, w->instance, cause);
	w->exec_error = cause;
	w->no_spawn = e == EMFILE || e == ENFILE || e == EAGAIN ||
	    e == ENOMEM || e == ENOBUFS;
	w->pid = 0;
	child_unmade(&w->child, 127 << 8, child_cb);
}

static void
close_pipe(int p[2])
{
	if (p[0] != -1) {
		close(p[0]);
		close(p[1]);
	}
}

static void
worker_spawn(struct worker *w)
{
	struct app_config	*cfg = w->app->cfg;
	struct spawn		 sp;
	char			*cause, *notify = NULL, **envp;
	int			 out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int			 ipc = -1, pidfd = -1, e, *fds;
	pid_t			 pid;

	worker_fresh(w);
	/* A stream for /dev/null goes there: no pipe, no fd of ours. */
	if ((!logfile_discards(w->outf) && pipe2(out, O_CLOEXEC) == -1) ||
	    (!logfile_discards(w->errf) && pipe2(err, O_CLOEXEC) == -1)) {
		e = errno;
		cause = xprintf("pipe: %s", strerror(errno));
		goto failed;
	}
	if ((cfg->wait_ready || cfg->watchdog > 0) &&
	    (notify = notify_open(w, &cause)) == NULL) {
		e = errno;
		goto failed;
	}
	if (cfg->ipc)
		ipc = ipc_open(w);
	spawn_fill(w, &sp, notify, ipc, out[1], err[1], &envp, &fds);
	free(notify);
	pid = proc_spawn(&sp, &pidfd, &w->exec_error, &cause);
	e = errno;
	argv_free(envp);
	free(fds);
	if (ipc != -1)
		close(ipc);
	if (pid == -1)
		goto failed;
	if (out[1] != -1)
		close(out[1]);
	if (err[1] != -1)
		close(err[1]);
	spawn_began(w, pid, pidfd, out[0], err[0]);
	return;

failed:
	close_pipe(out);
	close_pipe(err);
	spawn_failed(w, e, cause);
}

/*
 * The table put a starting worker online when its timer ran out (policy
 * timeout_online): say why.
 */
static void
timed_online(struct worker *w)
{
	const struct app_config	*cfg = w->app->cfg;

	if (w->await_listen) {
		/* No bind through pmd-preload.so, but up for min_uptime. */
		w->await_listen = 0;
		w->proven = 1;
		return;
	}
	log_warn("%s:%u: pid %ld sent no ready within listen_timeout (%llums): "
	    "online anyway (wait_ready with not_ready = online, as PM2 does)",
	    w->app->name, w->instance, (long)w->pid,
	    (unsigned long long)cfg->listen_timeout);
	event_emit(w->app, w, "not_ready", NULL, "no ready within "
	    "listen_timeout (%llums): online anyway (not_ready = online)",
	    (unsigned long long)cfg->listen_timeout);
}

static void
worker_step(struct worker *w, enum wevent ev, int status, uint64_t uptime)
{
	struct policy	p = worker_policy(w);
	enum wstate	before = w->sm.state;
	int		actions, not_ready = w->sm.state == W_FAILING;
	unsigned	restarts = w->sm.restarts;

	actions = sm_step(&w->sm, ev, &p, status, uptime);
	if (ev == E_TIMER && before == W_STARTING && w->sm.state == W_ONLINE)
		timed_online(w);
	/* A spawn needs the app's sockets: bound again if they were closed. */
	if ((actions & A_SPAWN) && listen_slot(w->app, w->instance) == -1)
		actions = sm_step(&w->sm, E_NOSOCKET, &p, 0, 0);
	if (actions & A_CANCEL)
		ev_timer_stop(pmd_loop, &w->timer_w);
	if (actions & A_KILL) {
		w->stop_phase = STOP_NONE;
		stop_next(w);
	}
	if ((actions & A_SIGKILL) && w->pid > 0) {
		log_warn("%s:%u: pid %ld still running after kill_timeout, "
		    "sending SIGKILL to its process group", w->app->name,
		    w->instance, (long)w->pid);
		kill(-w->pid, SIGKILL);
	}
	if (actions & A_DELAY)
		arm(w, w->sm.delay);
	if (w->sm.state != before && w->sm.state == W_ERRORED) {
		log_warn("%s:%u: errored: %s", w->app->name, w->instance,
		    sm_reason_name(w->sm.reason));
		event_emit(w->app, w, "errored", NULL, "%s",
		    sm_reason_name(w->sm.reason));
	}
	if (w->sm.state != before && w->sm.state == W_STOPPED)
		event_emit(w->app, w, "stopped", NULL, "%s",
		    w->sm.reason != R_NONE ? sm_reason_name(w->sm.reason) : "");
	if (ev == E_EXIT && w->sm.restarts != restarts)
		event_emit(w->app, w, "restarted", NULL, "restart %u%s",
		    w->sm.restarts, w->sm.state == W_WAITING ? ", after a delay" :
		    "");
	if (w->sm.state != before && w->sm.state == W_ONLINE)
		event_emit(w->app, w, "online", NULL, "%s", "");
	if (actions & A_SPAWN)
		worker_spawn(w);
	else if (w->trial != NULL && ev == E_EXIT)
		w->trial(w, not_ready);
	else if (w->trial != NULL && w->sm.state == W_ONLINE &&
	    before != W_ONLINE)
		w->trial(w, 0);
	daemon_dirty();
}

void
worker_event(struct worker *w, enum wevent ev)
{
	worker_step(w, ev, 0, 0);
}

/* Starting or stopping: a command waiting on it is not done yet. */
int
worker_busy(const struct worker *w)
{
	return w->sm.state == W_STARTING || w->sm.state == W_STOPPING ||
	    w->sm.state == W_FAILING;
}

/* No process, none coming: the slot can be freed. */
int
worker_idle(const struct worker *w)
{
	return w->pid == 0 && !worker_busy(w) && w->sm.state != W_WAITING;
}

void
worker_signal(struct worker *w, int sig)
{
	if (w->pid > 0)
		kill(-w->pid, sig);
}

/*
 * Read w's CPU and memory now: the figures list and show give. CPU is a
 * share of one core over the last window of at least CPU_WINDOW seconds.
 */
void
worker_sample(struct worker *w)
{
	struct pstat	ps;
	double		now = mono_now();

	w->rss = 0;
	w->ticks = 0;
	if (w->pid <= 0 || proc_stat(w->pid, &ps) == -1) {
		w->cpu_pct = 0;
		return;
	}
	w->rss = ps.rss;
	w->ticks = ps.ticks;
	/* A sample belongs to one process: a new pid starts over. */
	if (w->cpu_pid != w->pid) {
		w->cpu_pid = w->pid;
		w->cpu_ticks = 0;
		w->cpu_at = w->started;
		w->cpu_pct = 0;
	}
	/*
	 * Ticks come in 1/CLK_TCK steps: over a short window one tick reads
	 * as hundreds of percent. Keep the last figure until the window is
	 * long enough to mean something.
	 */
	if (now - w->cpu_at >= CPU_WINDOW) {
		w->cpu_pct = (ps.ticks - w->cpu_ticks) /
		    (double)sysconf(_SC_CLK_TCK) / (now - w->cpu_at) * 100;
		w->cpu_ticks = ps.ticks;
		w->cpu_at = now;
	}
}

/* The slot with the id pm_id (a reload's new worker once it has it). */
struct worker *
worker_by_id(unsigned pm_id)
{
	struct app	*a;
	unsigned	 i;

	TAILQ_FOREACH(a, &apps, entry) {
		for (i = 0; i < a->nworkers; i++) {
			if (a->workers[i]->pm_id == pm_id &&
			    a->workers[i]->sm.want != WANT_GONE)
				return a->workers[i];
		}
	}
	return NULL;
}
