/*
 * The key table (keys.c): every row's default loads, every value a key
 * holds reads back as text that sets the same value, and the setters
 * refuse bad values with the messages pmd.conf(5) promises.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pmd.h"

/* Each key's text, set again on a fresh config, gives the same text. */
static void
test_text_round_trips(void **state)
{
	struct app_config	*a = appcfg_new("a"), *b = appcfg_new("b");
	const char		*values[][2] = {
		{ "command", "node 'server.js' --port 8080" },
		{ "cwd", "/srv/app" },
		{ "instances", "max" },
		{ "min_uptime", "1500ms" },
		{ "kill_timeout", "2m" },
		{ "max_memory_restart", "300M" },
		{ "log_max_size", "64K" },
		{ "stop_exit_codes", "0, 3, 255" },
		{ "kill_signal", "SIGINT" },
		{ "listen", "tcp://127.0.0.1:8080, unix:/run/x.sock" },
		{ "listen_mode", "0600" },
		{ "cron_restart", "0 3 * * *" },
		{ "watch", "true" },
		{ "watch_paths", "src, lib" },
		{ "log_date_format", "none" },
		{ "max_restarts", "7" },
	};
	char			*cause, *t1, *t2;
	size_t			 i;

	(void)state;
	for (i = 0; i < nitems(values); i++) {
		assert_non_null(key_find(values[i][0]));
		assert_int_equal(key_set(key_find(values[i][0]), a,
		    values[i][1], "/", &cause), 0);
	}
	for (i = 0; i < napp_keys; i++) {
		t1 = key_text(&app_keys[i], a);
		if (t1 == NULL)
			continue;
		assert_int_equal(key_set(&app_keys[i], b, t1, "/", &cause), 0);
		t2 = key_text(&app_keys[i], b);
		assert_string_equal(t1, t2);
		free(t1);
		free(t2);
	}
	t1 = key_text(key_find("instances"), a);
	assert_string_equal(t1, "max");
	free(t1);
	appcfg_unref(a);
	appcfg_unref(b);
}

/* The defaults pmd.conf(5) documents. */
static void
test_defaults(void **state)
{
	struct app_config	*a = appcfg_new("a");
	const char		*want[][2] = {
		{ "instances", "1" }, { "autorestart", "true" },
		{ "min_uptime", "1s" }, { "max_restarts", "16" },
		{ "restart_delay", "0ms" }, { "kill_signal", "SIGTERM" },
		{ "kill_timeout", "5s" }, { "merge_logs", "true" },
		{ "log_max_size", "10M" }, { "log_retain", "5" },
		{ "listen_backlog", "511" }, { "listen_mode", "0660" },
		{ "listen_timeout", "30s" }, { "max_memory_restart", "0" },
		{ "memory_check_interval", "5s" }, { "watch_delay", "1s" },
		{ "log_date_format", LOG_DATE_DEFAULT },
	};
	char			*t;
	size_t			 i;

	(void)state;
	for (i = 0; i < nitems(want); i++) {
		t = key_text(key_find(want[i][0]), a);
		assert_non_null(t);
		assert_string_equal(t, want[i][1]);
		free(t);
	}
	assert_null(key_text(key_find("command"), a));
	assert_null(key_text(key_find("watch"), a));	/* unset */
	assert_null(key_text(key_find("stop_exit_codes"), a));
	appcfg_unref(a);
}

static void
test_bad_values(void **state)
{
	struct app_config	*a = appcfg_new("a");
	const char		*bad[][3] = {
		{ "memory_check_interval", "10ms",
		  "expected at least 100ms, got \"10ms\"" },
		{ "max_memory_restart", "100",
		  "expected 0 (no limit) or at least 1M, got \"100\"" },
		{ "log_max_size", "12",
		  "expected 0 (never rotate) or at least 1K, got \"12\"" },
		{ "listen_backlog", "70000",
		  "expected a whole number from 0 to 65535, got \"70000\"" },
		{ "cwd", "", "expected a directory" },
		{ "listen_mode", "0999",
		  "expected an octal mode such as 0660, got \"0999\"" },
	};
	char			*cause;
	size_t			 i;

	(void)state;
	for (i = 0; i < nitems(bad); i++) {
		assert_int_equal(key_set(key_find(bad[i][0]), a, bad[i][1],
		    "/", &cause), -1);
		assert_string_equal(cause, bad[i][2]);
		free(cause);
	}
	assert_null(key_find("instance"));
	appcfg_unref(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_round_trips),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bad_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
