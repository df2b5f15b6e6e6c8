/*
 * pmctl import's output: the apps eco_load read from an ecosystem file,
 * written as pmd INI (pmd.conf(5)), once eco_ini_check has found that
 * every value can be written as a line that means what the file said.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmctl.h"

/* A word as pmd's command splitting reads it back (quoted if need be). */
static void
put_word(FILE *f, const char *w)
{
	const char	*p;

	if (*w != '\0' && strpbrk(w, " \t\n'\"\\$`;#&|<>()*?[]{}~") == NULL) {
		fputs(w, f);
		return;
	}
	fputc('\'', f);
	for (p = w; *p != '\0'; p++) {
		if (*p == '\'')
			fputs("'\\''", f);
		else
			fputc(*p, f);
	}
	fputc('\'', f);
}

static void
put_env(FILE *f, const char *prefix, const cJSON *env)
{
	const cJSON	*v;

	cJSON_ArrayForEach(v, env)
		fprintf(f, "%s.%s = %s\n", prefix, v->string, v->valuestring);
}

/* A control character in s, by its name, or NULL. */
static const char *
control_char(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\n')
			return "a newline";
		if (*s == '\r')
			return "a carriage return";
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return "a control character";
	}
	return NULL;
}

/*
 * Whether what eco_print would write of an app's field (its name and
 * values) stays one line with the key it names: NULL, or the error.
 */
static char *
ini_field(const char *file, int i, const char *field, const cJSON *v,
    int names)
{
	const cJSON	*x;
	const char	*bad;

	if (cJSON_IsString(v) && (bad = control_char(v->valuestring)) != NULL)
		return xprintf("%s: apps[%d].%s: %s cannot be written to pmd's "
		    "INI (it would start a new line); pmctl start %s runs the "
		    "app as it is", file, i, field, bad, file);
	cJSON_ArrayForEach(x, v) {
		if (names && !env_name_valid(x->string))
			return xprintf("%s: apps[%d].%s: \"%s\" is not a variable "
			    "name (A-Z, a-z, 0-9 and _, not first a digit)", file,
			    i, field, x->string);
		if (cJSON_IsString(x) &&
		    (bad = control_char(x->valuestring)) != NULL)
			return xprintf("%s: apps[%d].%s.%s: %s cannot be "
			    "written to pmd's INI (it would start a new line); "
			    "pmctl start %s runs the app as it is", file, i, field,
			    x->string != NULL ? x->string : "[]", bad, file);
	}
	return NULL;
}

/*
 * NULL if every value of apps can be written as pmd INI that means what
 * the file said (no new line, so no section or key the file did not
 * name), else the error naming the first that cannot.
 */
char *
eco_ini_check(const char *file, const cJSON *apps)
{
	const cJSON	*app, *p;
	char		*cause = NULL, *field;
	int		 i = 0;

	cJSON_ArrayForEach(app, apps) {
		p = cJSON_GetObjectItemCaseSensitive(app, "name");
		if (cJSON_IsString(p) && !app_name_valid(p->valuestring) &&
		    control_char(p->valuestring) == NULL)
			return xprintf("%s: apps[%d].name: \"%s\" is not an app "
			    "name (1 to 64 of A-Z a-z 0-9 . _ -, not \"all\", not "
			    "all digits)",
			    file, i, p->valuestring);
		if ((cause = ini_field(file, i, "name",
		    cJSON_GetObjectItemCaseSensitive(app, "name"), 0)) ||
		    (cause = ini_field(file, i, "script",
		    cJSON_GetObjectItemCaseSensitive(app, "command"), 0)) ||
		    (cause = ini_field(file, i, "cwd",
		    cJSON_GetObjectItemCaseSensitive(app, "cwd"), 0)) ||
		    (cause = ini_field(file, i, "instances",
		    cJSON_GetObjectItemCaseSensitive(app, "instances"), 0)) ||
		    (cause = ini_field(file, i, "keys",
		    cJSON_GetObjectItemCaseSensitive(app, "keys"), 0)) ||
		    (cause = ini_field(file, i, "env",
		    cJSON_GetObjectItemCaseSensitive(app, "env"), 1)))
			return cause;
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(app,
		    "profiles")) {
			field = xprintf("env_%s", p->string);
			cause = env_name_valid(p->string) ? ini_field(file, i,
			    field, p, 1) : xprintf("%s: apps[%d].%s: not a "
			    "profile name (A-Z, a-z, 0-9 and _)", file, i, field);
			free(field);
			if (cause != NULL)
				return cause;
		}
		i++;
	}
	return NULL;
}

/* The apps as pmd INI (pmd.conf(5)). */
void
eco_print(FILE *f, const char *file, const cJSON *apps)
{
	const cJSON	*app, *v, *p;

	fprintf(f, "; The apps of %s, for pmd (pmctl import).\n", file);
	cJSON_ArrayForEach(app, apps) {
		fprintf(f, "\n[app:%s]\ncommand = ", cJSON_GetObjectItemCaseSensitive(
		    app, "name")->valuestring);
		cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(app,
		    "command")) {
			if (v != cJSON_GetObjectItemCaseSensitive(app,
			    "command")->child)
				fputc(' ', f);
			put_word(f, v->valuestring);
		}
		fprintf(f, "\ncwd = %s\n", cJSON_GetObjectItemCaseSensitive(app,
		    "cwd")->valuestring);
		if ((v = cJSON_GetObjectItemCaseSensitive(app, "instances")))
			fprintf(f, "instances = %s\n", v->valuestring);
		cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(app,
		    "keys"))
			fprintf(f, "%s = %s\n", v->string, v->valuestring);
		put_env(f, "env", cJSON_GetObjectItemCaseSensitive(app, "env"));
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(app,
		    "profiles")) {
			char *prefix = xprintf("env_%s", p->string);
			put_env(f, prefix, p);
			free(prefix);
		}
	}
}
