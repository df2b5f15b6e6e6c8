/*
 * The config loader (config.c): a full config read back, and every error
 * it can give, each with its file:line and key.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "pmd.h"

static char	dir[] = "/tmp/pmd-test-config.XXXXXX";

static char *
write_file(const char *name, const char *text)
{
	char	*path = xprintf("%s/%s", dir, name);
	FILE	*f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* Load text as main.conf; return the error with the directory cut off. */
static char *
load_error(const char *text)
{
	struct config	*cfg = NULL;
	char		*path = write_file("main.conf", text), *cause = NULL;
	char		*msg;

	assert_int_equal(config_load(path, OWNER_NONE, &cfg, &cause), -1);
	assert_null(cfg);
	assert_non_null(cause);
	assert_memory_equal(cause, dir, strlen(dir));
	msg = xstrdup(cause + strlen(dir) + 1);
	free(cause);
	free(path);
	return msg;
}

static void
expect_error(const char *text, const char *want)
{
	char	*got = load_error(text);

	if (strcmp(got, want) != 0)
		fail_msg("config:\n%s\nwant: %s\ngot:  %s", text, want, got);
	free(got);
}

static void
test_full_config(void **state)
{
	struct config		*cfg;
	struct app_config	*a;
	char			*path, *cause = NULL;

	(void)state;
	path = write_file("full.conf",
	    "; a comment\n"
	    "# another\n"
	    "[daemon]\n"
	    "log_dir = logs\n"
	    "socket = /tmp/x.sock\n"
	    "\n"
	    "[app:api]\n"
	    "command = /usr/bin/node \"server.js\" --port 8080  ; trailing\n"
	    "cwd = srv\n"
	    "instances = max\n"
	    "env.NODE_ENV = production\n"
	    "env_staging.LOG_LEVEL = debug\n"
	    "autorestart = no\n"
	    "min_uptime = 2s\n"
	    "max_restarts = 5\n"
	    "restart_delay = 250\n"
	    "exp_backoff_restart_delay = 100ms\n"
	    "stop_exit_codes = 0, 3\n"
	    "kill_signal = SIGINT\n"
	    "kill_timeout = 1.5s\n"
	    "\n"
	    "[app:worker]\n"
	    "command = python3 worker.py\n"
	    "  --queue default\n");
	assert_int_equal(config_load(path, OWNER_NONE, &cfg, &cause), 0);
	assert_null(cause);
	assert_string_equal(cfg->socket, "/tmp/x.sock");
	assert_non_null(strstr(cfg->log_dir, "/logs"));
	a = config_find(cfg, "api");
	assert_non_null(a);
	assert_int_equal(a->line, 7);
	assert_string_equal(a->argv[0], "/usr/bin/node");
	assert_string_equal(a->argv[1], "server.js");
	assert_string_equal(a->argv[3], "8080");
	assert_null(a->argv[4]);
	assert_string_equal(a->cwd + strlen(a->cwd) - 4, "/srv");
	assert_int_equal(a->instances, 0);
	assert_int_equal(a->nenv, 2);
	assert_null(a->env[0].profile);
	assert_string_equal(a->env[0].key, "NODE_ENV");
	assert_string_equal(a->env[1].profile, "staging");
	assert_false(a->autorestart);
	assert_int_equal(a->min_uptime, 2000);
	assert_int_equal(a->max_restarts, 5);
	assert_int_equal(a->restart_delay, 250);
	assert_int_equal(a->exp_backoff, 100);
	assert_int_equal(a->stop_exit_codes[0], 1 | 8);
	assert_int_equal(a->kill_signal, SIGINT);
	assert_int_equal(a->kill_timeout, 1500);
	a = config_find(cfg, "worker");
	assert_non_null(a);
	/* The indented line continues the command. */
	assert_string_equal(a->argv[2], "--queue");
	assert_string_equal(a->argv[3], "default");
	/* Defaults, as PM2 has them. */
	assert_int_equal(a->instances, 1);
	assert_true(a->autorestart);
	assert_int_equal(a->min_uptime, 1000);
	assert_int_equal(a->max_restarts, 16);
	assert_int_equal(a->kill_timeout, 5000);
	assert_int_equal(a->kill_signal, SIGTERM);
	assert_int_equal(a->stop_exit_codes[0], 0);
	config_free(cfg);
	free(path);
}

static void
test_include(void **state)
{
	struct config	*cfg;
	char		*main, *cause = NULL, *sub;

	(void)state;
	sub = xprintf("%s/apps.d", dir);
	mkdir(sub, 0700);
	free(write_file("apps.d/b.conf", "[app:b]\ncommand = b\n"));
	free(write_file("apps.d/a.conf", "[app:a]\ncommand = a\n"));
	free(write_file("apps.d/skip.txt", "[app:c]\ncommand = c\n"));
	main = write_file("inc.conf", "[daemon]\ninclude = apps.d/*.conf\n"
	    "[app:first]\ncommand = x\n");
	assert_int_equal(config_load(main, OWNER_NONE, &cfg, &cause), 0);
	/* The main file's apps, then the included files in sorted order. */
	assert_string_equal(TAILQ_FIRST(&cfg->apps)->name, "first");
	assert_string_equal(TAILQ_NEXT(TAILQ_FIRST(&cfg->apps), entry)->name,
	    "a");
	assert_null(config_find(cfg, "c"));
	config_free(cfg);
	free(main);

	/* An error in an included file names that file. */
	free(write_file("apps.d/c.conf", "[app:c]\ncommand = c\nwat = 1\n"));
	main = write_file("inc.conf", "[daemon]\ninclude = apps.d/*.conf\n");
	assert_int_equal(config_load(main, OWNER_NONE, &cfg, &cause), -1);
	assert_non_null(strstr(cause, "/apps.d/c.conf:3: wat: unknown key"));
	free(cause);
	free(main);
	free(write_file("apps.d/c.conf", "[daemon]\nlog_dir = x\n"));
	main = write_file("inc.conf", "[daemon]\ninclude = apps.d/*.conf\n");
	assert_int_equal(config_load(main, OWNER_NONE, &cfg, &cause), -1);
	assert_non_null(strstr(cause, "/apps.d/c.conf:1: [daemon] is only "
	    "allowed in the main config file"));
	free(cause);
	free(main);
	free(sub);
}

static void
test_errors(void **state)
{
	char	*got, *want;

	(void)state;
	expect_error("[app:api]\ncommand = x\ninstances = lots\n",
	    "main.conf:3: instances: expected a number from 1 to 4096, "
	    "\"max\" or -N, got \"lots\"");
	expect_error("[app:api]\ncommand = x\ninstance = 2\n",
	    "main.conf:3: instance: unknown key in [app:NAME] (did you mean "
	    "\"instances\"?)");
	expect_error("[app:api]\ncommand = x\ncolour = red\n",
	    "main.conf:3: colour: unknown key in [app:NAME]");
	expect_error("[app:api]\ninstances = 2\n",
	    "main.conf:1: [app:api]: command: required key missing");
	expect_error("[app:api]\n",
	    "main.conf:1: [app:api]: command: required key missing");
	expect_error("[app:api]\ncommand = echo 'hi\n",
	    "main.conf:2: command: unterminated ' quote");
	expect_error("[app:api]\ncommand =\n",
	    "main.conf:2: command: the command is empty");
	expect_error("[app:a/b]\ncommand = x\n",
	    "main.conf:1: [app:a/b]: invalid app name \"a/b\": use 1 to 64 "
	    "of A-Z a-z 0-9 . _ - (not \"all\", not all digits: those are worker "
	    "ids)");
	got = load_error("[app:x]\ncommand = x\n[app:x]\ncommand = y\n");
	want = xprintf("main.conf:3: [app:x]: app \"x\" is already defined "
	    "at %s/main.conf:1", dir);
	assert_string_equal(got, want);
	free(got);
	free(want);
}

static void
test_errors_more(void **state)
{
	(void)state;
	expect_error("[apps]\ncommand = x\n",
	    "main.conf:1: unknown section [apps]: expected [daemon] or "
	    "[app:NAME]");
	expect_error("command = x\n",
	    "main.conf:1: command: key outside a section: start with "
	    "[daemon] or [app:NAME]");
	expect_error("[app:api]\ncommand = x\nthis line has no equals\n",
	    "main.conf:3: syntax error: expected [section], key = value, or "
	    "a comment");
	expect_error("[app:api]\ncommand = x\nmin_uptime = soon\n",
	    "main.conf:3: min_uptime: expected a duration like 500ms, 5s, 2m "
	    "or 1h (a bare number is milliseconds), got \"soon\"");
	expect_error("[app:api]\ncommand = x\nautorestart = sometimes\n",
	    "main.conf:3: autorestart: expected true or false (or yes/no, "
	    "on/off, 1/0), got \"sometimes\"");
	expect_error("[app:api]\ncommand = x\nkill_signal = SIGNOPE\n",
	    "main.conf:3: kill_signal: expected a signal name like SIGTERM or "
	    "a number from 1 to 64, got \"SIGNOPE\"");
	expect_error("[app:api]\ncommand = x\nstop_exit_codes = 0, 300\n",
	    "main.conf:3: stop_exit_codes: exit codes are numbers from 0 to "
	    "255 separated by commas, got \"300\"");
	expect_error("[app:api]\ncommand = x\nmax_restarts = -1\n",
	    "main.conf:3: max_restarts: expected a whole number from 0 to "
	    "1000000, got \"-1\"");
	expect_error("[app:api]\ncommand = x\nenv.1BAD = y\n",
	    "main.conf:3: env.1BAD: invalid environment variable name "
	    "\"1BAD\"");
	expect_error("[app:api]\ncommand = x\ninstances = 2\ninstances = 3\n",
	    "main.conf:4: instances: set twice in [app:api]");
	expect_error("[daemon]\nlogdir = /tmp\n",
	    "main.conf:2: logdir: unknown key in [daemon] (did you mean "
	    "\"log_dir\"?)");
	expect_error("[app:api]\ncommand = x\n  kill_timeout = 1s\n"
	    "  instances = many\n",
	    "main.conf:4: instances: expected a number from 1 to 4096, "
	    "\"max\" or -N, got \"many\"");
	expect_error("[app:api]\ncommand = x\nmin_uptime = 1s\n  2s\n",
	    "main.conf:4: min_uptime: only command may continue on an "
	    "indented line");
}

static void
test_long_lines(void **state)
{
	struct config		*cfg;
	struct app_config	*a;
	char			*text, *path, *cause = NULL, *longval, *got;
	size_t			 i;

	(void)state;
	/* Far past inih's 200-byte buffer, with spaces and quotes throughout. */
	longval = xcalloc(1, 3000);
	for (i = 0; i < 250; i++)
		strcat(longval, i % 7 == 3 ? "'a  b' " : i % 5 == 1 ?
		    "x;#;#;#;#;#;#;#;#;# " : "word ");
	text = xprintf("; %0400d\n[app:api]\ncommand = echo %s ; note\n"
	    "env.LONG = %s\ninstances = 2\n", 1, longval, longval);
	path = write_file("long.conf", text);
	assert_int_equal(config_load(path, OWNER_NONE, &cfg, &cause), 0);
	a = config_find(cfg, "api");
	assert_int_equal(argv_count(a->argv), 251);
	assert_string_equal(a->argv[4], "a  b");
	assert_string_equal(a->argv[2], "x;#;#;#;#;#;#;#;#;#");
	longval[strlen(longval) - 1] = '\0';	/* inih trims the end */
	assert_string_equal(a->env[0].value, longval);
	assert_int_equal(a->instances, 2);
	config_free(cfg);
	free(path);
	free(text);
	/* Errors after a long line still name the right line. */
	text = xprintf("[app:api]\ncommand = echo %s\nnonsense\n", longval);
	got = load_error(text);
	assert_string_equal(got, "main.conf:3: syntax error: expected "
	    "[section], key = value, or a comment");
	free(got);
	free(text);
	free(longval);
}

static void
test_user_needs_root(void **state)
{
	char	*got;

	(void)state;
	if (geteuid() == 0) {
		got = load_error("[app:api]\ncommand = x\nuser = "
		    "no-such-user-here\n");
		assert_string_equal(got, "main.conf:3: user: no such user "
		    "\"no-such-user-here\"");
	} else {
		got = load_error("[app:api]\ncommand = x\nuser = nobody\n");
		assert_string_equal(got, "main.conf:3: user: only allowed when "
		    "pmd runs as root");
	}
	free(got);
}

static void
test_missing_file(void **state)
{
	struct config	*cfg;
	char		*cause;

	(void)state;
	assert_int_equal(config_load("/nonexistent/pmd.conf", OWNER_NONE, &cfg, &cause),
	    -1);
	assert_string_equal(cause, "/nonexistent/pmd.conf: No such file or "
	    "directory");
	free(cause);
}

static int
group_setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	char	*cmd = xprintf("rm -rf '%s'", dir);

	(void)state;
	(void)!system(cmd);
	free(cmd);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_errors_more),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_user_needs_root),
		cmocka_unit_test(test_missing_file),
	};

	return cmocka_run_group_tests_name("config", tests, group_setup,
	    group_teardown);
}
