/*
 * What GET /metrics and GET /healthz say: the Prometheus text exposition
 * of every worker, app and pmd itself, made a batch of workers at a time
 * while MHD sends it (metrics.c serves it), and the health summary.
 */
#include <sys/resource.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmd.h"
#include "http.h"

/*
 * A label value, escaped as the exposition format wants: backslash,
 * double quote and line feed; another control character (which it cannot
 * escape, and which names are checked for where they come in) is a space.
 */
static void
put_label(struct text *t, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			text_put(t, "\\%c", *v);
		else if (*v == '\n')
			text_put(t, "\\n");
		else if ((unsigned char)*v < 0x20 || *v == 0x7f)
			text_put(t, " ");
		else
			text_put(t, "%c", *v);
	}
}

static void
family(struct text *t, const char *name, const char *type, const char *help)
{
	text_put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
sample(struct text *t, const char *name, const struct worker *w,
    const struct app *a, double v)
{
	text_put(t, "%s{app=\"", name);
	put_label(t, a->name);
	if (w != NULL)
		text_put(t, "\",worker=\"%u", w->instance);
	text_put(t, "\"} %.17g\n", v);
}

/* Each app's workers that have a process or should have one. */
#define FOREACH_WORKER(a, w, i)						\
	TAILQ_FOREACH(a, &apps, entry)					\
		for (i = 0; i < a->nworkers && ((w = a->workers[i]), 1); i++)

/* a's instances that should run (online 0) or are online (1). */
static unsigned
count(const struct app *a, int online)
{
	unsigned	i, n = 0;

	for (i = 0; i < a->nworkers; i++)
		n += online ? a->workers[i]->sm.state == W_ONLINE :
		    a->workers[i]->sm.want == WANT_UP;
	return n;
}

static uint64_t
app_dropped(struct app *a)
{
	struct logfile_info	 info;
	struct logfile		*seen[2 * 64];
	size_t			 nseen = 0, k;
	uint64_t		 n = 0;
	unsigned		 i;
	int			 s;

	for (i = 0; i < a->nworkers; i++) {
		for (s = 0; s < 2; s++) {
			struct logfile *f = s == 0 ? a->workers[i]->outf :
			    a->workers[i]->errf;
			for (k = 0; k < nseen && seen[k] != f; k++)
				;
			if (f == NULL || k < nseen)
				continue;
			if (nseen < nitems(seen))
				seen[nseen++] = f;
			logfile_info(f, &info);
			n += info.dropped;
		}
	}
	return n;
}

/* The families with a sample a worker, each made by one function. */
static void
put_up(struct text *t, const struct app *a, struct worker *w)
{
	sample(t, "pmd_worker_up", w, a, w->sm.state == W_ONLINE);
}

static void
put_state(struct text *t, const struct app *a, struct worker *w)
{
	static const enum wstate states[] = { W_STARTING, W_ONLINE,
	    W_STOPPING, W_STOPPED, W_WAITING, W_ERRORED };
	size_t	k;

	for (k = 0; k < nitems(states); k++) {
		text_put(t, "pmd_worker_state{app=\"");
		put_label(t, a->name);
		text_put(t, "\",worker=\"%u\",state=\"%s\"} %d\n", w->instance,
		    sm_state_name(states[k]), strcmp(sm_state_name(w->sm.state),
		    sm_state_name(states[k])) == 0);
	}
}

static void
put_restarts(struct text *t, const struct app *a, struct worker *w)
{
	sample(t, "pmd_worker_restarts_total", w, a, w->sm.restarts);
}

/* One /proc read a worker serves this family and the next. */
static void
put_cpu(struct text *t, const struct app *a, struct worker *w)
{
	worker_sample(w);
	if (w->pid > 0 && w->rss > 0)
		sample(t, "pmd_worker_cpu_seconds_total", w, a,
		    (double)w->ticks / (double)sysconf(_SC_CLK_TCK));
}

static void
put_memory(struct text *t, const struct app *a, struct worker *w)
{
	if (w->pid > 0 && w->rss > 0)
		sample(t, "pmd_worker_memory_bytes", w, a, (double)w->rss);
}

static void
put_start_time(struct text *t, const struct app *a, struct worker *w)
{
	if (w->pid > 0)
		sample(t, "pmd_worker_start_time_seconds", w, a,
		    ev_time() - (mono_now() - w->started));
}

static void
put_custom(struct text *t, const struct app *a, struct worker *w)
{
	size_t	k;

	for (k = 0; k < w->ipc.nmetrics; k++) {
		text_put(t, "pmd_worker_custom{app=\"");
		put_label(t, a->name);
		text_put(t, "\",worker=\"%u\",metric=\"", w->instance);
		put_label(t, w->ipc.metrics[k].name);
		text_put(t, "\"} %.17g\n", w->ipc.metrics[k].value);
	}
}

static void
put_dropped(struct text *t, const struct app *a, struct worker *w)
{
	const char	*reasons[] = { "bad", "unsent" };
	unsigned long	 n[] = { w->ipc.bad, w->ipc.dropped_out };
	size_t		 k;

	for (k = 0; k < nitems(reasons); k++) {
		text_put(t, "pmd_worker_messages_dropped_total{app=\"");
		put_label(t, a->name);
		text_put(t, "\",worker=\"%u\",reason=\"%s\"} %lu\n",
		    w->instance, reasons[k], n[k]);
	}
}

static const struct {
	const char	*name;
	const char	*type;
	const char	*help;
	void		(*put)(struct text *, const struct app *,
			    struct worker *);
} wfamilies[] = {
	{ "pmd_worker_up", "gauge", "1 if the worker is online, else 0.",
	  put_up },
	{ "pmd_worker_state", "gauge",
	  "1 for the state the worker is in (label state).", put_state },
	{ "pmd_worker_restarts_total", "counter",
	  "Restarts of the worker slot after its process ended.",
	  put_restarts },
	{ "pmd_worker_cpu_seconds_total", "counter",
	  "CPU time (user and system) of the worker's current process.",
	  put_cpu },
	{ "pmd_worker_memory_bytes", "gauge",
	  "Resident memory of the worker's current process.", put_memory },
	{ "pmd_worker_start_time_seconds", "gauge",
	  "When the worker's current process started, since the epoch.",
	  put_start_time },
	{ "pmd_worker_custom", "gauge",
	  "The worker's own figures ({\"type\":\"metrics\"} messages), by "
	  "label metric.", put_custom },
	{ "pmd_worker_messages_dropped_total", "counter",
	  "Messages of the worker's channel dropped: bad (not JSON, too long, "
	  "metrics that are not printable names with finite numbers) or "
	  "unsent (to the worker, over a queue's cap).", put_dropped },
};

/* The families of apps and of pmd itself: a few lines an app. */
static void
metrics_rest(struct text *t)
{
	struct app	*a;
	struct pstat	 ps;
	struct rusage	 ru;
	struct budget	 b;

	family(t, "pmd_app_instances_wanted", "gauge",
	    "Instances of the app that should run.");
	TAILQ_FOREACH(a, &apps, entry)
		sample(t, "pmd_app_instances_wanted", NULL, a, count(a, 0));
	family(t, "pmd_app_instances_online", "gauge",
	    "Instances of the app online.");
	TAILQ_FOREACH(a, &apps, entry)
		sample(t, "pmd_app_instances_online", NULL, a, count(a, 1));
	family(t, "pmd_app_reloads_total", "counter",
	    "Rolling reloads of the app that ended.");
	TAILQ_FOREACH(a, &apps, entry)
		sample(t, "pmd_app_reloads_total", NULL, a, a->reloads);
	family(t, "pmd_app_reloads_failed_total", "counter",
	    "Rolling reloads of the app that failed.");
	TAILQ_FOREACH(a, &apps, entry)
		sample(t, "pmd_app_reloads_failed_total", NULL, a,
		    a->reloads_failed);
	family(t, "pmd_app_log_lines_dropped_total", "counter",
	    "Lines of the app's output that could not be written.");
	TAILQ_FOREACH(a, &apps, entry)
		sample(t, "pmd_app_log_lines_dropped_total", NULL, a,
		    (double)app_dropped(a));

	getrusage(RUSAGE_SELF, &ru);
	family(t, "process_cpu_seconds_total", "counter",
	    "CPU time of pmd itself.");
	text_put(t, "process_cpu_seconds_total %.6f\n", ru.ru_utime.tv_sec +
	    ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec +
	    ru.ru_stime.tv_usec) / 1e6);
	family(t, "process_resident_memory_bytes", "gauge",
	    "Resident memory of pmd itself.");
	text_put(t, "process_resident_memory_bytes %.0f\n",
	    proc_stat(getpid(), &ps) == 0 ? (double)ps.rss : 0.0);
	family(t, "pmd_messages_held_bytes", "gauge", "Bytes of messages held "
	    "in all workers' channels (queued to them, or lines not yet whole).");
	text_put(t, "pmd_messages_held_bytes %zu\n", ipc_held_bytes());
	family(t, "pmd_events_messages_cut_total", "counter", "Messages kept "
	    "by the event ring without their data (over 4096 bytes).");
	text_put(t, "pmd_events_messages_cut_total %lu\n", events_cut);
	budget_get(&b);
	family(t, "process_open_fds", "gauge", "Open fds of pmd itself.");
	text_put(t, "process_open_fds %u\n", b.open);
	family(t, "process_max_fds", "gauge", "pmd's fd limit.");
	text_put(t, "process_max_fds %u\n", b.limit);
	family(t, "pmd_fds_budgeted", "gauge",
	    "fds the worker slots may take (pmd's fd budget).");
	text_put(t, "pmd_fds_budgeted %u\n", b.used);
	family(t, "pmd_fds_kept", "gauge",
	    "fds pmd keeps for itself and its control clients.");
	text_put(t, "pmd_fds_kept %u\n", b.kept);
	family(t, "process_start_time_seconds", "gauge",
	    "When pmd started, since the epoch.");
	text_put(t, "process_start_time_seconds %.3f\n", metrics_started);
}

/*
 * One scrape of /metrics, made as MHD asks for it: METRICS_BATCH workers
 * of one family at a time (a /proc read each for the CPU family), so that
 * 10,000 workers never hold the loop for long and the text held is one
 * batch, not the whole exposition. Apps that come or go between batches
 * are seen as app_walk() says; each family stays one group.
 */
struct scrape {
	struct text	 t;
	size_t		 sent;		/* of t, given to MHD */
	size_t		 family;	/* in wfamilies; past them: the rest */
	int		 begun;		/* the family's header is out */
	struct rows_at	 at;
};

#define METRICS_BATCH	256		/* workers of one family a piece */
#define METRICS_BLOCK	(16 * 1024)	/* bytes MHD takes at a time */

static void
scrape_row(struct worker *w, void *arg)
{
	struct scrape	*s = arg;

	wfamilies[s->family].put(&s->t, w->app, w);
}

/* The next piece of text into s->t; 0 when there is none left. */
static int
scrape_more(struct scrape *s)
{
	s->t.len = s->sent = 0;
	if (s->family > nitems(wfamilies))
		return 0;
	if (s->family == nitems(wfamilies)) {
		metrics_rest(&s->t);
		s->family++;
		return 1;
	}
	if (!s->begun) {
		family(&s->t, wfamilies[s->family].name,
		    wfamilies[s->family].type, wfamilies[s->family].help);
		s->begun = 1;
	}
	if (app_walk(&s->at, METRICS_BATCH, scrape_row, s)) {
		s->family++;
		s->begun = 0;
		memset(&s->at, 0, sizeof s->at);
	}
	return 1;
}

static ssize_t
scrape_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct scrape	*s = cls;
	size_t		 n;

	(void)pos;
	while (s->sent == s->t.len) {
		if (!scrape_more(s))
			return MHD_CONTENT_READER_END_OF_STREAM;
	}
	n = s->t.len - s->sent < max ? s->t.len - s->sent : max;
	memcpy(buf, s->t.s + s->sent, n);
	s->sent += n;
	return (ssize_t)n;
}

static void
scrape_free(void *cls)
{
	struct scrape	*s = cls;

	free(s->t.s);
	free(s);
}

/* 200 with "ok", or 503 naming each worker that should run and is not. */
int
healthz_text(struct text *t)
{
	struct app	*a;
	struct worker	*w;
	unsigned	 i;
	int		 bad = 0;

	text_put(t, "{\"missing\":[");
	FOREACH_WORKER(a, w, i) {
		if (w->sm.want != WANT_UP || w->sm.state == W_ONLINE)
			continue;
		text_put(t, "%s{\"app\":\"", bad++ ? "," : "");
		put_label(t, a->name);
		text_put(t, "\",\"instance\":%u,\"status\":\"%s\"}",
		    w->instance, sm_state_name(w->sm.state));
	}
	text_put(t, "],\"status\":\"%s\"}\n", bad ? "unhealthy" : "ok");
	return bad ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK;
}

/* A response that makes the scrape as MHD asks for it. */
struct MHD_Response *
metrics_response(void)
{
	return p_create_response_from_callback(MHD_SIZE_UNKNOWN, METRICS_BLOCK,
	    scrape_read, xcalloc(1, sizeof (struct scrape)), scrape_free);
}
