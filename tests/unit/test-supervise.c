/* The restart table (supervise.c), driven event by event: no processes. */
#include <sys/wait.h>

#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pmd.h"

#define EXITED(code)	((code) << 8)
#define KILLED(sig)	(sig)

static uint8_t	 codes[32];
static struct policy p;

static int
setup(void **state)
{
	(void)state;
	memset(codes, 0, sizeof codes);
	codes[0] = 1;		/* stop_exit_codes = 0 */
	p.autorestart = 1;
	p.min_uptime = 1000;
	p.max_restarts = 3;
	p.restart_delay = 0;
	p.exp_backoff = 0;
	p.stop_exit_codes = codes;
	p.timeout_online = 0;
	return 0;
}

static struct sm
running(void)
{
	struct sm	sm = { 0 };

	assert_int_equal(sm_step(&sm, E_START, &p, 0, 0), A_SPAWN);
	assert_int_equal(sm.state, W_STARTING);
	/* Ready ends the listen_timeout, if one was armed. */
	assert_int_equal(sm_step(&sm, E_READY, &p, 0, 0), A_CANCEL);
	assert_int_equal(sm.state, W_ONLINE);
	return sm;
}

static void
test_not_ready_in_time_is_a_failed_start(void **state)
{
	struct sm	sm = { 0 };

	(void)state;
	sm_step(&sm, E_START, &p, 0, 0);
	/* listen_timeout: kill_signal first, SIGKILL at the kill_timeout. */
	assert_int_equal(sm_step(&sm, E_TIMER, &p, 0, 0), A_KILL);
	assert_int_equal(sm.state, W_FAILING);
	assert_string_equal(sm_state_name(sm.state), "stopping");
	assert_int_equal(sm_step(&sm, E_READY, &p, 0, 0), 0);	/* too late */
	assert_int_equal(sm.state, W_FAILING);
	assert_int_equal(sm_step(&sm, E_TIMER, &p, 0, 0), A_SIGKILL);
	/* Its exit is unstable however long it ran, and restarts. */
	assert_int_equal(sm_step(&sm, E_EXIT, &p, KILLED(SIGKILL), 60000),
	    A_CANCEL | A_SPAWN);
	assert_int_equal(sm.unstable, 1);
	assert_int_equal(sm.state, W_STARTING);
	/* Ready in time this once. */
	assert_int_equal(sm_step(&sm, E_READY, &p, 0, 0), A_CANCEL);
	assert_int_equal(sm.state, W_ONLINE);
}

static void
test_a_timeout_that_means_online(void **state)
{
	struct sm	sm = { 0 };

	(void)state;
	/* No bind through pmd by min_uptime, or PM2's wait_ready: online. */
	p.timeout_online = 1;
	sm_step(&sm, E_START, &p, 0, 0);
	assert_int_equal(sm_step(&sm, E_TIMER, &p, 0, 0), A_CANCEL);
	assert_int_equal(sm.state, W_ONLINE);
	/* Its exit later is an ordinary one. */
	assert_int_equal(sm_step(&sm, E_EXIT, &p, EXITED(1), 60000), A_SPAWN);
	assert_int_equal(sm.unstable, 0);
	p.timeout_online = 0;
}

static void
test_crash_restarts_at_once(void **state)
{
	struct sm	sm = running();

	(void)state;
	assert_int_equal(sm_step(&sm, E_EXIT, &p, KILLED(SIGKILL), 5000),
	    A_SPAWN);
	assert_int_equal(sm.state, W_STARTING);
	assert_int_equal(sm.restarts, 1);
	assert_int_equal(sm.unstable, 0);
}

static void
test_unstable_starts_end_errored(void **state)
{
	struct sm	sm = running();
	unsigned	i;

	(void)state;
	/* max_restarts = 3: three quick crashes restart, the fourth gives up. */
	for (i = 1; i <= 3; i++) {
		assert_int_equal(sm_step(&sm, E_EXIT, &p, EXITED(1), 10),
		    A_SPAWN);
		assert_int_equal(sm.unstable, i);
	}
	assert_int_equal(sm_step(&sm, E_EXIT, &p, EXITED(1), 10), 0);
	assert_int_equal(sm.state, W_ERRORED);
	assert_int_equal(sm.reason, R_UNSTABLE);
	assert_int_equal(sm.restarts, 3);
}

static void
test_stable_run_resets_unstable(void **state)
{
	struct sm	sm = running();

	(void)state;
	sm_step(&sm, E_EXIT, &p, EXITED(1), 10);
	sm_step(&sm, E_EXIT, &p, EXITED(1), 10);
	assert_int_equal(sm.unstable, 2);
	/* Up for min_uptime: the count starts over. */
	assert_int_equal(sm_step(&sm, E_EXIT, &p, EXITED(1), 1000), A_SPAWN);
	assert_int_equal(sm.unstable, 0);
}

static void
test_stop_exit_codes(void **state)
{
	struct sm	sm = running();

	(void)state;
	assert_int_equal(sm_step(&sm, E_EXIT, &p, EXITED(0), 10), 0);
	assert_int_equal(sm.state, W_STOPPED);
	assert_int_equal(sm.reason, R_EXIT_CODE);
	/* A signal is never an exit code. */
	sm = running();
	assert_int_equal(sm_step(&sm, E_EXIT, &p, KILLED(SIGTERM), 10),
	    A_SPAWN);
}

static void
test_autorestart_off(void **state)
{
	struct sm	sm = running();

	(void)state;
	p.autorestart = 0;
	assert_int_equal(sm_step(&sm, E_EXIT, &p, EXITED(2), 5000), 0);
	assert_int_equal(sm.state, W_STOPPED);
	assert_int_equal(sm.reason, R_NO_RESTART);
}

static void
test_restart_delay(void **state)
{
	struct sm	sm = running();

	(void)state;
	p.restart_delay = 250;
	assert_int_equal(sm_step(&sm, E_EXIT, &p, EXITED(1), 5000), A_DELAY);
	assert_int_equal(sm.state, W_WAITING);
	assert_int_equal(sm.delay, 250);
	assert_int_equal(sm_step(&sm, E_TIMER, &p, 0, 0), A_SPAWN);
	assert_int_equal(sm.state, W_STARTING);
}

static void
test_exp_backoff(void **state)
{
	struct sm	sm = running();
	uint64_t	want[] = { 100, 150, 225, 337, 505 };
	size_t		i;

	(void)state;
	p.exp_backoff = 100;
	p.max_restarts = 100;
	for (i = 0; i < nitems(want); i++) {
		assert_int_equal(sm_step(&sm, E_EXIT, &p, EXITED(1), 10),
		    A_DELAY);
		assert_int_equal(sm.delay, want[i]);
		sm_step(&sm, E_TIMER, &p, 0, 0);
	}
	/* Capped at 15 s. */
	for (i = 0; i < 20; i++) {
		sm_step(&sm, E_EXIT, &p, EXITED(1), 10);
		sm_step(&sm, E_TIMER, &p, 0, 0);
	}
	assert_int_equal(sm.delay, BACKOFF_MAX);
	/* 30 s up resets it. */
	sm_step(&sm, E_EXIT, &p, EXITED(1), BACKOFF_RESET);
	assert_int_equal(sm.delay, 100);
}

static void
test_stop_kills_then_sigkill(void **state)
{
	struct sm	sm = running();

	(void)state;
	assert_int_equal(sm_step(&sm, E_STOP, &p, 0, 0), A_KILL);
	assert_int_equal(sm.state, W_STOPPING);
	assert_int_equal(sm_step(&sm, E_TIMER, &p, 0, 0), A_SIGKILL);
	assert_int_equal(sm.state, W_STOPPING);
	/* The exit we asked for is not a crash: no restart. */
	assert_int_equal(sm_step(&sm, E_EXIT, &p, KILLED(SIGKILL), 10),
	    A_CANCEL);
	assert_int_equal(sm.state, W_STOPPED);
	assert_int_equal(sm.reason, R_USER);
	assert_int_equal(sm.restarts, 0);
}

static void
test_restart_stops_then_starts(void **state)
{
	struct sm	sm = running();

	(void)state;
	assert_int_equal(sm_step(&sm, E_RESTART, &p, 0, 0), A_KILL);
	assert_int_equal(sm.state, W_STOPPING);
	assert_int_equal(sm_step(&sm, E_EXIT, &p, KILLED(SIGTERM), 10),
	    A_CANCEL | A_SPAWN);
	assert_int_equal(sm.state, W_STARTING);
	assert_int_equal(sm.restarts, 1);
}

static void
test_stop_while_waiting(void **state)
{
	struct sm	sm = running();

	(void)state;
	p.restart_delay = 1000;
	sm_step(&sm, E_EXIT, &p, EXITED(1), 5000);
	assert_int_equal(sm.state, W_WAITING);
	assert_int_equal(sm_step(&sm, E_STOP, &p, 0, 0), A_CANCEL);
	assert_int_equal(sm.state, W_STOPPED);
	/* A late timer does nothing. */
	assert_int_equal(sm_step(&sm, E_TIMER, &p, 0, 0), 0);
}

static void
test_start_during_stop_restarts(void **state)
{
	struct sm	sm = running();

	(void)state;
	sm_step(&sm, E_STOP, &p, 0, 0);
	assert_int_equal(sm_step(&sm, E_START, &p, 0, 0), 0);
	assert_int_equal(sm_step(&sm, E_EXIT, &p, EXITED(0), 10),
	    A_CANCEL | A_SPAWN);
	assert_int_equal(sm.state, W_STARTING);
}

static void
test_errored_cleared_by_restart_and_reset(void **state)
{
	struct sm	sm = running();

	(void)state;
	p.max_restarts = 0;
	assert_int_equal(sm_step(&sm, E_EXIT, &p, EXITED(1), 10), 0);
	assert_int_equal(sm.state, W_ERRORED);
	assert_int_equal(sm_step(&sm, E_RESTART, &p, 0, 0), A_SPAWN);
	assert_int_equal(sm.state, W_STARTING);
	assert_int_equal(sm.unstable, 0);
	sm_step(&sm, E_EXIT, &p, EXITED(1), 10);
	assert_int_equal(sm.state, W_ERRORED);
	assert_int_equal(sm_step(&sm, E_RESET, &p, 0, 0), A_SPAWN);
	assert_int_equal(sm.restarts, 0);
	/* reset of a healthy worker only zeroes the counters. */
	sm = running();
	sm.restarts = 7;
	assert_int_equal(sm_step(&sm, E_RESET, &p, 0, 0), 0);
	assert_int_equal(sm.state, W_ONLINE);
	assert_int_equal(sm.restarts, 0);
}

/*
 * No process could be made (EMFILE, EAGAIN...): retried with a doubling
 * delay, never counted as a restart or an unstable start, so a worker
 * cannot end errored for pmd's lack of fds; a successful start resets it.
 */
static void
test_no_spawn_is_retried_and_not_counted(void **state)
{
	struct sm	sm = { 0 };
	uint64_t	want = SPAWN_RETRY;
	int		i;

	(void)state;
	assert_int_equal(sm_step(&sm, E_START, &p, 0, 0), A_SPAWN);
	for (i = 0; i < 20; i++) {
		assert_int_equal(sm_step(&sm, E_NOSPAWN, &p, 0, 0), A_DELAY);
		assert_int_equal(sm.state, W_WAITING);
		assert_int_equal(sm.delay, want);
		want = want * 2 > SPAWN_RETRY_MAX ? SPAWN_RETRY_MAX : want * 2;
		assert_int_equal(sm_step(&sm, E_TIMER, &p, 0, 0), A_SPAWN);
		assert_int_equal(sm.state, W_STARTING);
	}
	assert_int_equal(sm.unstable, 0);
	assert_int_equal(sm.restarts, 0);
	assert_int_equal(sm_step(&sm, E_READY, &p, 0, 0), A_CANCEL);
	assert_int_equal(sm.state, W_ONLINE);
	assert_int_equal(sm.spawn_backoff, 0);
	/*
	 * Stopped in the same turn as the spawn that could not be: no
	 * process ever ran, so the stop is done (found by fuzz-dump).
	 */
	sm.state = W_STARTING;
	assert_int_equal(sm_step(&sm, E_STOP, &p, 0, 0), A_KILL);
	assert_int_equal(sm_step(&sm, E_NOSPAWN, &p, 0, 0), A_CANCEL);
	assert_int_equal(sm.state, W_STOPPED);
	/* A stop while it waits for the retry is immediate. */
	sm.state = W_STARTING;
	sm_step(&sm, E_NOSPAWN, &p, 0, 0);
	assert_int_equal(sm_step(&sm, E_STOP, &p, 0, 0), A_CANCEL);
	assert_int_equal(sm.state, W_STOPPED);
}

/*
 * What the user wants is a field the table sets: start, restart and the
 * reset of an errored worker want it up, stop wants it down (also for a
 * worker that is stopped already, which is then held so); a restart is a
 * stop with want up.
 */
static void
test_want_follows_the_commands(void **state)
{
	struct sm	sm = { 0 };

	(void)state;
	assert_int_equal(sm.want, WANT_NONE);
	assert_int_equal(sm_step(&sm, E_STOP, &p, 0, 0), 0);
	assert_int_equal(sm.want, WANT_DOWN);		/* held, never run */
	assert_int_equal(sm.reason, R_USER);
	assert_int_equal(sm_step(&sm, E_START, &p, 0, 0), A_SPAWN);
	assert_int_equal(sm.want, WANT_UP);
	sm_step(&sm, E_READY, &p, 0, 0);
	assert_int_equal(sm_step(&sm, E_RESTART, &p, 0, 0), A_KILL);
	assert_int_equal(sm.want, WANT_UP);
	assert_int_equal(sm_step(&sm, E_STOP, &p, 0, 0), 0);	/* changed mind */
	assert_int_equal(sm.want, WANT_DOWN);
	assert_int_equal(sm_step(&sm, E_EXIT, &p, KILLED(SIGTERM), 10),
	    A_CANCEL);
	assert_int_equal(sm.state, W_STOPPED);
	assert_int_equal(sm.want, WANT_DOWN);
}

/*
 * A slot scaled away stops as a stop would and is wanted gone, from any
 * state; a start brings it back before it is freed.
 */
static void
test_remove_stops_and_wants_gone(void **state)
{
	struct sm	sm;
	int		s;

	(void)state;
	for (s = 0; s < W_NSTATES; s++) {
		memset(&sm, 0, sizeof sm);
		sm.state = s;
		sm_step(&sm, E_REMOVE, &p, 0, 0);
		assert_int_equal(sm.want, WANT_GONE);
		assert_true(sm.state == W_STOPPED || sm.state == W_STOPPING);
	}
	memset(&sm, 0, sizeof sm);
	sm_step(&sm, E_START, &p, 0, 0);
	sm_step(&sm, E_READY, &p, 0, 0);
	assert_int_equal(sm_step(&sm, E_REMOVE, &p, 0, 0), A_KILL);
	assert_int_equal(sm_step(&sm, E_START, &p, 0, 0), 0);	/* back */
	assert_int_equal(sm.want, WANT_UP);
	assert_int_equal(sm_step(&sm, E_EXIT, &p, KILLED(SIGTERM), 10),
	    A_CANCEL | A_SPAWN);
}

/* No socket: errored for that reason, and a later start tries again. */
static void
test_no_socket_is_errored(void **state)
{
	struct sm	sm = { 0 };

	(void)state;
	assert_int_equal(sm_step(&sm, E_NOSOCKET, &p, 0, 0), 0);
	assert_int_equal(sm.state, W_ERRORED);
	assert_int_equal(sm.reason, R_NO_SOCKET);
	assert_int_equal(sm.want, WANT_UP);
	assert_string_equal(sm_reason_name(sm.reason),
	    "its listen sockets could not be bound");
	assert_int_equal(sm_step(&sm, E_START, &p, 0, 0), A_SPAWN);
	assert_int_equal(sm.state, W_STARTING);
	/* A spawn the table asked for, but the sockets could not be bound
	 * again: errored instead (worker.c feeds it before spawning). */
	assert_int_equal(sm_step(&sm, E_NOSOCKET, &p, 0, 0), 0);
	assert_int_equal(sm.state, W_ERRORED);
	assert_int_equal(sm_step(&sm, E_START, &p, 0, 0), A_SPAWN);
	/* A process that runs keeps running: the app holds its sockets. */
	sm_step(&sm, E_READY, &p, 0, 0);
	assert_int_equal(sm_step(&sm, E_NOSOCKET, &p, 0, 0), 0);
	assert_int_equal(sm.state, W_ONLINE);
	/* One waiting for its restart delay stops waiting. */
	sm.state = W_WAITING;
	assert_int_equal(sm_step(&sm, E_NOSOCKET, &p, 0, 0), A_CANCEL);
	assert_int_equal(sm.state, W_ERRORED);
}

static void
test_every_cell_is_defined(void **state)
{
	int	s, e;

	(void)state;
	/* No state x event pair may crash or leave the state range. */
	for (s = 0; s < W_NSTATES; s++) {
		for (e = 0; e < E_NEVENTS; e++) {
			struct sm sm = { 0 };
			sm.state = s;
			sm_step(&sm, e, &p, EXITED(1), 10);
			assert_true(sm.state < W_NSTATES);
			assert_string_not_equal(sm_state_name(sm.state),
			    "unknown");
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_crash_restarts_at_once, setup),
		cmocka_unit_test_setup(test_a_timeout_that_means_online, setup),
		cmocka_unit_test_setup(test_not_ready_in_time_is_a_failed_start,
		    setup),
		cmocka_unit_test_setup(test_unstable_starts_end_errored, setup),
		cmocka_unit_test_setup(test_stable_run_resets_unstable, setup),
		cmocka_unit_test_setup(test_stop_exit_codes, setup),
		cmocka_unit_test_setup(test_autorestart_off, setup),
		cmocka_unit_test_setup(test_restart_delay, setup),
		cmocka_unit_test_setup(test_exp_backoff, setup),
		cmocka_unit_test_setup(test_stop_kills_then_sigkill, setup),
		cmocka_unit_test_setup(test_restart_stops_then_starts, setup),
		cmocka_unit_test_setup(test_stop_while_waiting, setup),
		cmocka_unit_test_setup(test_start_during_stop_restarts, setup),
		cmocka_unit_test_setup(test_errored_cleared_by_restart_and_reset,
		    setup),
		cmocka_unit_test_setup(test_no_spawn_is_retried_and_not_counted,
		    setup),
		cmocka_unit_test_setup(test_want_follows_the_commands, setup),
		cmocka_unit_test_setup(test_no_socket_is_errored, setup),
		cmocka_unit_test_setup(test_remove_stops_and_wants_gone, setup),
		cmocka_unit_test_setup(test_every_cell_is_defined, setup),
	};

	return cmocka_run_group_tests_name("supervise", tests, NULL, NULL);
}
