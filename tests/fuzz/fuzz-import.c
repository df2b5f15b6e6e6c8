/*
 * pmctl import, structure-aware: the input is not the file but the choices
 * that build one, so that every run is an ecosystem file pmctl reads (an
 * array of apps with PM2's keys, values made of the input's bytes: quotes,
 * newlines, brackets, invalid UTF-8). Whatever import prints must hold
 * exactly the sections and keys the file named: one [app:NAME] per app
 * and, in each, only command, cwd, instances, pmd's keys and env. names;
 * else the harness aborts.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmctl.h"

int	LLVMFuzzerTestOneInput(const unsigned char *, size_t);

struct input {
	const unsigned char	*p;
	size_t			 left;
};

static unsigned
pick(struct input *in, unsigned n)
{
	if (in->left == 0)
		return 0;
	in->left--;
	return *in->p++ % n;
}

/* A string of up to 15 of the input's bytes (no NUL: C strings). */
static char *
word(struct input *in)
{
	char	 buf[16];
	size_t	 n = pick(in, 16), i;

	for (i = 0; i < n && in->left > 0; i++) {
		buf[i] = *in->p ? (char)*in->p : 'x';
		in->p++;
		in->left--;
	}
	buf[i] = '\0';
	return xstrdup(buf);
}

static void
add_word(cJSON *o, const char *key, struct input *in)
{
	char	*w = word(in);

	cJSON_AddStringToObject(o, key, w);
	free(w);
}

/* An object of up to 3 names and words (env, env_PROFILE). */
static cJSON *
words_object(struct input *in)
{
	cJSON	*o = cJSON_CreateObject();
	char	*k, *v;
	unsigned n = pick(in, 4);

	while (n-- > 0) {
		k = word(in);
		v = word(in);
		if (!cJSON_HasObjectItem(o, k))
			cJSON_AddStringToObject(o, k, v);
		free(k);
		free(v);
	}
	return o;
}

static const char *const string_keys[] = {
	"name", "cwd", "args", "interpreter", "node_args", "out_file",
	"error_file", "log_date_format", "max_memory_restart", "cron_restart",
	"exec_mode", "namespace", "kill_signal", "listen_timeout",
};

static cJSON *
make_app(struct input *in)
{
	cJSON		*app = cJSON_CreateObject(), *a;
	char		*k;
	unsigned	 n = pick(in, 8), which;

	add_word(app, "script", in);
	if (*cJSON_GetObjectItemCaseSensitive(app, "script")->valuestring == '\0')
		cJSON_ReplaceItemInObject(app, "script",
		    cJSON_CreateString("app.js"));
	while (n-- > 0) {
		which = pick(in, nitems(string_keys) + 5);
		if (which < nitems(string_keys)) {
			if (!cJSON_HasObjectItem(app, string_keys[which]))
				add_word(app, string_keys[which], in);
		} else if (which == nitems(string_keys) &&
		    !cJSON_HasObjectItem(app, "env"))
			cJSON_AddItemToObject(app, "env", words_object(in));
		else if (which == nitems(string_keys) + 1) {
			k = word(in);
			if (strlen(k) < 12) {
				char *key = xprintf("env_%s", k);
				if (!cJSON_HasObjectItem(app, key))
					cJSON_AddItemToObject(app, key,
					    words_object(in));
				free(key);
			}
			free(k);
		} else if (which == nitems(string_keys) + 2 &&
		    !cJSON_HasObjectItem(app, "instances"))
			cJSON_AddNumberToObject(app, "instances", pick(in, 5));
		else if (which == nitems(string_keys) + 3 &&
		    !cJSON_HasObjectItem(app, "watch")) {
			a = cJSON_AddArrayToObject(app, "watch");
			k = word(in);
			cJSON_AddItemToArray(a, cJSON_CreateString(k));
			free(k);
		} else if (!cJSON_HasObjectItem(app, "autorestart"))
			cJSON_AddBoolToObject(app, "autorestart", pick(in, 2));
	}
	return app;
}

/* Whether key may stand in [app:...] of app (as import writes it). */
static int
key_named(const cJSON *app, const char *key)
{
	const cJSON	*p;
	const char	*dot;
	char		*prefix;
	int		 ok;

	if (strcmp(key, "command") == 0 || strcmp(key, "cwd") == 0 ||
	    strcmp(key, "instances") == 0)
		return 1;
	if (cJSON_HasObjectItem(cJSON_GetObjectItemCaseSensitive(app, "keys"),
	    key))
		return 1;
	if ((dot = strchr(key, '.')) == NULL)
		return 0;
	if (strncmp(key, "env.", 4) == 0)
		return cJSON_HasObjectItem(cJSON_GetObjectItemCaseSensitive(app,
		    "env"), key + 4);
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(app,
	    "profiles")) {
		prefix = xprintf("env_%s.", p->string);
		ok = strncmp(key, prefix, strlen(prefix)) == 0 &&
		    cJSON_HasObjectItem(p, key + strlen(prefix));
		free(prefix);
		if (ok)
			return 1;
	}
	return 0;
}

/* Every line of text is a comment, a blank, a section or key of apps. */
static void
check_ini(const cJSON *apps, const char *text)
{
	const cJSON	*app = NULL;
	const char	*line, *nl, *eq;
	char		*l, *section;
	int		 sections = 0;

	for (line = text; *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			abort();	/* every line ends */
		l = xstrndup(line, nl - line);
		if (*l == '\0' || *l == ';') {
			free(l);
			continue;
		}
		if (*l == '[') {
			app = cJSON_GetArrayItem(apps, sections++);
			if (app == NULL)
				abort();	/* a section no app named */
			section = xprintf("[app:%s]", cJSON_GetObjectItemCaseSensitive(
			    app, "name")->valuestring);
			if (strcmp(l, section) != 0)
				abort();
			free(section);
		} else {
			if (app == NULL || (eq = strstr(l, " = ")) == NULL)
				abort();	/* a line that is no key */
			l[eq - l] = '\0';
			if (!key_named(app, l))
				abort();	/* a key the file did not name */
		}
		free(l);
	}
	if (sections != cJSON_GetArraySize(apps))
		abort();
}

static jmp_buf	 refused;
static int	 in_target;

/* pmctl's errors exit; here they end the input, not the fuzzer. */
void	__real_exit(int) __attribute__((noreturn));
void	__wrap_exit(int) __attribute__((noreturn));
void
__wrap_exit(int code)
{
	if (in_target)
		longjmp(refused, 1);
	__real_exit(code);
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t len)
{
	static char	*dir, *file;
	struct input	 in = { data, len };
	cJSON		*list = cJSON_CreateArray();
	cJSON		*volatile apps = NULL;
	char		*s, *cause, *out = NULL;
	size_t		 outlen, n = 1 + pick(&in, 3);
	FILE		*f;

	if (dir == NULL) {
		dir = xstrdup("/tmp/pmd-fuzz-import-XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
		file = xprintf("%s/ecosystem.json", dir);
	}
	while (n-- > 0)
		cJSON_AddItemToArray(list, make_app(&in));
	s = cJSON_PrintUnformatted(list);
	cJSON_Delete(list);
	if ((f = fopen(file, "w")) == NULL || fputs(s, f) == EOF ||
	    fclose(f) != 0)
		abort();
	free(s);
	in_target = 1;
	if (setjmp(refused) == 0) {
		apps = eco_load(file, NULL);
		if ((cause = eco_ini_check(file, apps)) == NULL) {
			f = open_memstream(&out, &outlen);
			eco_print(f, file, apps);
			fclose(f);
			check_ini(apps, out);
			free(out);
		}
		free(cause);
	}
	in_target = 0;
	cJSON_Delete(apps);
	return 0;
}
