/*
 * The restart policy of one worker, as a state x event table of action
 * functions (after s6-supervise). A step changes the worker's state and
 * counters and returns the actions the caller must perform (spawn, kill,
 * arm a timer); it touches no process, timer or file itself, so the whole
 * policy is unit-tested without running anything.
 */
#include <sys/wait.h>

#include <stddef.h>

#include "pmd.h"

typedef int (*sm_action)(struct sm *, const struct policy *, int, uint64_t);

static const sm_action table[W_NSTATES][E_NEVENTS];

static int
act_none(struct sm *sm, const struct policy *p, int status, uint64_t up)
{
	(void)sm; (void)p; (void)status; (void)up;
	return 0;
}

/* A fresh start asked for by the user: counters start over. */
static int
act_start(struct sm *sm, const struct policy *p, int status, uint64_t up)
{
	(void)p; (void)status; (void)up;
	sm->state = W_STARTING;
	sm->want = WANT_UP;
	sm->reason = R_NONE;
	sm->unstable = 0;
	sm->backoff = 0;
	return A_SPAWN;
}

static int
act_start_waiting(struct sm *sm, const struct policy *p, int status,
    uint64_t up)
{
	return A_CANCEL | act_start(sm, p, status, up);
}

static int
act_stop(struct sm *sm, const struct policy *p, int status, uint64_t up)
{
	(void)p; (void)status; (void)up;
	sm->state = W_STOPPING;
	sm->want = WANT_DOWN;
	sm->reason = R_USER;
	return A_KILL;
}

/* Stopping with want up: it starts again once it has exited. */
static int
act_restart(struct sm *sm, const struct policy *p, int status, uint64_t up)
{
	act_stop(sm, p, status, up);
	sm->want = WANT_UP;
	sm->restarts++;
	return A_KILL;
}

/* WAITING or ERRORED has no process: stopping is immediate. */
static int
act_stopped(struct sm *sm, const struct policy *p, int status, uint64_t up)
{
	int	was_waiting = sm->state == W_WAITING;

	(void)p; (void)status; (void)up;
	sm->state = W_STOPPED;
	sm->want = WANT_DOWN;
	sm->reason = R_USER;
	return was_waiting ? A_CANCEL : 0;
}

/* Stopped already: it is now held stopped, by the user. */
static int
act_hold(struct sm *sm, const struct policy *p, int status, uint64_t up)
{
	(void)p; (void)status; (void)up;
	sm->want = WANT_DOWN;
	sm->reason = R_USER;
	return 0;
}

/* The slot goes: stopped as a stop would, and wanted gone. */
static int
act_remove(struct sm *sm, const struct policy *p, int status, uint64_t up)
{
	int	actions = table[sm->state][E_STOP](sm, p, status, up);

	sm->want = WANT_GONE;
	return actions;
}

/*
 * It cannot start without the app's sockets: errored, for that reason,
 * until a start finds them bound.
 */
static int
act_no_socket(struct sm *sm, const struct policy *p, int status, uint64_t up)
{
	int	was_waiting = sm->state == W_WAITING;

	(void)p; (void)status; (void)up;
	sm->state = W_ERRORED;
	sm->want = WANT_UP;
	sm->reason = R_NO_SOCKET;
	return was_waiting ? A_CANCEL : 0;
}

static int
act_restart_stopping(struct sm *sm, const struct policy *p, int status,
    uint64_t up)
{
	(void)p; (void)status; (void)up;
	sm->want = WANT_UP;
	return 0;
}

static int
act_stop_stopping(struct sm *sm, const struct policy *p, int status,
    uint64_t up)
{
	(void)p; (void)status; (void)up;
	sm->want = WANT_DOWN;
	return 0;
}

static int
act_restart_idle(struct sm *sm, const struct policy *p, int status,
    uint64_t up)
{
	int	cancel = sm->state == W_WAITING ? A_CANCEL : 0;
	int	actions;

	actions = act_start(sm, p, status, up);
	sm->restarts++;
	return cancel | actions;
}

static int
act_reset(struct sm *sm, const struct policy *p, int status, uint64_t up)
{
	(void)p; (void)status; (void)up;
	sm->restarts = 0;
	sm->unstable = 0;
	sm->backoff = 0;
	return 0;
}

static int
act_reset_errored(struct sm *sm, const struct policy *p, int status,
    uint64_t up)
{
	act_reset(sm, p, status, up);
	return act_start(sm, p, status, up);
}

/* READY=1 (or the exec, without wait_ready): stop the listen_timeout. */
static int
act_ready(struct sm *sm, const struct policy *p, int status, uint64_t up)
{
	(void)p; (void)status; (void)up;
	sm->state = W_ONLINE;
	sm->spawn_backoff = 0;
	return A_CANCEL;
}

/*
 * pmd could make no process (out of fds, memory or pids): not the app's
 * fault, so neither a restart nor an unstable start. Try again later,
 * waiting longer each time.
 */
static int
act_no_spawn(struct sm *sm, const struct policy *p, int status, uint64_t up)
{
	(void)p; (void)status; (void)up;
	sm->spawn_backoff = sm->spawn_backoff == 0 ? SPAWN_RETRY :
	    sm->spawn_backoff * 2;
	if (sm->spawn_backoff > SPAWN_RETRY_MAX)
		sm->spawn_backoff = SPAWN_RETRY_MAX;
	sm->delay = sm->spawn_backoff;
	sm->state = W_WAITING;
	return A_DELAY;
}

/*
 * The start's timer ran out. Where the policy says so (a worker that did
 * not bind through pmd within min_uptime, PM2's wait_ready), online.
 * Otherwise listen_timeout passed without READY=1: a failed start. Stop it as a
 * stop would (kill_signal, then SIGKILL at the next expiry); its exit then
 * counts as unstable, whatever its uptime (act_failed).
 */
static int
act_not_ready(struct sm *sm, const struct policy *p, int status, uint64_t up)
{
	if (p->timeout_online)
		return act_ready(sm, p, status, up);
	sm->state = W_FAILING;
	return A_KILL;
}

static int
exit_code_listed(const struct policy *p, int status)
{
	int	code;

	if (!WIFEXITED(status) || p->stop_exit_codes == NULL)
		return 0;
	code = WEXITSTATUS(status);
	return (p->stop_exit_codes[code / 8] >> (code % 8)) & 1;
}

/* The process died on its own: restart now, later, or give up. */
static int
act_exited(struct sm *sm, const struct policy *p, int status, uint64_t up)
{
	if (up >= p->min_uptime)
		sm->unstable = 0;
	if (up >= BACKOFF_RESET)
		sm->backoff = 0;
	if (exit_code_listed(p, status)) {
		sm->state = W_STOPPED;
		sm->reason = R_EXIT_CODE;
		return 0;
	}
	if (!p->autorestart) {
		sm->state = W_STOPPED;
		sm->reason = R_NO_RESTART;
		return 0;
	}
	if (up < p->min_uptime && ++sm->unstable > p->max_restarts) {
		sm->state = W_ERRORED;
		sm->reason = R_UNSTABLE;
		return 0;
	}
	sm->restarts++;
	sm->reason = R_NONE;
	if (p->exp_backoff > 0) {
		sm->backoff = sm->backoff == 0 ? p->exp_backoff :
		    sm->backoff + sm->backoff / 2;
		if (sm->backoff > BACKOFF_MAX)
			sm->backoff = BACKOFF_MAX;
		sm->delay = sm->backoff;
	} else
		sm->delay = p->restart_delay;
	if (sm->delay == 0) {
		sm->state = W_STARTING;
		return A_SPAWN;
	}
	sm->state = W_WAITING;
	return A_DELAY;
}

/* The exit we asked for: done, or start again for a restart. */
static int
act_stop_done(struct sm *sm, const struct policy *p, int status, uint64_t up)
{
	(void)p; (void)status; (void)up;
	if (sm->want == WANT_UP) {
		sm->state = W_STARTING;
		sm->reason = R_NONE;
		sm->unstable = 0;
		sm->backoff = 0;
		return A_CANCEL | A_SPAWN;
	}
	sm->state = W_STOPPED;
	return A_CANCEL;
}

/* A failed start has exited: unstable, whatever its uptime. */
static int
act_failed(struct sm *sm, const struct policy *p, int status, uint64_t up)
{
	(void)up;
	return A_CANCEL | act_exited(sm, p, status, 0);
}

static int
act_kill_timeout(struct sm *sm, const struct policy *p, int status,
    uint64_t up)
{
	(void)sm; (void)p; (void)status; (void)up;
	return A_SIGKILL;
}

static int
act_delay_over(struct sm *sm, const struct policy *p, int status,
    uint64_t up)
{
	(void)p; (void)status; (void)up;
	sm->state = W_STARTING;
	return A_SPAWN;
}

static const sm_action table[W_NSTATES][E_NEVENTS] = {
	/*		E_START		E_STOP		E_RESTART
	 *		E_RESET		E_READY		E_EXIT		E_TIMER
	 *		E_NOSPAWN	E_NOSOCKET	E_REMOVE */
	[W_STOPPED] = {	act_start,	act_hold,	act_restart_idle,
			act_reset,	act_none,	act_none,	act_none,
			act_none,	act_no_socket, act_remove },
	[W_STARTING] = { act_none,	act_stop,	act_restart,
			act_reset,	act_ready,	act_exited,	act_not_ready,
			act_no_spawn,	act_no_socket, act_remove },
	[W_ONLINE] = {	act_none,	act_stop,	act_restart,
			act_reset,	act_none,	act_exited,	act_none,
			act_none,	act_none, act_remove },
	[W_STOPPING] = { act_restart_stopping, act_stop_stopping,
			act_restart_stopping,
			act_reset,	act_none,	act_stop_done,
			act_kill_timeout, act_stop_done, act_none, act_remove },
	[W_WAITING] = {	act_start_waiting, act_stopped,	act_restart_idle,
			act_reset,	act_none,	act_none,
			act_delay_over,	act_none,	act_no_socket, act_remove },
	[W_ERRORED] = {	act_start,	act_stopped,	act_restart_idle,
			act_reset_errored, act_none,	act_none,	act_none,
			act_none,	act_no_socket, act_remove },
	[W_FAILING] = {	act_none,	act_stop,	act_restart,
			act_reset,	act_none,	act_failed,
			act_kill_timeout, act_none,	act_none, act_remove },
};

/*
 * Feed one event. status and uptime (ms) matter for E_EXIT only. Returns
 * the A_* actions to perform; sm->delay says how long for A_DELAY.
 */
int
sm_step(struct sm *sm, enum wevent ev, const struct policy *p, int status,
    uint64_t uptime)
{
	return table[sm->state][ev](sm, p, status, uptime);
}

/*
 * A worker that takes over from another (a reload's new worker) goes on
 * with its restart count; one more when it replaces it as a restart
 * would (over max_memory_restart).
 */
void
sm_succeed(struct sm *sm, const struct sm *from, int restart)
{
	sm->restarts = from->restarts + (restart != 0);
}

const char *
sm_state_name(enum wstate s)
{
	static const char *const names[W_NSTATES] = {
		"stopped", "starting", "online", "stopping", "waiting",
		"errored", "stopping",
	};

	return s < W_NSTATES ? names[s] : "unknown";
}

const char *
sm_reason_name(enum wreason r)
{
	switch (r) {
	case R_USER:
		return "stopped by command";
	case R_EXIT_CODE:
		return "exit code listed in stop_exit_codes";
	case R_NO_RESTART:
		return "exited and autorestart is off";
	case R_UNSTABLE:
		return "too many unstable restarts (max_restarts)";
	case R_NO_SOCKET:
		return "its listen sockets could not be bound";
	default:
		return "";
	}
}
