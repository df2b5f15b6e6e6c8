/*
 * What the keys of an [app:NAME] section (the rows of keytab.c) do: one
 * setter per type parses a value into the field; the same rows give
 * defaults, freeing, each key's value as text for pmctl show and the
 * dump, and the comparison reload-config makes.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmd.h"

#define FIELD(a, k, type) ((type *)((char *)(a) + (k)->off))

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
		if (url_check(tok, cause) == -1) {
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

/* The index of v among the blank-separated words of k->what. */
static int
set_choice(const struct app_key *k, int *field, const char *v, char **cause)
{
	const char	*w = k->what;
	size_t		 len = strlen(v);
	int		 i;
	char		*list, *p;

	for (i = 0; *w != '\0'; i++, w += strcspn(w, " "), w += strspn(w, " ")) {
		if (len > 0 && strncmp(w, v, len) == 0 &&
		    (w[len] == ' ' || w[len] == '\0')) {
			*field = i;
			return 0;
		}
	}
	list = xstrdup(k->what);
	if ((p = strrchr(list, ' ')) != NULL) {
		*p = '\0';
		for (char *q = list; *q != '\0'; q++)
			if (*q == ' ')
				*q = ',';
		*cause = xprintf("expected %s or %s, got \"%s\"", list, p + 1,
		    v);
	} else
		*cause = xprintf("expected %s, got \"%s\"", list, v);
	free(list);
	return -1;
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
	case K_HOOK:
		if (split_command(v, &list, cause) == -1)
			return -1;
		argv_free(list);
		free(*FIELD(a, k, char *));
		*FIELD(a, k, char *) = xstrdup(v);
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
	case K_NAME:
		if (!app_name_valid(v)) {
			*cause = xprintf("expected 1 to 64 of A-Z a-z 0-9 . _ - "
			    "(not all digits, not \"all\"), got \"%s\"", v);
			return -1;
		}
		free(*FIELD(a, k, char *));
		*FIELD(a, k, char *) = xstrdup(v);
		return 0;
	case K_ENVNAME:
		if (!env_name_valid(v)) {
			*cause = xprintf("expected an environment variable's "
			    "name (A-Z a-z 0-9 _, not first a digit), got "
			    "\"%s\"", v);
			return -1;
		}
		free(*FIELD(a, k, char *));
		*FIELD(a, k, char *) = xstrdup(v);
		return 0;
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
	case K_CHOICE:
		return set_choice(k, FIELD(a, k, int), v, cause);
	}
	return 0;
}

/* Every key's default, as if written in the file. */
void
keys_default(struct app_config *a)
{
	char	*cause;
	size_t	 i;

	for (i = 0; i < napp_keys; i++) {
		if (app_keys[i].def != NULL &&
		    key_set(&app_keys[i], a, app_keys[i].def, NULL, &cause) == -1)
			fatalx(1, "default of %s: %s", app_keys[i].name, cause);
	}
}

/* What the keys of a hold, freed. */
void
keys_free(struct app_config *a)
{
	size_t	i;

	for (i = 0; i < napp_keys; i++) {
		switch (app_keys[i].type) {
		case K_COMMAND:
			argv_free(a->argv);
			/* FALLTHROUGH */
		case K_PATH:
		case K_USER:
		case K_GROUP:
		case K_DATE_FORMAT:
		case K_CRON:
		case K_HOOK:
		case K_NAME:
		case K_ENVNAME:
			free(*FIELD(a, &app_keys[i], char *));
			break;
		case K_LISTEN:
		case K_LIST:
			argv_free(*FIELD(a, &app_keys[i], char **));
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
	case K_HOOK:
	case K_NAME:
	case K_ENVNAME:
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
	case K_CHOICE:
		s = xstrdup(k->what);
		for (t = s, code = *(const int *)f; code > 0 && *t != '\0';
		    code--)
			t += strcspn(t, " ") + 1;
		t[strcspn(t, " ")] = '\0';
		t = xstrdup(t);
		free(s);
		return t;
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

	for (i = 0; i < napp_keys && same; i++) {
		if (except != NULL && strcmp(app_keys[i].name, except) == 0)
			continue;
		ta = key_text(&app_keys[i], a);
		tb = key_text(&app_keys[i], b);
		same = (ta == NULL && tb == NULL) || (ta != NULL && tb != NULL &&
		    strcmp(ta, tb) == 0);
		free(ta);
		free(tb);
	}
	return same;
}
