/* cron_restart expressions (cron.c): parsing, errors, and the next time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "pmd.h"

/* Local "YYYY-mm-dd HH:MM" in zone tz, to time_t and back. */
static time_t
at(const char *s)
{
	struct tm	tm;

	memset(&tm, 0, sizeof tm);
	assert_non_null(strptime(s, "%Y-%m-%d %H:%M", &tm));
	tm.tm_isdst = -1;
	return mktime(&tm);
}

static const char *
show(time_t t)
{
	static char	buf[64];
	struct tm	tm;

	localtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%d %H:%M %a %Z", &tm);
	return buf;
}

/* The next n times of expr after from, joined with " | ". */
static char *
nexts(const char *expr, const char *from, int n)
{
	static char	out[512];
	struct cron	c;
	char		*cause = NULL;
	time_t		t = at(from);

	if (cron_parse(expr, &c, &cause) == -1)
		fail_msg("%s: %s", expr, cause);
	out[0] = '\0';
	while (n-- > 0) {
		t = cron_next(&c, t);
		strcat(out, show(t));
		if (n > 0)
			strcat(out, " | ");
	}
	return out;
}

static void
zone(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static void
test_fields(void **state)
{
	(void)state;
	zone("UTC");
	assert_string_equal(nexts("0 3 * * *", "2026-11-23 02:10", 2),
	    "2026-11-23 03:00 Mon UTC | 2026-11-24 03:00 Tue UTC");
	assert_string_equal(nexts("*/15 * * * *", "2026-11-23 02:10", 3),
	    "2026-11-23 02:15 Mon UTC | 2026-11-23 02:30 Mon UTC | "
	    "2026-11-23 02:45 Mon UTC");
	/* Lists, ranges with steps, names. */
	assert_string_equal(nexts("5,35 9-17/4 * * mon-fri", "2026-11-27 16:00",
	    3), "2026-11-27 17:05 Fri UTC | 2026-11-27 17:35 Fri UTC | "
	    "2026-11-30 09:05 Mon UTC");
	assert_string_equal(nexts("0 0 1 jan,JUL *", "2026-11-23 00:00", 2),
	    "2027-01-01 00:00 Fri UTC | 2027-07-01 00:00 Thu UTC");
	/* N/STEP runs from N to the end of the range. */
	assert_string_equal(nexts("50/5 0 * * *", "2026-11-23 00:00", 3),
	    "2026-11-23 00:50 Mon UTC | 2026-11-23 00:55 Mon UTC | "
	    "2026-11-24 00:50 Tue UTC");
	/* The next minute, never the same one. */
	assert_string_equal(nexts("* * * * *", "2026-11-23 02:10", 1),
	    "2026-11-23 02:11 Mon UTC");
}

static void
test_days(void **state)
{
	(void)state;
	zone("UTC");
	/* 7 and 0 are Sunday. */
	assert_string_equal(nexts("0 12 * * 7", "2026-11-23 00:00", 1),
	    "2026-11-29 12:00 Sun UTC");
	assert_string_equal(nexts("0 12 * * 0", "2026-11-23 00:00", 1),
	    "2026-11-29 12:00 Sun UTC");
	/* Day of month and day of week both restricted: either matches. */
	assert_string_equal(nexts("0 0 1 * fri", "2026-11-23 00:00", 3),
	    "2026-11-27 00:00 Fri UTC | 2026-12-01 00:00 Tue UTC | "
	    "2026-12-04 00:00 Fri UTC");
	/* The 31st skips the short months; 29 February waits for a leap year. */
	assert_string_equal(nexts("0 0 31 * *", "2026-11-23 00:00", 2),
	    "2026-12-31 00:00 Thu UTC | 2027-01-31 00:00 Sun UTC");
	assert_string_equal(nexts("0 0 29 2 *", "2026-11-23 00:00", 1),
	    "2028-02-29 00:00 Tue UTC");
	/* The end of a year. */
	assert_string_equal(nexts("59 23 31 12 *", "2026-12-31 23:59", 1),
	    "2027-12-31 23:59 Fri UTC");
	assert_string_equal(nexts("@daily", "2026-11-23 02:10", 1),
	    "2026-11-24 00:00 Tue UTC");
	assert_string_equal(nexts("@weekly", "2026-11-23 02:10", 1),
	    "2026-11-29 00:00 Sun UTC");
}

static void
test_summer_time(void **state)
{
	(void)state;
	zone("Europe/Berlin");
	/* 2027-03-28: 02:00 becomes 03:00; 02:30 does not happen that day. */
	assert_string_equal(nexts("30 2 * * *", "2027-03-27 12:00", 2),
	    "2027-03-29 02:30 Mon CEST | 2027-03-30 02:30 Tue CEST");
	assert_string_equal(nexts("0 * * * *", "2027-03-28 01:30", 2),
	    "2027-03-28 03:00 Sun CEST | 2027-03-28 04:00 Sun CEST");
	/* 2026-10-25: 03:00 goes back to 02:00; 02:30 happens once. */
	assert_string_equal(nexts("30 2 * * *", "2026-10-24 12:00", 2),
	    "2026-10-25 02:30 Sun CEST | 2026-10-26 02:30 Mon CET");
	zone("UTC");
}

static void
test_errors(void **state)
{
	static const struct { const char *in, *cause; } bad[] = {
		{ "", "expected 5 fields (minute hour day-of-month month "
		    "day-of-week) or @daily and the like, got fewer" },
		{ "* * * *", "expected 5 fields (minute hour day-of-month month "
		    "day-of-week) or @daily and the like, got fewer" },
		{ "* * * * * *", "expected 5 fields (minute hour day-of-month "
		    "month day-of-week) or @daily and the like, got more" },
		{ "60 * * * *", "minute: \"60\": out of range 0-59" },
		{ "* 24 * * *", "hour: \"24\": out of range 0-23" },
		{ "* * 0 * *", "day of month: \"0\": out of range 1-31" },
		{ "* * * 13 *", "month: \"13\": out of range 1-12" },
		{ "* * * * 8", "day of week: \"8\": out of range 0-7" },
		{ "5-1 * * * *", "minute: \"5-1\": a range must go up" },
		{ "*/0 * * * *", "minute: \"*/0\": a step must be a number "
		    "from 1" },
		{ "x * * * *", "minute: \"x\": expected *, N, N-M, a list of "
		    "them, each with an optional /STEP" },
		{ "* * * foo *", "month: \"foo\": expected *, N, N-M, a list of "
		    "them, each with an optional /STEP (or names such as jan, "
		    "mon)" },
		{ "1,,2 * * * *", "minute: \"1,,2\": expected *, N, N-M, a list "
		    "of them, each with an optional /STEP" },
		{ "0 0 30 2 *", "\"0 0 30 2 *\" never happens" },
		{ "@often", "\"@often\": expected @hourly, @daily, @midnight, "
		    "@weekly, @monthly, @yearly or @annually" },
	};
	struct cron	c;
	char		*cause;
	size_t		i;

	(void)state;
	zone("UTC");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		assert_int_equal(cron_parse(bad[i].in, &c, &cause), -1);
		assert_non_null(cause);
		if (strcmp(cause, bad[i].cause) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", bad[i].in,
			    cause, bad[i].cause);
		free(cause);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_days),
		cmocka_unit_test(test_summer_time),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
