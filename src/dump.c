/*
 * save and resurrect: the set of apps, written to the dump file
 * (dump.json) and started again from it.
 *
 * A save must never lose the dump it replaces, whatever happens while it
 * writes: a full disk, a crash, a power cut. So the new dump goes to
 * DUMP.tmp.PID, is fsync'ed, and only then renamed over DUMP, after the
 * old one has been linked to DUMP.bak (the previous generation, used if
 * DUMP cannot be read). The writing is done by a child process, so a slow
 * disk never stalls the event loop; the client gets its answer when the
 * child has exited.
 *
 * The dump holds, for each app: its name, where its definition comes from
 * (a config file, or the command, cwd and environment of pmctl start --
 * CMD), its env profile, its instance count and which instances were
 * stopped by the user. Config apps are read again from their files when
 * they are resurrected, so an edit made since the save takes effect.
 */
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"	/* PMD_VERSION */

#define DUMP_VERSION	1

char *dump_path;

struct save {
	LIST_ENTRY(save)	 entry;
	unsigned		 gen;
	int			 errfd;		/* the child's error message */
	char			*error;
	int			 done;
	size_t			 napps;
	struct child		 child;
};

static LIST_HEAD(, save) saves = LIST_HEAD_INITIALIZER(saves);
static unsigned		 save_gen;

/* Whether a save is being written (pmctl update waits for its end). */
int
dump_saving(void)
{
	struct save	*s;

	LIST_FOREACH(s, &saves, entry) {
		if (!s->done)
			return 1;
	}
	return 0;
}

static cJSON *
app_dump(struct app *a)
{
	cJSON		*o = cJSON_CreateObject(), *stopped, *list, *ids;
	unsigned	 i, n = 0;
	char		**e;

	cJSON_AddStringToObject(o, "name", a->name);
	if (a->adhoc) {
		list = cJSON_AddArrayToObject(o, "command");
		for (e = a->cfg->argv; *e != NULL; e++)
			cJSON_AddItemToArray(list, cJSON_CreateString(*e));
		cJSON_AddStringToObject(o, "cwd", a->cfg->cwd);
		/* Its keys given as options (pmctl start --KEY VALUE). */
		cJSON_AddItemToObject(o, "keys", appcfg_keys_json(a->cfg));
		if (a->base_env != NULL) {
			list = cJSON_AddArrayToObject(o, "env");
			for (e = a->base_env; *e != NULL; e++)
				cJSON_AddItemToArray(list,
				    cJSON_CreateString(*e));
		}
	} else
		cJSON_AddStringToObject(o, "file", a->cfg->file);
	/* Started by a peer with less privilege: it runs as that peer. */
	if (a->cfg->owner != OWNER_NONE)
		cJSON_AddNumberToObject(o, "owner", a->cfg->owner);
	if (a->profile != NULL)
		cJSON_AddStringToObject(o, "profile", a->profile);
	stopped = cJSON_CreateArray();
	ids = cJSON_CreateArray();
	for (i = 0; i < a->nworkers; i++) {
		if (a->workers[i]->sm.want == WANT_GONE)
			continue;
		n++;
		cJSON_AddItemToArray(ids,
		    cJSON_CreateNumber(a->workers[i]->pm_id));
		if (a->workers[i]->sm.want == WANT_DOWN)
			cJSON_AddItemToArray(stopped, cJSON_CreateNumber(i));
	}
	cJSON_AddNumberToObject(o, "instances", n);
	cJSON_AddItemToObject(o, "stopped", stopped);
	cJSON_AddItemToObject(o, "ids", ids);
	return o;
}

/* Whether v is n different whole numbers from 1 to UINT_MAX. */
static int
ids_valid(const cJSON *v, unsigned n)
{
	const cJSON	*x, *y;

	if (!cJSON_IsArray(v) || (unsigned)cJSON_GetArraySize(v) != n)
		return 0;
	cJSON_ArrayForEach(x, v) {
		if (!cJSON_IsNumber(x) || x->valuedouble < 1 ||
		    x->valuedouble > UINT_MAX ||
		    x->valuedouble != (double)(unsigned)x->valuedouble)
			return 0;
		for (y = x->next; y != NULL; y = y->next) {
			if (cJSON_IsNumber(y) && y->valuedouble == x->valuedouble)
				return 0;
		}
	}
	return 1;
}

/* In the child: write text to the dump file, or say why not on errfd. */
static void __attribute__((noreturn))
write_dump(const char *text, int errfd)
{
	char	*tmp = xprintf("%s.tmp.%ld", dump_path, (long)getpid());
	char	*bak = xprintf("%s.bak", dump_path);
	char	*dir = path_dirname(dump_path), *cause;
	size_t	 len = strlen(text), off = 0;
	ssize_t	 n;
	int	 fd = -1, dfd;

	if (mkdir_p(dir, 0700, &cause) == -1) {
		dprintf(errfd, "%s", cause);
		_exit(1);
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1)
		goto fail;
	while (off < len) {
		if ((n = write(fd, text + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	/* The previous generation stays, as DUMP.bak. */
	if ((unlink(bak) == -1 && errno != ENOENT) ||
	    (link(dump_path, bak) == -1 && errno != ENOENT &&
	    errno != EEXIST)) {
		dprintf(errfd, "%s: %s", bak, strerror(errno));
		unlink(tmp);
		_exit(1);
	}
	if (rename(tmp, dump_path) == -1) {
		dprintf(errfd, "%s: %s", dump_path, strerror(errno));
		unlink(tmp);
		_exit(1);
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fsync(dfd);
		close(dfd);
	}
	_exit(0);

fail:
	dprintf(errfd, "%s: %s; %s is unchanged", tmp, strerror(errno),
	    dump_path);
	if (fd != -1)
		close(fd);
	unlink(tmp);
	_exit(1);
}

static void
save_child_cb(struct child *c)
{
	struct save	*s = container_of(c, struct save, child);
	char		 buf[1024];
	ssize_t		 n;

	n = read(s->errfd, buf, sizeof buf - 1);
	close(s->errfd);
	buf[n > 0 ? n : 0] = '\0';
	if (WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0)
		log_info("saved %zu app%s to %s", s->napps,
		    s->napps == 1 ? "" : "s", dump_path);
	else {
		if (*buf == '\0')
			snprintf(buf, sizeof buf, "the writer %s",
			    WIFSIGNALED(c->status) ? "was killed" : "failed");
		s->error = xprintf("save: %s", buf);
		log_warn("%s", s->error);
	}
	s->done = 1;
	daemon_dirty();
}

/*
 * Whether the save of generation gen has ended: 0 not yet; 1, with the
 * number of apps written in *napps, or *error (to free) if it failed.
 */
int
dump_save_done(unsigned gen, size_t *napps, char **error)
{
	struct save	*s;

	LIST_FOREACH(s, &saves, entry) {
		if (s->gen == gen)
			break;
	}
	if (s == NULL || !s->done)
		return 0;
	*napps = s->napps;
	*error = s->error;
	LIST_REMOVE(s, entry);
	free(s);
	return 1;
}

/*
 * save: the dump is written by a child; dump_save_done() tells when it has
 * exited. The save's generation, or 0 with *cause.
 */
unsigned
dump_save_begin(char **cause)
{
	struct app_config	*cfg;
	struct app		*a;
	struct save		*s;
	cJSON			*root, *list;
	char			*text;
	int			 p[2];
	pid_t			 pid;

	root = cJSON_CreateObject();
	cJSON_AddNumberToObject(root, "version", DUMP_VERSION);
	cJSON_AddStringToObject(root, "pmd", PMD_VERSION);
	list = cJSON_AddArrayToObject(root, "apps");
	s = xcalloc(1, sizeof *s);
	TAILQ_FOREACH(a, &apps, entry) {
		if (a->want == APP_GONE)
			continue;
		cJSON_AddItemToArray(list, app_dump(a));
		s->napps++;
	}
	/* The configured apps as they were: one not in apps was deleted. */
	list = cJSON_AddArrayToObject(root, "known");
	TAILQ_FOREACH(cfg, &config->apps, entry)
		cJSON_AddItemToArray(list, cJSON_CreateString(cfg->name));
	text = cJSON_Print(root);
	cJSON_Delete(root);
	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		*cause = xprintf("save: %s", strerror(errno));
		free(text);
		free(s);
		return 0;
	}
	if (pid == 0) {
		close(p[0]);
		write_dump(text, p[1]);
	}
	free(text);
	close(p[1]);
	if (child_watch(&s->child, pid, -1, save_child_cb) == -1) {
		*cause = xprintf("save: pidfd_open: %s", strerror(errno));
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		close(p[0]);
		free(s);
		return 0;
	}
	s->errfd = p[0];
	s->gen = ++save_gen;
	if (s->gen == 0)
		s->gen = ++save_gen;
	LIST_INSERT_HEAD(&saves, s, entry);
	return s->gen;
}

#define DUMP_MAX	(64 * 1024 * 1024)	/* bytes: far above any real dump */

/* A dump read, with its top level checked; entries are checked one by one. */
static cJSON *
dump_read(const char *path, char **cause)
{
	char		*text, *where;
	size_t		 len;
	const char	*end = NULL;
	cJSON		*root, *v;
	int		 line;

	if (file_read(path, DUMP_MAX, &text, &len, cause) == -1)
		return NULL;
	root = cJSON_ParseWithOpts(text, &end, 1);
	if (root == NULL) {
		for (line = 1, where = text; end != NULL && where < end &&
		    *where != '\0'; where++)
			line += *where == '\n';
		*cause = xprintf("%s:%d: not valid JSON%s", path, line,
		    len == 0 ? " (the file is empty)" : "");
		free(text);
		return NULL;
	}
	free(text);
	if (!cJSON_IsObject(root))
		*cause = xprintf("%s: expected a JSON object", path);
	else if (!cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(root,
	    "version")) || v->valuedouble != DUMP_VERSION)
		*cause = xprintf("%s: version: expected %d", path, DUMP_VERSION);
	else if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "apps")))
		*cause = xprintf("%s: apps: expected an array", path);
	else
		return root;
	cJSON_Delete(root);
	return NULL;
}

/* Whether e, apps[i] of the dump, can be restored; else which field not. */
static int
entry_check(cJSON *e, int i, char **why)
{
	const char	*name = json_string(e, "name"), *s;
	cJSON		*v;

#define BAD(field, msg) do { *why = field != NULL ? \
	xprintf("apps[%d].%s: %s", i, (char *)field, msg) : \
	xprintf("apps[%d]: %s", i, msg); return -1; } while (0)
	if (!cJSON_IsObject(e))
		BAD(NULL, "expected an object");
	if (name == NULL || !app_name_valid(name))
		BAD("name", "expected an app name");
	v = cJSON_GetObjectItemCaseSensitive(e, "instances");
	if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 4096 ||
	    v->valuedouble != (int)v->valuedouble)
		BAD("instances", "expected a whole number from 1 to 4096");
	if ((v = cJSON_GetObjectItemCaseSensitive(e, "command")) != NULL) {
		if (!json_is_strings(v, 1))
			BAD("command", "expected a non-empty array of strings");
		if ((s = json_string(e, "cwd")) == NULL || s[0] != '/')
			BAD("cwd", "expected an absolute path");
		v = cJSON_GetObjectItemCaseSensitive(e, "env");
		if (v != NULL && !json_is_strings(v, 0))
			BAD("env", "expected an array of strings");
		v = cJSON_GetObjectItemCaseSensitive(e, "watch");
		if (v != NULL && !cJSON_IsBool(v))
			BAD("watch", "expected true or false");
		v = cJSON_GetObjectItemCaseSensitive(e, "keys");
		if (v != NULL && !cJSON_IsObject(v))
			BAD("keys", "expected an object of key names and values");
	} else if ((s = json_string(e, "file")) == NULL || s[0] != '/')
		BAD("file", "expected an absolute path");
	v = cJSON_GetObjectItemCaseSensitive(e, "stopped");
	if (v != NULL && !cJSON_IsArray(v))
		BAD("stopped", "expected an array of instance numbers");
	v = cJSON_GetObjectItemCaseSensitive(e, "profile");
	if (v != NULL && !cJSON_IsString(v))
		BAD("profile", "expected a string");
	v = cJSON_GetObjectItemCaseSensitive(e, "ids");
	if (v != NULL && !ids_valid(v, (unsigned)cJSON_GetObjectItemCaseSensitive(
	    e, "instances")->valuedouble))
		BAD("ids", "expected as many different worker ids (1 to "
		    "4294967295) as instances");
	v = cJSON_GetObjectItemCaseSensitive(e, "owner");
	if (v != NULL && (!cJSON_IsNumber(v) || v->valuedouble < 1 ||
	    v->valuedouble >= OWNER_NONE || v->valuedouble != (long)v->valuedouble))
		BAD("owner", "expected a uid");
#undef BAD
	return 0;
}

/* The config of a dumped app from its file, added to the daemon's. */
static struct app_config *
file_config(const char *name, const char *file, uid_t owner, char **why)
{
	struct config		*loaded;
	struct app_config	*cfg, *known = config_find(config, name);

	if (strv_has(config->files, file) ||
	    strv_has(config->extra, file)) {
		if (known == NULL || strcmp(known->file, file) != 0) {
			*why = xprintf("%s no longer defines it", file);
			return NULL;
		}
		return known;
	}
	if (known != NULL) {
		*why = xprintf("%s:%d defines an app of that name", known->file,
		    known->line);
		return NULL;
	}
	if (config_load(file, owner, &loaded, why) == -1)
		return NULL;
	if ((cfg = config_find(loaded, name)) == NULL) {
		*why = xprintf("%s no longer defines it", file);
		config_free(loaded);
		return NULL;
	}
	TAILQ_REMOVE(&loaded->apps, cfg, entry);
	config_merge(config, cfg, 0);
	config_add_extra(config, file, owner);
	config_free(loaded);
	return cfg;
}

static char **
strings(cJSON *array)
{
	char	**v = xcalloc(cJSON_GetArraySize(array) + 1, sizeof *v);
	cJSON	*x;
	size_t	 n = 0;

	cJSON_ArrayForEach(x, array) {
		if (cJSON_IsString(x))
			v[n++] = xstrdup(x->valuestring);
	}
	return v;
}

/* Bring back one app of the dump, or say why not. */
static int
restore(cJSON *e, int i, char **why)
{
	const char		*name = json_string(e, "name");
	cJSON			*cmd = cJSON_GetObjectItemCaseSensitive(e,
				    "command"), *x;
	cJSON			*env = cJSON_GetObjectItemCaseSensitive(e, "env");
	unsigned		 n, k, *ids = NULL;
	cJSON			*o = cJSON_GetObjectItemCaseSensitive(e,
				    "owner");
	uid_t			 owner = OWNER_NONE;
	struct app_config	*cfg;
	struct app		*a;
	char			*held, *keys_where;
	int			 rc;

	if (entry_check(e, i, why) == -1)
		return -1;
	/* Checked now: a uid, cast only once it is known to be one. */
	if (o != NULL)
		owner = (uid_t)o->valuedouble;
	if ((a = app_find(name)) != NULL) {
		*why = xstrdup(a->want == APP_GONE ? "being deleted" :
		    "already running");
		return -1;
	}
	n = (unsigned)cJSON_GetObjectItemCaseSensitive(e,
	    "instances")->valuedouble;
	if (cmd != NULL) {
		if (config_find(config, name) != NULL) {
			*why = xstrdup("a configured app has that name");
			return -1;
		}
		cfg = appcfg_adhoc(name, strings(cmd), json_string(e, "cwd"),
		    (int)n);
		cfg->watch = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e,
		    "watch"));
		keys_where = xprintf("apps[%d].keys.", i);
		rc = appcfg_set_keys(cfg, cJSON_GetObjectItemCaseSensitive(e,
		    "keys"), keys_where, why);
		free(keys_where);
		if (rc == -1 || appcfg_confine(cfg, owner, why) == -1) {
			appcfg_unref(cfg);
			return -1;
		}
	} else if ((cfg = file_config(name, json_string(e, "file"), owner,
	    why)) == NULL)
		return -1;
	else
		appcfg_ref(cfg);
	if (budget_admit(budget_app_fds(cfg, n), 0, "resurrect", cfg, n,
	    why) == -1) {
		appcfg_unref(cfg);
		return -1;
	}
	held = xcalloc(n, 1);
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(e, "stopped")) {
		if (cJSON_IsNumber(x) && x->valuedouble >= 0 &&
		    x->valuedouble < n)
			held[(unsigned)x->valuedouble] = 1;
	}
	if ((x = cJSON_GetObjectItemCaseSensitive(e, "ids")) != NULL) {
		ids = xcalloc(n, sizeof *ids);
		for (k = 0; k < n; k++)
			ids[k] = (unsigned)cJSON_GetArrayItem(x,
			    (int)k)->valuedouble;
	}
	app_restore(cfg, cmd != NULL && cJSON_IsArray(env) ? strings(env) :
	    NULL, cmd != NULL, json_string(e, "profile"), n, held, ids);
	appcfg_unref(cfg);
	free(held);
	free(ids);
	return 0;
}

/*
 * Start the apps of the dump that are not running. With deleted (pmd
 * --resurrect at start), the names of the configured apps that the dump
 * knew of but did not hold, as they were deleted, are added to *deleted:
 * the caller starts the other configured apps, which are new since.
 * *result, if wanted, tells what was done.
 */
int
dump_resurrect(char ***deleted, struct resurrect_result *res, char **cause)
{
	cJSON	*root, *e, *known;
	char	*bak = xprintf("%s.bak", dump_path), *why, *first = NULL;
	char	*label;
	int	 i = 0;
	size_t	 ndone = 0;

	if (res != NULL)
		memset(res, 0, sizeof *res);
	if ((root = dump_read(dump_path, &first)) == NULL) {
		if (access(dump_path, F_OK) == -1 && errno == ENOENT &&
		    access(bak, F_OK) == -1) {
			free(first);
			free(bak);
			if (deleted != NULL) {
				log_info("resurrect: no %s yet: nothing to "
				    "start", dump_path);
				return 0;
			}
			*cause = xprintf("resurrect: no %s: run pmctl save "
			    "first", dump_path);
			return -1;
		}
		if ((root = dump_read(bak, &why)) == NULL) {
			*cause = xprintf("resurrect: %s; and the previous "
			    "generation: %s", first, why);
			free(why);
			free(first);
			free(bak);
			return -1;
		}
		log_warn("resurrect: %s; using the previous generation, %s",
		    first, bak);
	}
	free(bak);
	if (res != NULL)
		res->warning = first;
	else
		free(first);
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, "apps")) {
		if (restore(e, i, &why) == 0) {
			if (res != NULL)
				strv_add(&res->resurrected,
				    json_string(e, "name"));
			ndone++;
			i++;
			continue;
		}
		/* apps[3].instances: ... or app "web": already running */
		label = json_string(e, "name") != NULL &&
		    app_name_valid(json_string(e, "name")) ?
		    xstrdup(json_string(e, "name")) : xprintf("apps[%d]", i);
		log_warn("resurrect: %s: %s: %s", dump_path, label, why);
		if (res != NULL) {
			res->skipped = xrealloc(res->skipped,
			    (res->nskipped + 1) * sizeof *res->skipped);
			res->skipped[res->nskipped].name = label;
			res->skipped[res->nskipped++].reason = why;
		} else {
			free(label);
			free(why);
		}
		i++;
	}
	log_info("resurrect: %zu app%s started from %s", ndone,
	    ndone == 1 ? "" : "s", dump_path);
	known = cJSON_GetObjectItemCaseSensitive(root, "known");
	if (deleted != NULL && cJSON_IsArray(known)) {
		cJSON_ArrayForEach(e, known) {
			if (cJSON_IsString(e) && !app_find(e->valuestring))
				strv_add(deleted, e->valuestring);
		}
	}
	cJSON_Delete(root);
	return 0;
}

void
resurrect_result_free(struct resurrect_result *res)
{
	size_t	i;

	free(res->warning);
	argv_free(res->resurrected);
	for (i = 0; i < res->nskipped; i++) {
		free(res->skipped[i].name);
		free(res->skipped[i].reason);
	}
	free(res->skipped);
	memset(res, 0, sizeof *res);
}
