/*
 * pmd's fd budget. Every worker slot costs pmd fds (its pidfd, message
 * channel, log pipes and files, notify and listening sockets, as its app
 * is configured), and pmd keeps fds for itself: what it held once its own
 * sockets were open, max_clients control clients, the HTTP listener's
 * connections, the hooks and a margin for spawns in flight. A command that
 * would add workers past the fd limit is refused whole, before anything
 * starts, with the figures and how to raise the limit; a worker slot
 * counts from its creation to its deletion, running or stopped, so a
 * start, a restart and a crash never find their fds taken.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmd.h"

#define MARGIN		32	/* spawns in flight, files read for a moment */
#define HOOK_FDS	2	/* a hook's pidfd and output pipe */
#define HOOKS_MAX	4	/* hooks.c's cap */
#define HTTP_FDS	18	/* 16 connections, the listener, MHD's epoll */

static unsigned	base;		/* pmd's own, before any worker */

/* The fds pmd holds now, as the kernel counts them. */
unsigned
fds_open(void)
{
	struct stat	 st;
	struct dirent	*de;
	DIR		*d;
	unsigned	 n = 0;

	/* Linux 6.2 and later give the count as the size: no 10,000 reads. */
	if (stat("/proc/self/fd", &st) == 0 && st.st_size > 0)
		return (unsigned)st.st_size;
	if ((d = opendir("/proc/self/fd")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n > 0 ? n - 1 : 0;	/* the directory's own fd */
}

/* Called once pmd's own fds (sockets, lock, log, loop) are open. */
void
budget_init(void)
{
	base = fds_open();
}

/* What pmd held of its own at its start: carried across pmctl update. */
unsigned
budget_base(void)
{
	return base;
}

void
budget_set_base(unsigned n)
{
	base = n;
}

static unsigned
fd_limit(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur > UINT32_MAX)
		return UINT32_MAX;
	return (unsigned)rl.rlim_cur;
}

/* 1 if a stream of cfg's workers goes to a file through a pipe. */
static int
piped(const char *file)
{
	return file == NULL || strcmp(file, "/dev/null") != 0;
}

/*
 * The fds one worker of cfg costs pmd, and (if why is not NULL) what
 * they are, for a message.
 */
unsigned
budget_worker_fds(const struct app_config *cfg, char *why, size_t size)
{
	unsigned	n = 1, nlisten = argv_count(cfg->listen);
	int		out = piped(cfg->out_file), err = piped(cfg->err_file);
	int		files = !cfg->merge_logs || daemon_container;

	n += cfg->ipc + out + err + (files ? out + err : 0);
	n += cfg->wait_ready || cfg->watchdog > 0;
	if (listen_balanced(cfg))
		n += nlisten;
	if (why != NULL)
		snprintf(why, size, "pidfd%s%s%s%s%s", cfg->ipc ?
		    ", message channel" : "", out + err == 0 ? "" : out + err ==
		    2 ? ", 2 log pipes" : ", 1 log pipe", !files ||
		    out + err == 0 ? "" : out + err == 2 ? ", 2 log files" :
		    ", 1 log file", cfg->wait_ready || cfg->watchdog > 0 ?
		    ", notify socket" : "", listen_balanced(cfg) && nlisten ?
		    ", its own listening sockets" : "");
	return n;
}

/* The fds n workers of cfg cost, and the app's own (shared). */
unsigned
budget_app_fds(const struct app_config *cfg, unsigned n)
{
	unsigned	fds = n * budget_worker_fds(cfg, NULL, 0);

	if (!listen_balanced(cfg))
		fds += argv_count(cfg->listen);
	if (cfg->merge_logs && !daemon_container)
		fds += piped(cfg->out_file) + piped(cfg->err_file);
	if (cfg->watch == 1 || (cfg->watch == -1 && cfg->watch_paths != NULL))
		fds++;		/* its inotify fd */
	return fds;
}

void
budget_get(struct budget *b)
{
	struct app	*a;

	b->limit = fd_limit();
	b->open = fds_open();
	b->clients = control_max_clients();
	b->kept = base + b->clients + HOOKS_MAX * HOOK_FDS + MARGIN +
	    (config != NULL && config->metrics != NULL ? HTTP_FDS : 0);
	b->used = b->workers = 0;
	TAILQ_FOREACH(a, &apps, entry) {
		b->used += budget_app_fds(a->cfg, a->nworkers) +
		    listen_learned_fds(a, argv_count(a->learned));
		b->workers += a->nworkers;
		if (a->roll != NULL)	/* the new worker beside the old */
			b->used += budget_worker_fds(a->cfg, NULL, 0);
	}
}

/* How many fds the workers may still take (0 when past the limit). */
static unsigned
room(const struct budget *b)
{
	if (b->limit <= b->kept || b->limit - b->kept <= b->used)
		return 0;
	return b->limit - b->kept - b->used;
}

/*
 * Whether need more fds (for n workers of cfg: what names them) fit in
 * the budget, beside the fds before that the same command has admitted:
 * 0, or -1 with *cause, which names the limit, the cost per worker and how
 * to raise the limit.
 */
int
budget_admit(unsigned need, unsigned before, const char *what,
    const struct app_config *cfg, unsigned n, char **cause)
{
	struct budget	b;
	char		why[160];
	unsigned	each;

	budget_get(&b);
	b.used += before;	/* admitted already by the same command */
	if (need <= room(&b))
		return 0;
	each = budget_worker_fds(cfg, why, sizeof why);
	*cause = xprintf("%s: %u worker%s of \"%s\" need%s %u fds (%u per "
	    "worker: %s), but pmd's fd limit of %u leaves room for %u more "
	    "(%u budgeted for %u workers, %u kept for pmd itself and %u "
	    "control clients); raise the limit (LimitNOFILE= in pmd's unit, "
	    "ulimit -n before pmd starts) or make workers cheaper "
	    "(ipc = false, out_file = err_file = /dev/null)", what, n,
	    n == 1 ? "" : "s", cfg->name, n == 1 ? "s" : "", need, each, why,
	    b.limit, room(&b), b.used, b.workers, b.kept - b.clients,
	    b.clients);
	return -1;
}

/*
 * The most control clients the limit leaves room for beside pmd's own
 * fds: half of what is left, so that workers keep the other half.
 */
unsigned
budget_max_clients(void)
{
	unsigned	limit = fd_limit(), own = base + MARGIN +
			    HOOKS_MAX * HOOK_FDS + HTTP_FDS;

	return limit > own + 2 ? (limit - own) / 2 : 1;
}

/*
 * Whether a new app of cfg fits with all its instances (beside before):
 * its fds in *need and 0, or -1 with *cause.
 */
int
budget_admit_app(const struct app_config *cfg, unsigned before,
    const char *what, unsigned *need, char **cause)
{
	unsigned	n = instances_resolve(cfg->instances, daemon_ncpu());

	*need = budget_app_fds(cfg, n);
	return budget_admit(*need, before, what, cfg, n, cause);
}
