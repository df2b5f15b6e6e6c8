/*
 * watch: an app is restarted (the rolling reload of cron_restart and
 * pmctl reload) when files change under its cwd or its watch_paths.
 *
 * Each watching app has one inotify descriptor. inotify does not recurse,
 * so every directory below a watched path gets its own watch, and one
 * created (or moved in) later is added when its event arrives. A named
 * file is watched through its directory, so an editor that saves by
 * renaming a new file over it is still seen. The restart is debounced: it
 * begins watch_delay after the last change, so a checkout or a build that
 * writes many files restarts the app once. pmd's own files (logs, the
 * saved state, the control socket) never count, or a worker's output
 * would restart it for ever; nor do its config files, which
 * reload-config applies; nor do unix sockets and FIFOs, which an app
 * makes and removes as it starts and stops (a name seen made as one is
 * remembered, so its removal does not count either).
 *
 * An app with a user (a group member's, or root's with user =) is watched
 * as that user: pmd takes its credentials (creds_enter) to make the
 * inotify descriptor, charged to its budget, and to walk and watch each
 * directory, so the kernel checks every one with its rights and a
 * directory it may not read is not watched. The walk never holds the
 * loop: WALK_STEP directories per loop turn, from a queue. An app watches
 * at most WATCH_DIRS directories; past that, one warning says which were
 * left out.
 */
#include <sys/inotify.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmd.h"

/* Left out whatever ignore_watch says: VCS data, dependencies, editors'. */
static char *const watch_ignored[] = {
	".*", "*~", "#*#", "4913", "node_modules", "__pycache__", NULL
};

#define WALK_STEP	64	/* directories read per loop turn */
#define WATCH_DIRS	8192	/* directories one app may watch */

#define WATCH_MASK	(IN_CLOSE_WRITE | IN_CREATE | IN_DELETE |	\
			 IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF |	\
			 IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK)

struct wdir {
	int		 wd;
	char		*path;		/* absolute, or as cwd makes it */
	char		*rel;		/* below its watched path, "" at it */
	int		 all;		/* every name but the ignored ones */
	char		**names;	/* named files in it (watch_paths) */
	char		**sockets;	/* sockets and FIFOs made in it */
};

struct watch {
	struct app	*app;
	struct app_config *cfg;
	int		 fd;
	ev_io		 io_w;
	ev_timer	 delay_w;
	struct wdir	*dirs;
	size_t		 ndirs;
	char		*first;		/* the first change since a restart */
	unsigned	 changes;
	int		 rescan;	/* a watched path itself moved */
	int		 full;		/* max_user_watches said once */
	int		 capped;	/* WATCH_DIRS said once */
	int		 as_user;	/* act as creds to watch */
	struct creds	 creds;
	struct pending {
		char	*path;
		char	*rel;
	}		*queue;		/* directories to walk */
	size_t		 nqueue;
	ev_timer	 step_w;	/* the walk's next step */
};

static struct wdir *
find(struct watch *w, int wd)
{
	size_t	i;

	for (i = 0; i < w->ndirs; i++) {
		if (w->dirs[i].wd == wd)
			return &w->dirs[i];
	}
	return NULL;
}

/* The entry of watch descriptor wd, made for path if it is new. */
static struct wdir *
wdir_get(struct watch *w, int wd, const char *path, const char *rel)
{
	struct wdir	*d;

	if ((d = find(w, wd)) != NULL)
		return d;
	w->dirs = xrealloc(w->dirs, (w->ndirs + 1) * sizeof *w->dirs);
	d = &w->dirs[w->ndirs++];
	memset(d, 0, sizeof *d);
	d->wd = wd;
	d->path = xstrdup(path);
	d->rel = xstrdup(rel);
	return d;
}

static void
forget(struct watch *w, struct wdir *d)
{
	free(d->path);
	free(d->rel);
	argv_free(d->names);
	argv_free(d->sockets);
	*d = w->dirs[--w->ndirs];
}

static void
say_error(struct watch *w, const char *path)
{
	if (errno == ENOSPC) {
		if (!w->full)
			log_warn("%s: watch: %s: too many directories to "
			    "watch (raise fs.inotify.max_user_watches, or "
			    "ignore_watch some)", w->app->name, path);
		w->full = 1;
	} else if (errno != ENOENT && errno != ENOTDIR && errno != EACCES)
		log_warn("%s: watch: %s: %s", w->app->name, path,
		    strerror(errno));
}

/* Walk path (below its watched path: rel) in a coming step. */
static void
add_tree(struct watch *w, const char *path, const char *rel)
{
	if (w->ndirs + w->nqueue >= WATCH_DIRS) {
		if (!w->capped)
			log_warn("%s: watch: more than %d directories: %s and "
			    "what is below it are not watched (narrow it with "
			    "watch_paths or ignore_watch)", w->app->name,
			    WATCH_DIRS, path);
		w->capped = 1;
		return;
	}
	w->queue = xrealloc(w->queue, (w->nqueue + 1) * sizeof *w->queue);
	w->queue[w->nqueue].path = xstrdup(path);
	w->queue[w->nqueue++].rel = xstrdup(rel);
	if (!ev_is_active(&w->step_w)) {
		ev_timer_set(&w->step_w, 0, 0);
		ev_timer_start(pmd_loop, &w->step_w);
	}
}

/* Watch the directory path, and queue each one below it not ignored. */
static void
walk_one(struct watch *w, const char *path, const char *rel)
{
	struct wdir	*d;
	struct dirent	*de;
	struct stat	 st;
	DIR		*dir;
	char		*cpath, *crel;
	int		 wd, isdir;

	wd = inotify_add_watch(w->fd, path, WATCH_MASK | IN_DONT_FOLLOW);
	if (wd == -1 && *rel == '\0')
		wd = inotify_add_watch(w->fd, path, WATCH_MASK);
	if (wd == -1) {
		say_error(w, path);
		return;
	}
	d = wdir_get(w, wd, path, rel);
	if (d->all)
		return;		/* already, through another watched path */
	d->all = 1;
	if ((dir = opendir(path)) == NULL) {
		say_error(w, path);
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		isdir = de->d_type == DT_DIR;
		if (de->d_type == DT_UNKNOWN &&
		    fstatat(dirfd(dir), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == 0) {
			isdir = S_ISDIR(st.st_mode);
			de->d_type = S_ISSOCK(st.st_mode) ? DT_SOCK :
			    S_ISFIFO(st.st_mode) ? DT_FIFO : DT_UNKNOWN;
		}
		/* One there already: its removal is no change either. */
		if (de->d_type == DT_SOCK || de->d_type == DT_FIFO)
			strv_add(&d->sockets, de->d_name);
		if (!isdir)
			continue;
		crel = *rel == '\0' ? xstrdup(de->d_name) :
		    xprintf("%s/%s", rel, de->d_name);
		cpath = xprintf("%s/%s", path, de->d_name);
		if (!path_ignored(w->cfg->ignore_watch, crel) &&
		    !path_ignored(watch_ignored, crel) && !daemon_owns(cpath))
			add_tree(w, cpath, crel);
		free(crel);
		free(cpath);
	}
	closedir(dir);
}

/* Act as the app's user, if it has one; 0, or -1 (said) if pmd cannot. */
static int
as_user(struct watch *w, struct creds *saved)
{
	if (!w->as_user || creds_enter(&w->creds, saved) == 0)
		return 0;
	log_warn("%s: watch: cannot act as uid %ld: %s; not watched",
	    w->app->name, (long)w->creds.uid, strerror(errno));
	return -1;
}

static void
as_pmd(struct watch *w, const struct creds *saved)
{
	if (w->as_user)
		creds_leave(saved);
}

/* Up to WALK_STEP queued directories, as the app's user. */
static void
step_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct watch	*w = container_of(t, struct watch, step_w);
	struct pending	 p;
	struct creds	 saved;
	int		 k;

	(void)loop; (void)revents;
	if (as_user(w, &saved) == -1)
		return;
	for (k = 0; k < WALK_STEP && w->nqueue > 0; k++) {
		p = w->queue[--w->nqueue];
		walk_one(w, p.path, p.rel);
		free(p.path);
		free(p.rel);
	}
	as_pmd(w, &saved);
	if (w->nqueue > 0) {
		ev_timer_set(&w->step_w, 0, 0);
		ev_timer_start(pmd_loop, &w->step_w);
	}
}

static void
queue_clear(struct watch *w)
{
	ev_timer_stop(pmd_loop, &w->step_w);
	while (w->nqueue > 0) {
		w->nqueue--;
		free(w->queue[w->nqueue].path);
		free(w->queue[w->nqueue].rel);
	}
}

/* Watch a file named in watch_paths through its directory. */
static void
add_file(struct watch *w, const char *path)
{
	char		*dir = path_dirname(path);
	const char	*name = strrchr(path, '/') + 1;
	int		 wd;

	wd = inotify_add_watch(w->fd, dir, WATCH_MASK);
	if (wd == -1)
		say_error(w, dir);
	else
		strv_add(&wdir_get(w, wd, dir, "")->names, name);
	free(dir);
}

static void
add_all(struct watch *w)
{
	struct app_config	*cfg = w->cfg;
	struct stat		 st;
	struct creds		 saved;
	char			*path;
	size_t			 i;

	w->capped = 0;
	if (cfg->watch_paths == NULL) {
		add_tree(w, cfg->cwd, "");
		return;
	}
	if (as_user(w, &saved) == -1)
		return;
	for (i = 0; cfg->watch_paths[i] != NULL; i++) {
		path = path_join(cfg->cwd, cfg->watch_paths[i]);
		while (strlen(path) > 1 && path[strlen(path) - 1] == '/')
			path[strlen(path) - 1] = '\0';
		if (stat(path, &st) == -1)
			log_warn("%s: watch_paths: %s: %s; not watched",
			    w->app->name, cfg->watch_paths[i], strerror(errno));
		else if (S_ISDIR(st.st_mode))
			add_tree(w, path, "");
		else
			add_file(w, path);
		free(path);
	}
	as_pmd(w, &saved);
}

static void
drop_all(struct watch *w)
{
	queue_clear(w);
	while (w->ndirs > 0) {
		inotify_rm_watch(w->fd, w->dirs[0].wd);
		forget(w, &w->dirs[0]);
	}
}

/* What changed, shown from the app's cwd when it is below it. */
static char *
shown(struct watch *w, const char *path)
{
	size_t	n = strlen(w->cfg->cwd);

	if (strncmp(path, w->cfg->cwd, n) == 0 && path[n] == '/')
		return xstrdup(path + n + 1);
	return xstrdup(path);
}

static void
changed(struct watch *w, const char *path)
{
	if (w->first == NULL)
		w->first = shown(w, path);
	w->changes++;
	w->delay_w.repeat = w->cfg->watch_delay / 1000.0;
	if (w->delay_w.repeat <= 0)
		w->delay_w.repeat = 1e-3;
	ev_timer_again(pmd_loop, &w->delay_w);
}

static void
delay_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct watch	*w = container_of(t, struct watch, delay_w);
	char		*what;

	(void)loop; (void)revents;
	ev_timer_stop(pmd_loop, t);
	if (w->rescan) {
		w->rescan = 0;
		drop_all(w);
		add_all(w);
	}
	if (w->changes > 1)
		what = xprintf("watch: %s changed (and %u more)", w->first,
		    w->changes - 1);
	else
		what = xprintf("watch: %s changed", w->first);
	free(w->first);
	w->first = NULL;
	w->changes = 0;
	trigger_roll(w->app, what);
	free(what);
}

/*
 * Whether ev is about a unix socket or a FIFO: made (remembered), or
 * removed after it was seen made. Neither is a change of the app's files.
 */
static int
special(struct wdir *d, const struct inotify_event *ev, const char *path)
{
	struct stat	st;

	if (ev->mask & IN_ISDIR)
		return 0;
	if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
		return d->sockets != NULL && strv_del(d->sockets, ev->name);
	if (lstat(path, &st) == 0 && (S_ISSOCK(st.st_mode) ||
	    S_ISFIFO(st.st_mode))) {
		strv_add(&d->sockets, ev->name);
		return 1;
	}
	return 0;
}

static void
event(struct watch *w, const struct inotify_event *ev)
{
	struct wdir	*d;
	char		*path, *rel, *prefix;
	size_t		 i, n;
	int		 all;

	if (ev->mask & IN_Q_OVERFLOW) {
		w->rescan = 1;
		changed(w, "(too many changes to list)");
		return;
	}
	if ((d = find(w, ev->wd)) == NULL)
		return;
	if (ev->mask & IN_IGNORED) {
		if (*d->rel == '\0')
			w->rescan = 1;	/* a watched path went away */
		forget(w, d);
		return;
	}
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
		if (*d->rel == '\0') {
			w->rescan = 1;	/* replaced: watch the new one */
			changed(w, d->path);
		}
		return;
	}
	if (ev->len == 0)
		return;
	all = d->all;
	path = xprintf("%s/%s", d->path, ev->name);
	rel = *d->rel == '\0' ? xstrdup(ev->name) :
	    xprintf("%s/%s", d->rel, ev->name);
	if (!strv_has(d->names, ev->name) && (!all ||
	    path_ignored(w->cfg->ignore_watch, rel) ||
	    path_ignored(watch_ignored, rel) || daemon_owns(path)))
		goto out;
	if (special(d, ev, path))
		goto out;
	if ((ev->mask & IN_ISDIR) && (ev->mask & IN_MOVED_FROM)) {
		/* Its watches would go on with a path it no longer has. */
		prefix = xprintf("%s/", path);
		n = strlen(prefix);
		for (i = 0; i < w->ndirs; i++) {
			if (strcmp(w->dirs[i].path, path) == 0 ||
			    strncmp(w->dirs[i].path, prefix, n) == 0) {
				inotify_rm_watch(w->fd, w->dirs[i].wd);
				forget(w, &w->dirs[i]);
				i--;
			}
		}
		free(prefix);
	}
	if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO)) &&
	    all)
		add_tree(w, path, rel);
	changed(w, path);
out:
	free(path);
	free(rel);
}

static void
io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct watch	*w = container_of(io, struct watch, io_w);
	char		 buf[8192]
			    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t		 n;
	char		*p;

	(void)loop; (void)revents;
	for (;;) {
		n = read(w->fd, buf, sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (p = buf; p < buf + n; p += sizeof *ev + ev->len) {
			ev = (const struct inotify_event *)p;
			event(w, ev);
		}
	}
}

/* Begin watching for a, as its config says; nothing if it does not ask. */
struct watch *
watch_new(struct app *a)
{
	struct app_config	*cfg = a->cfg;
	struct watch		*w;
	struct creds		 saved;
	char			*cause;
	int			 fd;

	if (cfg->watch == 0 || (cfg->watch == -1 && cfg->watch_paths == NULL))
		return NULL;
	w = xcalloc(1, sizeof *w);
	w->app = a;
	w->cfg = cfg;
	w->as_user = geteuid() == 0 && cfg->user != NULL && cfg->uid != 0;
	if (w->as_user && creds_of(cfg->user, cfg->uid, cfg->gid !=
	    (gid_t)-1 ? cfg->gid : cfg->uid, &w->creds, &cause) == -1) {
		log_warn("%s: watch: %s; files are not watched", a->name,
		    cause);
		free(cause);
		free(w);
		return NULL;
	}
	/* Made as the user: its watches count against its own budget. */
	if (as_user(w, &saved) == -1) {
		free(w);
		return NULL;
	}
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	as_pmd(w, &saved);
	if (fd == -1) {
		log_warn("%s: watch: inotify: %s%s; files are not watched",
		    a->name, strerror(errno), errno == EMFILE ?
		    " (raise fs.inotify.max_user_instances)" : "");
		free(w);
		return NULL;
	}
	w->fd = fd;
	ev_io_init(&w->io_w, io_cb, fd, EV_READ);
	ev_io_start(pmd_loop, &w->io_w);
	ev_init(&w->delay_w, delay_cb);
	ev_init(&w->step_w, step_cb);
	add_all(w);
	return w;
}

void
watch_free(struct watch *w)
{
	if (w == NULL)
		return;
	ev_io_stop(pmd_loop, &w->io_w);
	ev_timer_stop(pmd_loop, &w->delay_w);
	drop_all(w);
	free(w->dirs);
	free(w->queue);
	free(w->first);
	close(w->fd);
	free(w);
}

/* For show: what is watched, what is left out, and how many directories. */
void
watch_info(const struct watch *w, struct watch_info *info)
{
	static char	*cwd[2];

	cwd[0] = w->cfg->cwd;
	info->paths = w->cfg->watch_paths ? w->cfg->watch_paths : cwd;
	info->ignored = watch_ignored;
	info->more_ignored = w->cfg->ignore_watch;
	info->delay = w->cfg->watch_delay;
	info->directories = w->ndirs;
}
