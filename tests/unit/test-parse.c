/* Values of keys and arguments (parse.c): units, names, command splitting. */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pmd.h"

static void
test_durations(void **state)
{
	static const struct { const char *in; uint64_t ms; } ok[] = {
		{ "0", 0 }, { "250", 250 }, { "250ms", 250 }, { "5s", 5000 },
		{ "1.5s", 1500 }, { "2m", 120000 }, { "1h", 3600000 },
		{ "10S", 10000 },
	};
	static const char *const bad[] = {
		"", "s", "-1s", "5x", "5 s", "1.2.3s", "99999999999h", "ms5",
	};
	uint64_t	ms;
	char		*cause;
	size_t		i;

	(void)state;
	for (i = 0; i < nitems(ok); i++) {
		assert_int_equal(parse_duration(ok[i].in, &ms, &cause), 0);
		assert_int_equal(ms, ok[i].ms);
	}
	for (i = 0; i < nitems(bad); i++) {
		assert_int_equal(parse_duration(bad[i], &ms, &cause), -1);
		assert_non_null(strstr(cause, "expected a duration"));
		free(cause);
	}
}

static void
test_sizes(void **state)
{
	uint64_t	b;
	char		*cause;

	(void)state;
	assert_int_equal(parse_size("300M", &b, &cause), 0);
	assert_int_equal(b, 300ULL << 20);
	assert_int_equal(parse_size("512k", &b, &cause), 0);
	assert_int_equal(b, 512ULL << 10);
	assert_int_equal(parse_size("1G", &b, &cause), 0);
	assert_int_equal(b, 1ULL << 30);
	assert_int_equal(parse_size("10MB", &b, &cause), 0);
	assert_int_equal(b, 10ULL << 20);
	assert_int_equal(parse_size("4096", &b, &cause), 0);
	assert_int_equal(b, 4096);
	assert_int_equal(parse_size("12T", &b, &cause), -1);
	assert_non_null(strstr(cause, "\"12T\""));
	free(cause);
	assert_int_equal(parse_size("M", &b, &cause), -1);
	free(cause);
}

static void
test_bools(void **state)
{
	static const char *const yes[] = { "true", "YES", "on", "1" };
	static const char *const no[] = { "false", "No", "off", "0" };
	char	*cause;
	size_t	 i;
	int	 b;

	(void)state;
	for (i = 0; i < nitems(yes); i++) {
		assert_int_equal(parse_bool(yes[i], &b, &cause), 0);
		assert_true(b);
		assert_int_equal(parse_bool(no[i], &b, &cause), 0);
		assert_false(b);
	}
	assert_int_equal(parse_bool("maybe", &b, &cause), -1);
	assert_non_null(strstr(cause, "\"maybe\""));
	free(cause);
}

static void
test_signals(void **state)
{
	char	*cause;
	int	 sig;

	(void)state;
	assert_int_equal(parse_signal("SIGTERM", &sig, &cause), 0);
	assert_int_equal(sig, SIGTERM);
	assert_int_equal(parse_signal("int", &sig, &cause), 0);
	assert_int_equal(sig, SIGINT);
	assert_int_equal(parse_signal("9", &sig, &cause), 0);
	assert_int_equal(sig, SIGKILL);
	assert_string_equal(signal_name(SIGUSR2), "SIGUSR2");
	assert_int_equal(parse_signal("SIGFOO", &sig, &cause), -1);
	free(cause);
	assert_int_equal(parse_signal("0", &sig, &cause), -1);
	free(cause);
	assert_int_equal(parse_signal("65", &sig, &cause), -1);
	free(cause);
}

static void
test_instances(void **state)
{
	char	*cause;
	int	 spec;

	(void)state;
	assert_int_equal(parse_instances("4", &spec, &cause), 0);
	assert_int_equal(instances_resolve(spec, 8), 4);
	assert_int_equal(parse_instances("max", &spec, &cause), 0);
	assert_int_equal(instances_resolve(spec, 8), 8);
	assert_int_equal(parse_instances("-1", &spec, &cause), 0);
	assert_int_equal(instances_resolve(spec, 8), 7);
	/* Never fewer than one. */
	assert_int_equal(parse_instances("-4", &spec, &cause), 0);
	assert_int_equal(instances_resolve(spec, 2), 1);
	assert_int_equal(parse_instances("0", &spec, &cause), -1);
	free(cause);
	assert_int_equal(parse_instances("lots", &spec, &cause), -1);
	assert_string_equal(cause, "expected a number from 1 to 4096, "
	    "\"max\" or -N, got \"lots\"");
	free(cause);
}

static void
test_exit_codes(void **state)
{
	uint8_t	bits[32];
	char	*cause;

	(void)state;
	assert_int_equal(parse_exit_codes("0, 2 143", bits, &cause), 0);
	assert_true(bits[0] & 1);
	assert_true(bits[0] & 4);
	assert_true(bits[143 / 8] & (1 << (143 % 8)));
	assert_false(bits[0] & 2);
	assert_int_equal(parse_exit_codes("256", bits, &cause), -1);
	free(cause);
	assert_int_equal(parse_exit_codes(",", bits, &cause), -1);
	free(cause);
}

static void
check_split(const char *line, const char *const *want)
{
	char	**argv, *cause = NULL;
	size_t	  i;

	assert_int_equal(split_command(line, &argv, &cause), 0);
	for (i = 0; want[i] != NULL; i++) {
		assert_non_null(argv[i]);
		assert_string_equal(argv[i], want[i]);
	}
	assert_null(argv[i]);
	argv_free(argv);
}

static void
test_split(void **state)
{
	char	**argv, *cause;

	(void)state;
	check_split("node server.js --port 8080", (const char *[]){ "node",
	    "server.js", "--port", "8080", NULL });
	check_split("  a   b  ", (const char *[]){ "a", "b", NULL });
	check_split("sh -c 'echo $HOME; exit 1'", (const char *[]){ "sh",
	    "-c", "echo $HOME; exit 1", NULL });
	check_split("say \"a \\\"b\\\" \\$c\"", (const char *[]){ "say",
	    "a \"b\" $c", NULL });
	check_split("a\\ b c", (const char *[]){ "a b", "c", NULL });
	check_split("x'y'\"z\"", (const char *[]){ "xyz", NULL });
	check_split("''", (const char *[]){ "", NULL });
	/* Globs, pipes and variables are not a shell's here: left as is. */
	check_split("ls *.c | wc $X", (const char *[]){ "ls", "*.c", "|",
	    "wc", "$X", NULL });
	assert_int_equal(split_command("echo 'oops", &argv, &cause), -1);
	assert_string_equal(cause, "unterminated ' quote");
	free(cause);
	assert_int_equal(split_command("echo \"oops", &argv, &cause), -1);
	assert_string_equal(cause, "unterminated \" quote");
	free(cause);
	assert_int_equal(split_command("echo \\", &argv, &cause), -1);
	free(cause);
	assert_int_equal(split_command("   ", &argv, &cause), -1);
	assert_string_equal(cause, "the command is empty");
	free(cause);
}

static void
test_names(void **state)
{
	(void)state;
	assert_true(app_name_valid("api"));
	assert_true(app_name_valid("web-1.v2_x"));
	assert_false(app_name_valid(""));
	assert_false(app_name_valid("all"));
	assert_false(app_name_valid(".."));
	assert_false(app_name_valid("../etc"));
	assert_false(app_name_valid("a/b"));
	assert_false(app_name_valid("a b"));
	assert_false(app_name_valid("0123456789012345678901234567890123456789"
	    "01234567890123456789012345"));
	assert_true(env_name_valid("NODE_ENV"));
	assert_false(env_name_valid("1X"));
	assert_false(env_name_valid("A-B"));
}

static void
test_suggest(void **state)
{
	static const char *const words[] = {
		"instances", "min_uptime", "max_restarts", "command",
	};

	(void)state;
	assert_string_equal(suggest("instance", words, 4), "instances");
	assert_string_equal(suggest("max_restart", words, 4), "max_restarts");
	assert_string_equal(suggest("comand", words, 4), "command");
	assert_string_equal(suggest("comamnd", words, 4), "command");
	assert_null(suggest("banana", words, 4));
	/* Another word, not a typo: no suggestion (pmctl report, serve). */
	{
		const char *cmds[] = { "import", "save", "start", "restart" };

		assert_null(suggest("report", cmds, 4));
		assert_null(suggest("serve", cmds, 4));
		assert_string_equal(suggest("strat", cmds, 4), "start");
		assert_string_equal(suggest("restrat", cmds, 4), "restart");
	}
}

static void
test_status_string(void **state)
{
	char	*s;

	(void)state;
	s = status_string(3 << 8);
	assert_string_equal(s, "exited with code 3");
	free(s);
	s = status_string(SIGKILL);
	assert_string_equal(s, "was killed by SIGKILL");
	free(s);
}

static void
test_lists(void **state)
{
	char	**v, *cause;

	(void)state;
	assert_int_equal(parse_list(" src , lib/x.js,conf ", &v, &cause), 0);
	assert_int_equal(argv_count(v), 3);
	assert_string_equal(v[0], "src");
	assert_string_equal(v[1], "lib/x.js");
	assert_string_equal(v[2], "conf");
	argv_free(v);
	assert_int_equal(parse_list("a dir/with space", &v, &cause), 0);
	assert_string_equal(v[0], "a dir/with space");
	argv_free(v);
	assert_int_equal(parse_list("src,,lib", &v, &cause), -1);
	assert_string_equal(cause, "item 2 is empty; expected a "
	    "comma-separated list");
	free(cause);
	assert_int_equal(parse_list(" ", &v, &cause), -1);
	free(cause);
	assert_int_equal(parse_list("a,", &v, &cause), -1);
	free(cause);
}

static void
test_ignored(void **state)
{
	char	*pats[] = { "node_modules", "*.log", ".*", "build/tmp",
			    "docs/*.md", NULL };
	static const char *const yes[] = {
		"node_modules", "node_modules/x/index.js", "a/node_modules/b",
		"app.log", "logs/app.log", ".git", ".git/HEAD", "src/.a.swp",
		"build/tmp", "build/tmp/x.o", "docs/a.md", "docs/a.md/x",
	};
	static const char *const no[] = {
		"src/app.js", "node_modules_x", "app.log.js", "build/tmpx",
		"src/build/tmp", "docs/sub/a.md", "x/docs/a.md", "a.git",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < nitems(yes); i++) {
		if (!path_ignored(pats, yes[i]))
			fail_msg("%s should be ignored", yes[i]);
	}
	for (i = 0; i < nitems(no); i++) {
		if (path_ignored(pats, no[i]))
			fail_msg("%s should not be ignored", no[i]);
	}
	assert_false(path_ignored(NULL, "anything"));
}

/* Addresses: numbers only, each family, and what is wrong named. */
static void
test_urls(void **state)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_un	*sun = (struct sockaddr_un *)&ss;
	socklen_t		 len;
	char			*cause = NULL, buf[64];
	static const char	*bad[][2] = {
		{ "tcp://localhost:80", "the host must be an IPv4 or IPv6 "
		    "address" },
		{ "tcp://1.2.3.4:65536", "with a port from 0 to 65535" },
		{ "tcp://1.2.3.4", "with a port from 0 to 65535" },
		{ "tcp://[::1]80", "with a port from 0 to 65535" },
		{ "unix:relative.sock", "the path after unix: must be "
		    "absolute" },
		{ "http://1.2.3.4:80", "expected tcp://HOST:PORT" },
	};
	size_t			 i;

	(void)state;
	assert_int_equal(url_sockaddr("tcp://127.0.0.1:8080", &ss, &len,
	    &cause), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 8080);
	assert_string_equal(inet_ntop(AF_INET, &sin->sin_addr, buf,
	    sizeof buf), "127.0.0.1");
	assert_int_equal(url_sockaddr("tcp://[::]:3000", &ss, &len, &cause), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 3000);
	assert_int_equal(url_sockaddr("unix:/run/app.sock", &ss, &len,
	    &cause), 0);
	assert_int_equal(ss.ss_family, AF_UNIX);
	assert_string_equal(sun->sun_path, "/run/app.sock");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		assert_int_equal(url_check(bad[i][0], &cause), -1);
		assert_non_null(strstr(cause, bad[i][1]));
		assert_non_null(strstr(cause, bad[i][0]));
		free(cause);
	}
}

static void
test_cpus(void **state)
{
	static const char *const bad[] = {
		"", "x", "1-", "-1", "3-1", "1,,2", "1;2", "4096", "0-99999",
	};
	cpu_set_t	set;
	char		*cause;
	size_t		i;

	(void)state;
	assert_int_equal(parse_cpus("0-2,5", &set, &cause), 0);
	assert_int_equal(CPU_COUNT(&set), 4);
	assert_true(CPU_ISSET(0, &set) && CPU_ISSET(2, &set) &&
	    CPU_ISSET(5, &set) && !CPU_ISSET(3, &set));
	assert_int_equal(parse_cpus("7", &set, &cause), 0);
	assert_int_equal(CPU_COUNT(&set), 1);
	assert_int_equal(parse_cpus("0, 1", &set, &cause), 0);
	for (i = 0; i < nitems(bad); i++) {
		assert_int_equal(parse_cpus(bad[i], &set, &cause), -1);
		assert_non_null(strstr(cause, "expected a list of CPUs"));
		free(cause);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_bools),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_instances),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_suggest),
		cmocka_unit_test(test_status_string),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_ignored),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_cpus),
	};

	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
