/*
 * A worker's message channel (ipc.c), driven through a real socket pair
 * and event loop: what a worker sends becomes metrics, ready and
 * broadcasts; what is not JSON, too long, or a metric name that is not
 * printable UTF-8 is dropped and counted; a worker that never reads costs
 * at most its queue. The rest of the daemon is stubbed below.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "pmd.h"

struct ev_loop	*pmd_loop;
static int	 readies, events;

void
worker_ready(struct worker *w)
{
	(void)w;
	readies++;
}

void
event_emit(const struct app *a, const struct worker *w, const char *type,
    char *data, const char *fmt, ...)
{
	(void)a; (void)w; (void)type; (void)fmt;
	free(data);
	events++;
}

struct fixture {
	struct app_config	 cfg;
	struct app		 app;
	struct worker		 w[2];
	struct worker		*ws[2];
	int			 fd[2];		/* each worker's own end */
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof *f);
	int		 i;

	pmd_loop = ev_loop_new(EVFLAG_AUTO);
	f->cfg.wait_ready = 1;
	f->app.name = "web";
	f->app.cfg = &f->cfg;
	f->app.workers = f->ws;
	f->app.nworkers = 2;
	for (i = 0; i < 2; i++) {
		f->ws[i] = &f->w[i];
		f->w[i].app = &f->app;
		f->w[i].instance = i;
		f->w[i].pid = getpid();
		f->w[i].sm.state = W_STARTING;
		ipc_init(&f->w[i]);
		f->fd[i] = ipc_open(&f->w[i]);
		assert_true(f->fd[i] >= 0);
	}
	readies = events = 0;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	int		 i;

	for (i = 0; i < 2; i++) {
		ipc_free(&f->w[i]);
		close(f->fd[i]);
	}
	assert_int_equal(ipc_held_bytes(), 0);
	ev_loop_destroy(pmd_loop);
	free(f);
	return 0;
}

/* The worker writes s; pmd's loop runs until the channel is drained. */
static void
worker_says(struct fixture *f, const char *s)
{
	size_t	off = 0, len = strlen(s);
	ssize_t	n;
	int	avail;

	while (off < len) {
		n = send(f->fd[0], s + off, len - off, MSG_DONTWAIT);
		if (n == -1 && errno == EAGAIN) {
			ev_run(pmd_loop, EVRUN_NOWAIT);
			continue;
		}
		assert_true(n > 0);
		off += n;
	}
	/* Until pmd's end has nothing left to read. */
	do
		ev_run(pmd_loop, EVRUN_NOWAIT);
	while (ioctl(f->w[0].ipc.r.fd, FIONREAD, &avail) == 0 && avail > 0);
}

static void
test_metrics(void **state)
{
	struct fixture	*f = *state;
	struct worker	*w = &f->w[0];

	worker_says(f, "{\"type\":\"metrics\",\"data\":{\"rps\":12.5,"
	    "\"queue\":3}}\n");
	assert_int_equal(w->ipc.nmetrics, 2);
	assert_string_equal(w->ipc.metrics[0].name, "rps");
	assert_true(w->ipc.metrics[0].value == 12.5);
	assert_string_equal(w->ipc.metrics[1].name, "queue");
	assert_int_equal(w->ipc.bad, 0);
	/* Invalid UTF-8, a string value, a control character: dropped whole. */
	worker_says(f, "{\"type\":\"metrics\",\"data\":{\"bad\xff\":2}}\n"
	    "{\"type\":\"metrics\",\"data\":{\"rps\":\"fast\"}}\n"
	    "{\"type\":\"metrics\",\"data\":{\"a\\rb\":1}}\n");
	assert_int_equal(w->ipc.bad, 3);
	assert_int_equal(w->ipc.nmetrics, 2);
	assert_true(w->ipc.metrics[0].value == 12.5);
	ipc_metrics_clear(w);
	assert_int_equal(w->ipc.nmetrics, 0);
}

static void
test_bad_lines(void **state)
{
	struct fixture	*f = *state;
	struct worker	*w = &f->w[0];
	char		*big = malloc(70 * 1024 + 2);

	worker_says(f, "not json\n{\"a\":\"\\u0000\"}\n");
	assert_int_equal(w->ipc.bad, 2);
	/* Past 64 KiB the line goes, and the next one is read as usual. */
	memset(big, 'x', 70 * 1024);
	strcpy(big + 70 * 1024, "\n");
	worker_says(f, big);
	free(big);
	assert_int_equal(w->ipc.bad, 3);
	worker_says(f, "\"ready\"\n");
	assert_int_equal(readies, 1);
	assert_int_equal(w->ipc.bad, 3);
	/* Node's own messages are Node's: no event, not bad. */
	events = 0;
	worker_says(f, "{\"cmd\":\"NODE_HANDLE\"}\n");
	assert_int_equal(events, 0);
	assert_int_equal(w->ipc.bad, 3);
}

static void
test_broadcast(void **state)
{
	struct fixture	*f = *state;
	char		 buf[256];
	ssize_t		 n;

	worker_says(f, "{\"type\":\"broadcast\",\"data\":1}\n");
	ev_run(pmd_loop, EVRUN_NOWAIT);
	n = recv(f->fd[1], buf, sizeof buf - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "{\"type\":\"broadcast\",\"data\":1}\n");
	/* Not back to the sender. */
	assert_int_equal(recv(f->fd[0], buf, sizeof buf, MSG_DONTWAIT), -1);
}

/* A worker that never reads: its queue is bounded, the rest counted. */
static void
test_queue_bound(void **state)
{
	struct fixture	*f = *state;
	struct worker	*w = &f->w[1];
	char		*line = malloc(4096);
	int		 i, sent = 0, dropped = 0;

	memset(line, 'y', 4095);
	line[4095] = '\0';
	for (i = 0; i < 1000; i++) {
		if (ipc_send(w, line) == 0)
			sent++;
		else
			dropped++;
	}
	free(line);
	assert_true(dropped > 0 && sent > 0);
	assert_int_equal(w->ipc.dropped_out, dropped);
	assert_true(ipc_held_bytes() <= 256 * 1024);
	/* No channel (its process is gone): dropped too. */
	w->pid = 0;
	assert_int_equal(ipc_send(w, "\"x\""), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broadcast, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_bound, setup,
		    teardown),
	};

	return cmocka_run_group_tests_name("ipc", tests, NULL, NULL);
}
