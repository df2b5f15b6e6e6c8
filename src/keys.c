/*
 * The keys of an [app:NAME] section, as data: one row per key says its
 * type, where it lives in struct app_config, its default (as it would be
 * written in a file) and its bounds. One setter per type parses a value
 * into the field; the same rows give defaults, freeing, "did you mean",
 * and each key's value as text for pmctl show. A new key is a field, a
 * row, its man page and its test.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmd.h"

#define F(field)	offsetof(struct app_config, field)
#define FIELD(a, k, type) ((type *)((char *)(a) + (k)->off))

static const struct app_key keys[] = {
	{ "command", K_COMMAND, F(command), NULL, 0, 0, NULL },
	{ "cwd", K_PATH, F(cwd), NULL, 0, 0, "expected a directory" },
	{ "instances", K_INSTANCES, F(instances), "1", 0, 0, NULL },
	{ "autorestart", K_BOOL, F(autorestart), "true", 0, 0, NULL },
	{ "min_uptime", K_DURATION, F(min_uptime), "1s", 0, 0, NULL },
	{ "max_restarts", K_UINT, F(max_restarts), "16", 0, 1000000, NULL },
	{ "restart_delay", K_DURATION, F(restart_delay), "0", 0, 0, NULL },
	{ "exp_backoff_restart_delay", K_DURATION, F(exp_backoff), "0", 0, 0,
	  NULL },
	{ "stop_exit_codes", K_EXIT_CODES, F(stop_exit_codes), NULL, 0, 0,
	  NULL },
	{ "kill_signal", K_SIGNAL, F(kill_signal), "SIGTERM", 0, 0, NULL },
	{ "kill_timeout", K_DURATION, F(kill_timeout), "5s", 0, 0, NULL },
	{ "user", K_USER, F(user), NULL, 0, 0, NULL },
	{ "group", K_GROUP, F(group), NULL, 0, 0, NULL },
	{ "out_file", K_PATH, F(out_file), NULL, 0, 0,
	  "expected a file path (or /dev/null)" },
	{ "err_file", K_PATH, F(err_file), NULL, 0, 0,
	  "expected a file path (or /dev/null)" },
	{ "merge_logs", K_BOOL, F(merge_logs), "true", 0, 0, NULL },
	{ "log_date_format", K_DATE_FORMAT, F(log_date_format),
	  LOG_DATE_DEFAULT, 0, 0, NULL },
	{ "log_max_size", K_SIZE, F(log_max_size), "10M", 1024, 0,
	  "0 (never rotate) or at least 1K" },
	{ "log_retain", K_UINT, F(log_retain), "5", 0, 1000, NULL },
	{ "listen", K_LISTEN, F(listen), NULL, 0, 0, NULL },
	{ "listen_backlog", K_UINT, F(listen_backlog), "511", 0, 65535, NULL },
	{ "listen_mode", K_MODE, F(listen_mode), "0660", 0, 0, NULL },
	{ "wait_ready", K_BOOL, F(wait_ready), "false", 0, 0, NULL },
	{ "listen_timeout", K_DURATION, F(listen_timeout), "30s", 0, 0, NULL },
	{ "max_memory_restart", K_SIZE, F(max_memory), "0", 1024 * 1024, 0,
	  "0 (no limit) or at least 1M" },
	{ "memory_check_interval", K_DURATION, F(memory_interval), "5s", 100,
	  0, NULL },
	{ "cron_restart", K_CRON, F(cron_text), NULL, 0, 0, NULL },
	{ "watch", K_TRIBOOL, F(watch), NULL, 0, 0, NULL },
	{ "watch_paths", K_LIST, F(watch_paths), NULL, 0, 0, NULL },
	{ "ignore_watch", K_LIST, F(ignore_watch), NULL, 0, 0, NULL },
	{ "watch_delay", K_DURATION, F(watch_delay), "1s", 0, 0, NULL },
};

const struct app_key *const app_keys = keys;
const size_t napp_keys = nitems(keys);

const struct app_key *
key_find(const char *name)
{
	size_t	i;

	for (i = 0; i < nitems(keys); i++) {
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	}
	return NULL;
}

static int
set_user(struct app_config *a, const char *v, char **cause)
{
	struct passwd	*pw;

	if (geteuid() != 0) {
		*cause = xstrdup("only allowed when pmd runs as root");
		return -1;
	}
	if ((pw = getpwnam(v)) == NULL) {
		*cause = xprintf("no such user \"%s\"", v);
		return -1;
	}
	free(a->user);
	a->user = xstrdup(v);
	a->uid = pw->pw_uid;
	if (a->group == NULL)
		a->gid = pw->pw_gid;
	return 0;
}

static int
set_group(struct app_config *a, const char *v, char **cause)
{
	struct group	*gr;

	if (geteuid() != 0) {
		*cause = xstrdup("only allowed when pmd runs as root");
		return -1;
	}
	if ((gr = getgrnam(v)) == NULL) {
		*cause = xprintf("no such group \"%s\"", v);
		return -1;
	}
	free(a->group);
	a->group = xstrdup(v);
	a->gid = gr->gr_gid;
	return 0;
}

/* listen: URLs split at commas and blanks, each checked. */
static int
set_listen(char ***field, const char *v, char **cause)
{
	char		**urls = NULL, *copy = xstrdup(v), *tok, *save;
	size_t		 n = 0;

	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if (listen_check(tok, cause) == -1) {
			free(copy);
			argv_free(urls);
			return -1;
		}
		urls = xrealloc(urls, (n + 2) * sizeof *urls);
		urls[n++] = xstrdup(tok);
		urls[n] = NULL;
	}
	free(copy);
	if (n == 0) {
		*cause = xstrdup("expected one or more URLs, comma-separated");
		return -1;
	}
	argv_free(*field);
	*field = urls;
	return 0;
}

/*
 * Set k of a from the text v (relative paths from dir). Returns -1 with
 * *cause, which does not name the key: the caller adds where it is.
 */
int
key_set(const struct app_key *k, struct app_config *a, const char *v,
    const char *dir, char **cause)
{
	uint64_t	 n;
	unsigned long	 u;
	char		**list, *end;

	switch (k->type) {
	case K_COMMAND:
		if (split_command(v, &list, cause) == -1)
			return -1;
		argv_free(a->argv);
		free(a->command);
		a->argv = list;
		a->command = xstrdup(v);
		return 0;
	case K_PATH:
		if (*v == '\0') {
			*cause = xstrdup(k->what);
			return -1;
		}
		free(*FIELD(a, k, char *));
		*FIELD(a, k, char *) = path_join(dir, v);
		return 0;
	case K_INSTANCES:
		return parse_instances(v, FIELD(a, k, int), cause);
	case K_BOOL:
	case K_TRIBOOL:
		return parse_bool(v, FIELD(a, k, int), cause);
	case K_DURATION:
	case K_SIZE:
		if ((k->type == K_DURATION ? parse_duration(v, &n, cause) :
		    parse_size(v, &n, cause)) == -1)
			return -1;
		if (n < k->min && (n != 0 || k->what == NULL)) {
			*cause = k->what != NULL ? xprintf("expected %s, got "
			    "\"%s\"", k->what, v) : xprintf("expected at least "
			    "%.0fms, got \"%s\"", k->min, v);
			return -1;
		}
		*FIELD(a, k, uint64_t) = n;
		return 0;
	case K_UINT:
		if (parse_uint(v, (unsigned long)k->max, &u, cause) == -1)
			return -1;
		*FIELD(a, k, unsigned) = (unsigned)u;
		return 0;
	case K_SIGNAL:
		return parse_signal(v, FIELD(a, k, int), cause);
	case K_EXIT_CODES:
		return parse_exit_codes(v, FIELD(a, k, uint8_t), cause);
	case K_USER:
		return set_user(a, v, cause);
	case K_GROUP:
		return set_group(a, v, cause);
	case K_DATE_FORMAT:
		free(a->log_date_format);
		a->log_date_format = NULL;
		if (strcmp(v, "none") == 0)
			return 0;
		if (*v == '\0' || strlen(v) > 64) {
			*cause = xstrdup("expected a strftime(3) format of up "
			    "to 64 characters (%L for milliseconds), or none");
			return -1;
		}
		a->log_date_format = xstrdup(v);
		return 0;
	case K_LISTEN:
		return set_listen(FIELD(a, k, char **), v, cause);
	case K_MODE:
		errno = 0;
		u = strtoul(v, &end, 8);
		if (*v == '\0' || *end != '\0' || errno != 0 || u > 0777) {
			*cause = xprintf("expected an octal mode such as 0660, "
			    "got \"%s\"", v);
			return -1;
		}
		a->listen_mode = (mode_t)u;
		return 0;
	case K_CRON:
		if (cron_parse(v, &a->cron, cause) == -1)
			return -1;
		free(a->cron_text);
		a->cron_text = xstrdup(v);
		return 0;
	case K_LIST:
		if (parse_list(v, &list, cause) == -1)
			return -1;
		argv_free(*FIELD(a, k, char **));
		*FIELD(a, k, char **) = list;
		return 0;
	}
	return 0;
}

/* Every key's default, as if written in the file. */
void
keys_default(struct app_config *a)
{
	char	*cause;
	size_t	 i;

	for (i = 0; i < nitems(keys); i++) {
		if (keys[i].def != NULL &&
		    key_set(&keys[i], a, keys[i].def, NULL, &cause) == -1)
			fatalx(1, "default of %s: %s", keys[i].name, cause);
	}
}

/* What the keys of a hold, freed. */
void
keys_free(struct app_config *a)
{
	size_t	i;

	for (i = 0; i < nitems(keys); i++) {
		switch (keys[i].type) {
		case K_COMMAND:
			argv_free(a->argv);
			/* FALLTHROUGH */
		case K_PATH:
		case K_USER:
		case K_GROUP:
		case K_DATE_FORMAT:
		case K_CRON:
			free(*FIELD(a, &keys[i], char *));
			break;
		case K_LISTEN:
		case K_LIST:
			argv_free(*FIELD(a, &keys[i], char **));
			break;
		default:
			break;
		}
	}
}

static char *
join(char *const *list)
{
	char	*s = NULL, *t;

	for (; list != NULL && *list != NULL; list++) {
		t = xprintf("%s%s%s", s ? s : "", s ? ", " : "", *list);
		free(s);
		s = t;
	}
	return s;
}

/* k's value in a, as it would be written in a file; NULL if not set. */
char *
key_text(const struct app_key *k, const struct app_config *a)
{
	const void	*f = (const char *)a + k->off;
	const uint8_t	*bits;
	char		*s = NULL, *t;
	int		 code;

	switch (k->type) {
	case K_COMMAND:
	case K_PATH:
	case K_USER:
	case K_GROUP:
	case K_CRON:
		return *(char *const *)f ? xstrdup(*(char *const *)f) : NULL;
	case K_DATE_FORMAT:
		return xstrdup(a->log_date_format ? a->log_date_format : "none");
	case K_INSTANCES:
		if (a->instances == 0)
			return xstrdup("max");
		return xprintf("%d", a->instances);
	case K_BOOL:
		return xstrdup(*(const int *)f ? "true" : "false");
	case K_TRIBOOL:
		if (*(const int *)f < 0)
			return NULL;
		return xstrdup(*(const int *)f ? "true" : "false");
	case K_DURATION:
		return format_duration(*(const uint64_t *)f);
	case K_SIZE:
		return format_size(*(const uint64_t *)f);
	case K_UINT:
		return xprintf("%u", *(const unsigned *)f);
	case K_SIGNAL:
		return xstrdup(signal_name(*(const int *)f));
	case K_EXIT_CODES:
		bits = f;
		for (code = 0; code < 256; code++) {
			if (!((bits[code / 8] >> (code % 8)) & 1))
				continue;
			t = xprintf("%s%s%d", s ? s : "", s ? ", " : "", code);
			free(s);
			s = t;
		}
		return s;
	case K_MODE:
		return xprintf("%04o", (unsigned)a->listen_mode);
	case K_LISTEN:
	case K_LIST:
		return join(*(char **const *)f);
	}
	return NULL;
}

/* Whether a and b hold the same value of every key but except. */
int
keys_equal(const struct app_config *a, const struct app_config *b,
    const char *except)
{
	char	*ta, *tb;
	size_t	 i;
	int	 same = 1;

	for (i = 0; i < nitems(keys) && same; i++) {
		if (except != NULL && strcmp(keys[i].name, except) == 0)
			continue;
		ta = key_text(&keys[i], a);
		tb = key_text(&keys[i], b);
		same = (ta == NULL && tb == NULL) || (ta != NULL && tb != NULL &&
		    strcmp(ta, tb) == 0);
		free(ta);
		free(tb);
	}
	return same;
}
