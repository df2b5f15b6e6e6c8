/*
 * The INI reader (ini.c) alone: physical line numbers, indented keys and
 * continuations, lines longer than libinih's buffer glued back whole, and
 * the lines it cannot read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pmd.h"

/* What the reader said, one line of text per call. */
static char	log_text[65536];

static void
say(const char *fmt, ...)
{
	size_t	n = strlen(log_text);
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(log_text + n, sizeof log_text - n, fmt, ap);
	va_end(ap);
}

static void
on_section(void *arg, int line, const char *name, const char *rest)
{
	(void)arg;
	say("%d section %s|%s\n", line, name, rest);
}

static void
on_key(void *arg, int line, const char *section, const char *key,
    const char *value, int continued)
{
	(void)arg;
	say("%d key %s.%s=%s%s\n", line, section, key, value,
	    continued ? " (continued)" : "");
}

static void
on_error(void *arg, int line, const char *msg)
{
	(void)arg;
	say("%d error %s\n", line, msg);
}

static const struct ini_handler h = { on_section, on_key, on_error };

static const char *
run(const char *text, size_t len)
{
	log_text[0] = '\0';
	ini_read(text, len, &h, NULL);
	return log_text;
}

static void
test_lines_and_continuations(void **state)
{
	const char *text =
	    "\xef\xbb\xbf; a comment\n"
	    "[app:a] ; why\n"
	    "command = node server.js\n"
	    "  --port 8080\n"
	    "\n"
	    "  cwd = /srv\n"
	    "[app:b] junk\n";

	(void)state;
	assert_string_equal(run(text, strlen(text)),
	    "2 section app:a|\n"
	    "3 key app:a.command=node server.js\n"
	    "4 key app:a.command=--port 8080 (continued)\n"
	    "6 key app:a.cwd=/srv\n"
	    "7 section app:b|junk\n");
}

/* A value of 1,000 bytes comes back whole, at its own line. */
static void
test_long_line_is_whole(void **state)
{
	char	text[2048], want[2048], value[1001];
	size_t	i;

	(void)state;
	for (i = 0; i < 1000; i++)
		value[i] = i % 50 == 48 ? ' ' : 'a' + i % 26;
	value[1000] = '\0';
	snprintf(text, sizeof text, "[x]\n\nk = %s\nnext = 1\n", value);
	snprintf(want, sizeof want, "1 section x|\n3 key x.k=%s\n"
	    "4 key x.next=1\n", value);
	assert_string_equal(run(text, strlen(text)), want);
}

static void
test_lines_it_cannot_read(void **state)
{
	char	text[1024];
	size_t	n;
	static const char nul[] = "[x]\na = 1\nb = 2\0; c\n";

	(void)state;
	assert_string_equal(run(nul, sizeof nul - 1),
	    "1 section x|\n"
	    "2 key x.a=1\n"
	    "3 error the line holds a NUL byte\n");
	n = (size_t)snprintf(text, sizeof text, "[x]\nk = 1\njust words\n");
	assert_string_equal(run(text, n),
	    "1 section x|\n"
	    "2 key x.k=1\n"
	    "3 error syntax error: expected [section], key = value, or a "
	    "comment\n");
	memset(text, 'k', 300);
	n = 300 + (size_t)snprintf(text + 300, sizeof text - 300, " = 1\n");
	assert_string_equal(run(text, n),
	    "1 error line too long to read: a continuation line or a key of "
	    "over 196 characters\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_and_continuations),
		cmocka_unit_test(test_long_line_is_whole),
		cmocka_unit_test(test_lines_it_cannot_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
