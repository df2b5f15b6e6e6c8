/*
 * What the keys of an [app:NAME] section (the rows of keytab.c) do: one
 * setter per type parses a value into the field; the same rows give
 * defaults, freeing, each key's value as text for pmctl show and the
 * dump, and the comparison reload-config makes.
 */
#include <sys/resource.h>
#include <linux/capability.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmd.h"

#define FIELD(a, k, type) ((type *)((char *)(a) + (k)->off))
#define CFIELD(a, k, type) ((type const *)((const char *)(a) + (k)->off))

/*
 * Set k of a from the text v (relative paths from dir). Returns -1 with
 * *cause, which does not name the key: the caller adds where it is.
 */
typedef int key_set_fn(const struct app_key *, struct app_config *,
    const char *, const char *, char **);
/* k's value in a, as it would be written in a file; NULL if not set. */
typedef char *key_text_fn(const struct app_key *, const struct app_config *);
/* What k holds in a, freed. */
typedef void key_free_fn(const struct app_key *, struct app_config *);

static int
set_command(const struct app_key *k, struct app_config *a, const char *v,
    const char *dir, char **cause)
{
	char	**argv;

	(void)k;
	(void)dir;
	if (split_command(v, &argv, cause) == -1)
		return -1;
	argv_free(a->argv);
	free(a->command);
	a->argv = argv;
	a->command = xstrdup(v);
	return 0;
}

/* A command kept as text (a hook), split once to check it. */
static int
set_hook(const struct app_key *k, struct app_config *a, const char *v,
    const char *dir, char **cause)
{
	char	**argv;

	(void)dir;
	if (split_command(v, &argv, cause) == -1)
		return -1;
	argv_free(argv);
	free(*FIELD(a, k, char *));
	*FIELD(a, k, char *) = xstrdup(v);
	return 0;
}

static int
set_path(const struct app_key *k, struct app_config *a, const char *v,
    const char *dir, char **cause)
{
	if (*v == '\0') {
		*cause = xstrdup(k->what);
		return -1;
	}
	free(*FIELD(a, k, char *));
	*FIELD(a, k, char *) = path_join(dir, v);
	return 0;
}

static int
set_instances(const struct app_key *k, struct app_config *a, const char *v,
    const char *dir, char **cause)
{
	(void)dir;
	return parse_instances(v, FIELD(a, k, int), cause);
}

static int
set_bool(const struct app_key *k, struct app_config *a, const char *v,
    const char *dir, char **cause)
{
	(void)dir;
	return parse_bool(v, FIELD(a, k, int), cause);
}

/* A duration or a size, at least k->min unless 0 may turn it off. */
static int
set_amount(const struct app_key *k, struct app_config *a, const char *v,
    const char *dir, char **cause)
{
	uint64_t	n;

	(void)dir;
	if ((k->type == K_DURATION ? parse_duration(v, &n, cause) :
	    parse_size(v, &n, cause)) == -1)
		return -1;
	if (n < k->min && (n != 0 || k->what == NULL)) {
		*cause = k->what != NULL ? xprintf("expected %s, got \"%s\"",
		    k->what, v) : xprintf("expected at least %.0fms, got \"%s\"",
		    k->min, v);
		return -1;
	}
	*FIELD(a, k, uint64_t) = n;
	return 0;
}

static int
set_uint(const struct app_key *k, struct app_config *a, const char *v,
    const char *dir, char **cause)
{
	unsigned long	u;

	(void)dir;
	if (parse_uint(v, (unsigned long)k->max, &u, cause) == -1)
		return -1;
	*FIELD(a, k, unsigned) = (unsigned)u;
	return 0;
}

static int
set_signal(const struct app_key *k, struct app_config *a, const char *v,
    const char *dir, char **cause)
{
	(void)dir;
	return parse_signal(v, FIELD(a, k, int), cause);
}

static int
set_exit_codes(const struct app_key *k, struct app_config *a, const char *v,
    const char *dir, char **cause)
{
	(void)dir;
	return parse_exit_codes(v, FIELD(a, k, uint8_t), cause);
}

static int
set_user(const struct app_key *k, struct app_config *a, const char *v,
    const char *dir, char **cause)
{
	struct passwd	*pw;

	(void)k;
	(void)dir;
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
set_group(const struct app_key *k, struct app_config *a, const char *v,
    const char *dir, char **cause)
{
	struct group	*gr;

	(void)k;
	(void)dir;
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

/* A strftime(3) format, or none: no timestamps. */
static int
set_date_format(const struct app_key *k, struct app_config *a, const char *v,
    const char *dir, char **cause)
{
	(void)dir;
	free(*FIELD(a, k, char *));
	*FIELD(a, k, char *) = NULL;
	if (strcmp(v, "none") == 0)
		return 0;
	if (*v == '\0' || strlen(v) > 64) {
		*cause = xstrdup("expected a strftime(3) format of up to 64 "
		    "characters (%L for milliseconds), or none");
		return -1;
	}
	*FIELD(a, k, char *) = xstrdup(v);
	return 0;
}

/* listen: URLs split at commas and blanks, each checked. */
static int
set_listen(const struct app_key *k, struct app_config *a, const char *v,
    const char *dir, char **cause)
{
	char		**urls = NULL, *copy = xstrdup(v), *tok, *save;
	size_t		 n = 0;

	(void)dir;
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
	argv_free(*FIELD(a, k, char **));
	*FIELD(a, k, char **) = urls;
	return 0;
}

static int
set_list(const struct app_key *k, struct app_config *a, const char *v,
    const char *dir, char **cause)
{
	char	**list;

	(void)dir;
	if (parse_list(v, &list, cause) == -1)
		return -1;
	argv_free(*FIELD(a, k, char **));
	*FIELD(a, k, char **) = list;
	return 0;
}

static int
set_mode(const struct app_key *k, struct app_config *a, const char *v,
    const char *dir, char **cause)
{
	unsigned long	 u;
	char		*end;

	(void)dir;
	errno = 0;
	u = strtoul(v, &end, 8);
	if (*v == '\0' || *end != '\0' || errno != 0 || u > 0777) {
		*cause = xprintf("expected an octal mode such as 0660, got "
		    "\"%s\"", v);
		return -1;
	}
	*FIELD(a, k, mode_t) = (mode_t)u;
	return 0;
}

/* cron_restart: parsed into a->cron, the text kept in the field. */
static int
set_cron(const struct app_key *k, struct app_config *a, const char *v,
    const char *dir, char **cause)
{
	(void)dir;
	if (cron_parse(v, &a->cron, cause) == -1)
		return -1;
	free(*FIELD(a, k, char *));
	*FIELD(a, k, char *) = xstrdup(v);
	return 0;
}

/* The index of v among the blank-separated words of k->what. */
static int
set_choice(const struct app_key *k, struct app_config *a, const char *v,
    const char *dir, char **cause)
{
	const char	*w = k->what;
	size_t		 len = strlen(v);
	int		 i;
	char		*list, *p, *q;

	(void)dir;
	for (i = 0; *w != '\0'; i++, w += strcspn(w, " "), w += strspn(w, " ")) {
		if (len > 0 && strncmp(w, v, len) == 0 &&
		    (w[len] == ' ' || w[len] == '\0')) {
			*FIELD(a, k, int) = i;
			return 0;
		}
	}
	list = xstrdup(k->what);
	if ((p = strrchr(list, ' ')) != NULL) {
		*p = '\0';
		for (q = list; *q != '\0'; q++)
			if (*q == ' ')
				*q = ',';
		*cause = xprintf("expected %s or %s, got \"%s\"", list, p + 1,
		    v);
	} else
		*cause = xprintf("expected %s, got \"%s\"", list, v);
	free(list);
	return -1;
}

/* A name: an app's (K_NAME) or an environment variable's (K_ENVNAME). */
static int
set_name(const struct app_key *k, struct app_config *a, const char *v,
    const char *dir, char **cause)
{
	(void)dir;
	if (k->type == K_NAME && !app_name_valid(v)) {
		*cause = xprintf("expected 1 to 64 of A-Z a-z 0-9 . _ - (not all "
		    "digits, not \"all\"), got \"%s\"", v);
		return -1;
	}
	if (k->type == K_ENVNAME && !env_name_valid(v)) {
		*cause = xprintf("expected an environment variable's name (A-Z "
		    "a-z 0-9 _, not first a digit), got \"%s\"", v);
		return -1;
	}
	free(*FIELD(a, k, char *));
	*FIELD(a, k, char *) = xstrdup(v);
	return 0;
}

/* One side of a limit: a count, a size (bytes), or infinity. */
static int
limit_value(const char *s, int bytes, uint64_t *v)
{
	unsigned long	 u;
	char		*cause;

	if (strcmp(s, "infinity") == 0 || strcmp(s, "unlimited") == 0) {
		*v = LIMIT_INFINITY;
		return 0;
	}
	if (bytes ? parse_size(s, v, &cause) : parse_uint(s, ULONG_MAX, &u,
	    &cause)) {
		free(cause);
		return -1;
	}
	if (!bytes)
		*v = u;
	return 0;
}

static char *
limit_text(uint64_t v, int bytes)
{
	if (v == LIMIT_INFINITY)
		return xstrdup("infinity");
	return bytes ? format_size(v) : xprintf("%llu", (unsigned long long)v);
}

/*
 * limit_NAME = N | SOFT:HARD | infinity. pmd grants only what it may:
 * without CAP_SYS_RESOURCE (any user but root, and root in many
 * containers), a hard limit above its own is refused here, naming the
 * limit it has, never clamped.
 */
static int
set_limit(const struct app_key *k, struct app_config *a, const char *v,
    const char *dir, char **cause)
{
	struct app_limit	 l = { 1, 0, 0 };
	const char		*colon = strchr(v, ':');
	char			*soft, *want, *have;
	int			 bytes = k->type == K_LIMIT_SIZE, bad;
	size_t			 i = (k->off - offsetof(struct app_config,
				    limits)) / sizeof l;
	struct rlimit		 rl;

	(void)dir;
	soft = colon != NULL ? xstrndup(v, colon - v) : xstrdup(v);
	bad = limit_value(soft, bytes, &l.soft) == -1 ||
	    limit_value(colon != NULL ? colon + 1 : v, bytes, &l.hard) == -1;
	free(soft);
	if (bad) {
		*cause = xprintf("expected N, SOFT:HARD or infinity%s, got "
		    "\"%s\"", bytes ? " (sizes such as 64M)" : "", v);
		return -1;
	}
	if (l.soft > l.hard) {
		*cause = xprintf("the soft limit is above the hard one in "
		    "\"%s\"", v);
		return -1;
	}
	if (!cap_effective(CAP_SYS_RESOURCE) &&
	    getrlimit(app_limit_resource[i], &rl) == 0 &&
	    rl.rlim_max != RLIM_INFINITY && l.hard > rl.rlim_max) {
		want = limit_text(l.hard, bytes);
		have = limit_text(rl.rlim_max, bytes);
		*cause = xprintf("a hard limit of %s is above pmd's own (%s), "
		    "which only root (CAP_SYS_RESOURCE) can raise", want, have);
		free(want);
		free(have);
		return -1;
	}
	*FIELD(a, k, struct app_limit) = l;
	return 0;
}

/* An integer from k->min to k->max. */
static int
set_int(const struct app_key *k, struct app_config *a, const char *v,
    const char *dir, char **cause)
{
	char	*end;
	long	 n;

	(void)dir;
	errno = 0;
	n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0 || n < k->min ||
	    n > k->max) {
		*cause = xprintf("expected a whole number from %.0f to %.0f, "
		    "got \"%s\"", k->min, k->max, v);
		return -1;
	}
	FIELD(a, k, struct app_int)->set = 1;
	FIELD(a, k, struct app_int)->value = (int)n;
	return 0;
}

static int
set_umask(const struct app_key *k, struct app_config *a, const char *v,
    const char *dir, char **cause)
{
	unsigned long	 u;
	char		*end;

	(void)dir;
	errno = 0;
	u = strtoul(v, &end, 8);
	if (*v < '0' || *v > '7' || *end != '\0' || errno != 0 || u > 0777) {
		*cause = xprintf("expected an octal umask such as 0027, got "
		    "\"%s\"", v);
		return -1;
	}
	FIELD(a, k, struct app_int)->set = 1;
	FIELD(a, k, struct app_int)->value = (int)u;
	return 0;
}

/* A CPU list, each CPU one this machine has. */
static int
set_cpus(const struct app_key *k, struct app_config *a, const char *v,
    const char *dir, char **cause)
{
	cpu_set_t	set;
	long		n = sysconf(_SC_NPROCESSORS_CONF);
	int		cpu;

	(void)dir;
	if (parse_cpus(v, &set, cause) == -1)
		return -1;
	for (cpu = n > 0 ? (int)n : CPU_SETSIZE; cpu < CPU_SETSIZE; cpu++) {
		if (CPU_ISSET(cpu, &set)) {
			*cause = xprintf("CPU %d: this machine has CPUs 0 to "
			    "%ld", cpu, n - 1);
			return -1;
		}
	}
	free(*FIELD(a, k, char *));
	*FIELD(a, k, char *) = xstrdup(v);
	return 0;
}

static char *
text_str(const struct app_key *k, const struct app_config *a)
{
	char *const	*s = CFIELD(a, k, char *);

	return *s != NULL ? xstrdup(*s) : NULL;
}

static char *
text_date_format(const struct app_key *k, const struct app_config *a)
{
	char *const	*s = CFIELD(a, k, char *);

	return xstrdup(*s != NULL ? *s : "none");
}

static char *
text_instances(const struct app_key *k, const struct app_config *a)
{
	int	n = *CFIELD(a, k, int);

	return n == 0 ? xstrdup("max") : xprintf("%d", n);
}

static char *
text_bool(const struct app_key *k, const struct app_config *a)
{
	int	b = *CFIELD(a, k, int);

	/* A tribool not set (-1) has no text. */
	if (b < 0)
		return NULL;
	return xstrdup(b ? "true" : "false");
}

static char *
text_duration(const struct app_key *k, const struct app_config *a)
{
	return format_duration(*CFIELD(a, k, uint64_t));
}

static char *
text_size(const struct app_key *k, const struct app_config *a)
{
	return format_size(*CFIELD(a, k, uint64_t));
}

static char *
text_uint(const struct app_key *k, const struct app_config *a)
{
	return xprintf("%u", *CFIELD(a, k, unsigned));
}

static char *
text_signal(const struct app_key *k, const struct app_config *a)
{
	return xstrdup(signal_name(*CFIELD(a, k, int)));
}

static char *
text_exit_codes(const struct app_key *k, const struct app_config *a)
{
	const uint8_t	*bits = CFIELD(a, k, uint8_t);
	char		*s = NULL, *t;
	int		 code;

	for (code = 0; code < 256; code++) {
		if (!((bits[code / 8] >> (code % 8)) & 1))
			continue;
		t = xprintf("%s%s%d", s ? s : "", s ? ", " : "", code);
		free(s);
		s = t;
	}
	return s;
}

static char *
text_mode(const struct app_key *k, const struct app_config *a)
{
	return xprintf("%04o", (unsigned)*CFIELD(a, k, mode_t));
}

static char *
text_list(const struct app_key *k, const struct app_config *a)
{
	char *const	*list = *CFIELD(a, k, char **);
	char		*s = NULL, *t;

	for (; list != NULL && *list != NULL; list++) {
		t = xprintf("%s%s%s", s ? s : "", s ? ", " : "", *list);
		free(s);
		s = t;
	}
	return s;
}

static char *
text_choice(const struct app_key *k, const struct app_config *a)
{
	char	*s = xstrdup(k->what), *t;
	int	 i;

	for (t = s, i = *CFIELD(a, k, int); i > 0 && *t != '\0'; i--)
		t += strcspn(t, " ") + 1;
	t[strcspn(t, " ")] = '\0';
	t = xstrdup(t);
	free(s);
	return t;
}

static char *
text_limit(const struct app_key *k, const struct app_config *a)
{
	const struct app_limit	*l = CFIELD(a, k, struct app_limit);
	int			 bytes = k->type == K_LIMIT_SIZE;
	char			*soft, *hard, *s;

	if (!l->set)
		return NULL;
	soft = limit_text(l->soft, bytes);
	if (l->soft == l->hard)
		return soft;
	hard = limit_text(l->hard, bytes);
	s = xprintf("%s:%s", soft, hard);
	free(soft);
	free(hard);
	return s;
}

static char *
text_int(const struct app_key *k, const struct app_config *a)
{
	const struct app_int	*n = CFIELD(a, k, struct app_int);

	if (!n->set)
		return NULL;
	return k->type == K_UMASK ? xprintf("%04o", (unsigned)n->value) :
	    xprintf("%d", n->value);
}

static void
free_str(const struct app_key *k, struct app_config *a)
{
	free(*FIELD(a, k, char *));
}

static void
free_list(const struct app_key *k, struct app_config *a)
{
	argv_free(*FIELD(a, k, char **));
}

static void
free_command(const struct app_key *k, struct app_config *a)
{
	argv_free(a->argv);
	free_str(k, a);
}

/* What each type of key does, as nginx's ngx_conf_set_* are. */
static const struct key_ops {
	key_set_fn	*set;
	key_text_fn	*text;
	key_free_fn	*free;		/* NULL: nothing allocated */
} key_ops[] = {
	[K_COMMAND] =	  { set_command, text_str, free_command },
	[K_PATH] =	  { set_path, text_str, free_str },
	[K_INSTANCES] =	  { set_instances, text_instances, NULL },
	[K_BOOL] =	  { set_bool, text_bool, NULL },
	[K_TRIBOOL] =	  { set_bool, text_bool, NULL },
	[K_DURATION] =	  { set_amount, text_duration, NULL },
	[K_SIZE] =	  { set_amount, text_size, NULL },
	[K_UINT] =	  { set_uint, text_uint, NULL },
	[K_SIGNAL] =	  { set_signal, text_signal, NULL },
	[K_EXIT_CODES] =  { set_exit_codes, text_exit_codes, NULL },
	[K_USER] =	  { set_user, text_str, free_str },
	[K_GROUP] =	  { set_group, text_str, free_str },
	[K_DATE_FORMAT] = { set_date_format, text_date_format, free_str },
	[K_LISTEN] =	  { set_listen, text_list, free_list },
	[K_MODE] =	  { set_mode, text_mode, NULL },
	[K_CRON] =	  { set_cron, text_str, free_str },
	[K_LIST] =	  { set_list, text_list, free_list },
	[K_CHOICE] =	  { set_choice, text_choice, NULL },
	[K_HOOK] =	  { set_hook, text_str, free_str },
	[K_NAME] =	  { set_name, text_str, free_str },
	[K_ENVNAME] =	  { set_name, text_str, free_str },
	[K_LIMIT] =	  { set_limit, text_limit, NULL },
	[K_LIMIT_SIZE] =  { set_limit, text_limit, NULL },
	[K_INT] =	  { set_int, text_int, NULL },
	[K_UMASK] =	  { set_umask, text_int, NULL },
	[K_CPUS] =	  { set_cpus, text_str, free_str },
};

int
key_set(const struct app_key *k, struct app_config *a, const char *v,
    const char *dir, char **cause)
{
	return key_ops[k->type].set(k, a, v, dir, cause);
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
		if (key_ops[app_keys[i].type].free != NULL)
			key_ops[app_keys[i].type].free(&app_keys[i], a);
	}
}

char *
key_text(const struct app_key *k, const struct app_config *a)
{
	return key_ops[k->type].text(k, a);
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
