/*
 * What happened, as it happens: workers started, online, exited,
 * restarted, errored and stopped; reloads and reload-config; triggers;
 * dropped log lines; watchdog timeouts; every message a worker sends.
 * The last EVENTS_KEPT are kept in a ring for `pmctl events`; each new one
 * goes to the followers (control.c's tap) and to the hooks (hooks.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmd.h"

#define EVENTS_KEPT	1000
#define TEXT_MAX	512	/* bytes an event's text keeps */
#define DATA_MAX	4096	/* bytes of a message an event keeps */

static struct event	ring[EVENTS_KEPT];
static size_t		head;		/* the next slot */
static size_t		count;
event_tap_fn		event_tap;
unsigned long		events_cut;	/* messages too long to keep whole */

static void
event_clear(struct event *e)
{
	free(e->app);
	free(e->type);
	free(e->text);
	free(e->data);
	memset(e, 0, sizeof *e);
}

/*
 * Record an event of type for app (or NULL: the daemon's) and worker (or
 * NULL), with data (JSON text, taken; or NULL) and a text for people. The
 * ring holds at most EVENTS_KEPT x (TEXT_MAX + DATA_MAX) bytes of them:
 * a longer text is cut, longer data is not kept (and counted).
 */
void
event_emit(const struct app *a, const struct worker *w, const char *type,
    char *data, const char *fmt, ...)
{
	struct event	*e = &ring[head];
	va_list		 ap;

	event_clear(e);
	e->time = ev_time();
	e->app = a != NULL ? xstrdup(a->name) : NULL;
	e->instance = w != NULL ? (int)w->instance : -1;
	e->pid = w == NULL ? 0 : w->pid > 0 ? (long)w->pid : (long)w->last_pid;
	e->type = xstrdup(type);
	if (data != NULL && strlen(data) > DATA_MAX) {
		free(data);
		data = NULL;
		events_cut++;
	}
	e->data = data;
	va_start(ap, fmt);
	if (vasprintf(&e->text, fmt, ap) == -1)
		e->text = NULL;
	va_end(ap);
	if (e->text == NULL)
		e->text = xstrdup("");
	if (strlen(e->text) > TEXT_MAX) {
		e->text = xrealloc(e->text, TEXT_MAX + 1);
		strcpy(e->text + TEXT_MAX - 3, "...");
	}
	head = (head + 1) % EVENTS_KEPT;
	if (count < EVENTS_KEPT)
		count++;
	if (event_tap != NULL)
		event_tap(e);
	hooks_event(a, w, e);
}

/*
 * pmctl update: an event of the pmd before this one, back in the ring as
 * it was (no follower or hook hears it again). The strings are copied.
 */
void
event_restore(const struct event *old)
{
	struct event	*e = &ring[head];

	event_clear(e);
	e->time = old->time;
	e->app = old->app != NULL ? xstrdup(old->app) : NULL;
	e->instance = old->instance;
	e->pid = old->pid;
	e->type = xstrdup(old->type);
	e->text = xstrndup(old->text, TEXT_MAX);
	e->data = old->data != NULL && strlen(old->data) <= DATA_MAX ?
	    xstrdup(old->data) : NULL;
	head = (head + 1) % EVENTS_KEPT;
	if (count < EVENTS_KEPT)
		count++;
}

/* The last n events (of app, or all if NULL), oldest first, to fn. */
void
events_each(const char *app, size_t n, void (*fn)(const struct event *,
    void *), void *arg)
{
	size_t	i, first = (head + EVENTS_KEPT - count) % EVENTS_KEPT, seen = 0;
	size_t	skip;

	for (i = 0; i < count; i++) {
		const struct event *e = &ring[(first + i) % EVENTS_KEPT];
		if (app == NULL || (e->app != NULL && strcmp(e->app, app) == 0))
			seen++;
	}
	skip = seen > n ? seen - n : 0;
	for (i = 0; i < count; i++) {
		const struct event *e = &ring[(first + i) % EVENTS_KEPT];
		if (app != NULL && (e->app == NULL || strcmp(e->app, app) != 0))
			continue;
		if (skip > 0) {
			skip--;
			continue;
		}
		fn(e, arg);
	}
}

void
events_free(void)
{
	size_t	i;

	for (i = 0; i < EVENTS_KEPT; i++)
		event_clear(&ring[i]);
	head = count = 0;
}
