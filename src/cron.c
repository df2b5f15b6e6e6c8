/*
 * cron_restart: five-field cron expressions (minute, hour, day of month,
 * month, day of week) with lists, ranges, steps and names, and the next
 * local time one matches. As in Vixie cron, when both the day of month
 * and the day of week are restricted, a day matching either one matches;
 * 0 and 7 are Sunday. @hourly, @daily (@midnight), @weekly, @monthly and
 * @yearly (@annually) stand for their usual expressions.
 *
 * Times are local. A time that a change to summer time skips does not
 * happen that day; a time that the change back repeats happens once.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "pmd.h"

static const struct {
	const char	*name;
	int		 min;
	int		 max;
	const char	*names[12];
} fields[5] = {
	{ "minute", 0, 59, { NULL } },
	{ "hour", 0, 23, { NULL } },
	{ "day of month", 1, 31, { NULL } },
	{ "month", 1, 12, { "jan", "feb", "mar", "apr", "may", "jun", "jul",
	    "aug", "sep", "oct", "nov", "dec" } },
	{ "day of week", 0, 7, { "sun", "mon", "tue", "wed", "thu", "fri",
	    "sat" } },
};

static const struct {
	const char	*name;
	const char	*expr;
} macros[] = {
	{ "@hourly", "0 * * * *" },
	{ "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@monthly", "0 0 1 * *" },
	{ "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
};

/* A number or (for months and days) a name, at *s. */
static int
value(int f, const char **s, int *v)
{
	const char	*p = *s;
	char		*end;
	long		 n;
	int		 i;

	if (isdigit((unsigned char)*p)) {
		n = strtol(p, &end, 10);
		if (n > 1000)
			n = 1000;
		*v = (int)n;
		*s = end;
		return 0;
	}
	for (i = 0; i < 12 && fields[f].names[i] != NULL; i++) {
		if (strncasecmp(p, fields[f].names[i], 3) == 0 &&
		    !isalpha((unsigned char)p[3])) {
			*v = i + (f == 3);
			*s = p + 3;
			return 0;
		}
	}
	return -1;
}

/* One field: a comma list of *, N, N-M, each with an optional /STEP. */
static int
field(int f, const char *text, uint64_t *bits, int *star, char **cause)
{
	const char	*s = text;
	int		 lo, hi, step, v, single;

	*bits = 0;
	*star = strcmp(text, "*") == 0 || strncmp(text, "*/", 2) == 0;
	for (;;) {
		single = *s != '*';
		if (*s == '*') {
			lo = fields[f].min;
			hi = fields[f].max;
			s++;
		} else {
			if (value(f, &s, &lo) == -1)
				goto bad;
			hi = lo;
			if (*s == '-') {
				single = 0;
				s++;
				if (value(f, &s, &hi) == -1)
					goto bad;
			}
			if (lo < fields[f].min || hi > fields[f].max ||
			    lo > fields[f].max || hi < fields[f].min) {
				*cause = xprintf("%s: \"%s\": out of range %d-%d",
				    fields[f].name, text, fields[f].min,
				    fields[f].max);
				return -1;
			}
			if (lo > hi) {
				*cause = xprintf("%s: \"%s\": a range must go "
				    "up", fields[f].name, text);
				return -1;
			}
		}
		step = 1;
		if (*s == '/') {
			s++;
			if (!isdigit((unsigned char)*s) ||
			    value(f, &s, &step) == -1 || step < 1) {
				*cause = xprintf("%s: \"%s\": a step must be a "
				    "number from 1", fields[f].name, text);
				return -1;
			}
			/* "N/STEP" means N to the end, as in Vixie cron. */
			if (single)
				hi = fields[f].max;
		}
		for (v = lo; v <= hi; v += step)
			*bits |= 1ULL << v;
		if (*s == '\0')
			break;
		if (*s++ != ',')
			goto bad;
	}
	if (f == 4 && (*bits & (1ULL << 7)))
		*bits = (*bits & ~(1ULL << 7)) | 1;	/* 7 is Sunday */
	return 0;

bad:
	*cause = xprintf("%s: \"%s\": expected *, N, N-M, a list of them, each "
	    "with an optional /STEP%s", fields[f].name, text, f >= 3 ?
	    " (or names such as jan, mon)" : "");
	return -1;
}

int
cron_parse(const char *text, struct cron *c, char **cause)
{
	char		*copy, *tok, *save, *why;
	uint64_t	 bits[5];
	int		 star[5], n = 0;
	size_t		 i;

	for (i = 0; i < nitems(macros); i++) {
		if (strcasecmp(text, macros[i].name) == 0)
			return cron_parse(macros[i].expr, c, cause);
	}
	if (*text == '@') {
		*cause = xprintf("\"%s\": expected @hourly, @daily, @midnight, "
		    "@weekly, @monthly, @yearly or @annually", text);
		return -1;
	}
	copy = xstrdup(text);
	for (tok = strtok_r(copy, " \t", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t", &save)) {
		if (n == 5) {
			n++;
			break;
		}
		if (field(n, tok, &bits[n], &star[n], &why) == -1) {
			*cause = why;
			free(copy);
			return -1;
		}
		n++;
	}
	free(copy);
	if (n != 5) {
		*cause = xprintf("expected 5 fields (minute hour day-of-month "
		    "month day-of-week) or @daily and the like, got %s", n < 5 ?
		    "fewer" : "more");
		return -1;
	}
	c->minute = bits[0];
	c->hour = (uint32_t)bits[1];
	c->mday = (uint32_t)bits[2];
	c->month = (uint16_t)bits[3];
	c->wday = (uint8_t)bits[4];
	c->mday_star = star[2];
	c->wday_star = star[4];
	/* A date that never comes (30 February) is an error, not a hang. */
	if (cron_next(c, 0) == (time_t)-1) {
		*cause = xprintf("\"%s\" never happens", text);
		return -1;
	}
	return 0;
}

static int
day_matches(const struct cron *c, const struct tm *tm)
{
	int	mday = (c->mday >> tm->tm_mday) & 1;
	int	wday = (c->wday >> tm->tm_wday) & 1;

	if (c->mday_star || c->wday_star)
		return mday && wday;
	return mday || wday;
}

/* The first whole minute after `after` that c matches, or -1 for none. */
time_t
cron_next(const struct cron *c, time_t after)
{
	struct tm	tm;
	time_t		t;
	int		i;

	localtime_r(&after, &tm);
	tm.tm_sec = 0;
	tm.tm_min++;
	/* Each step moves on a month, day, hour or minute: 8 years at most. */
	for (i = 0; i < 200000; i++) {
		tm.tm_isdst = -1;
		if ((t = mktime(&tm)) == (time_t)-1)
			return -1;
		if (t <= after) {		/* a repeated hour, backwards */
			tm.tm_min++;
			continue;
		}
		if (!((c->month >> (tm.tm_mon + 1)) & 1)) {
			tm.tm_mon++;
			tm.tm_mday = 1;
			tm.tm_hour = tm.tm_min = 0;
		} else if (!day_matches(c, &tm)) {
			tm.tm_mday++;
			tm.tm_hour = tm.tm_min = 0;
		} else if (!((c->hour >> tm.tm_hour) & 1)) {
			tm.tm_hour++;
			tm.tm_min = 0;
		} else if (!((c->minute >> tm.tm_min) & 1))
			tm.tm_min++;
		else
			return t;
	}
	return -1;
}
