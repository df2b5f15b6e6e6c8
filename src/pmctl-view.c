/*
 * How workers look to a person in pmctl: the list's columns (shared by
 * list, monit and show), a status's colour, durations and sizes in short
 * units.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmctl.h"

const char *
paint(const char *status)
{
	if (!color)
		return "";
	if (strcmp(status, "online") == 0)
		return "\033[32m";
	if (strcmp(status, "errored") == 0)
		return "\033[31m";
	if (strcmp(status, "stopped") == 0)
		return "\033[90m";
	return "\033[33m";
}

void
fmt_duration(char *buf, size_t size, double ms)
{
	double	s = ms / 1000;

	if (ms <= 0)
		snprintf(buf, size, "-");
	else if (s < 60)
		snprintf(buf, size, "%.0fs", s);
	else if (s < 3600)
		snprintf(buf, size, "%.0fm", s / 60);
	else if (s < 86400)
		snprintf(buf, size, "%.1fh", s / 3600);
	else
		snprintf(buf, size, "%.1fd", s / 86400);
}

void
fmt_bytes(char *buf, size_t size, double b)
{
	if (b <= 0)
		snprintf(buf, size, "-");
	else if (b < 1024 * 1024)
		snprintf(buf, size, "%.0fK", b / 1024);
	else if (b < 1024.0 * 1024 * 1024)
		snprintf(buf, size, "%.1fM", b / 1024 / 1024);
	else
		snprintf(buf, size, "%.2fG", b / 1024 / 1024 / 1024);
}

double
num(cJSON *o, const char *key)
{
	cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

const char *
str(cJSON *o, const char *key)
{
	const char	*s = json_string(o, key);

	return s ? s : "";
}

/*
 * One worker's line of the list, its status between on and off (colour),
 * the name column namew wide.
 */
void
pmctl_list_row(char *buf, size_t size, cJSON *r, int namew, const char *on,
    const char *off)
{
	char	up[16], mem[16], pid[16];

	fmt_duration(up, sizeof up, num(r, "uptime_ms"));
	fmt_bytes(mem, sizeof mem, num(r, "memory"));
	if (num(r, "pid") > 0)
		snprintf(pid, sizeof pid, "%.0f", num(r, "pid"));
	else
		snprintf(pid, sizeof pid, "-");
	snprintf(buf, size, "%-*s  %4.0f  %4.0f  %8s  %s%-9s%s  %8.0f  %6s  "
	    "%5.1f%%  %7s", namew, str(r, "name"), num(r, "id"),
	    num(r, "instance"), pid, on, str(r, "status"), off,
	    num(r, "restarts"), up, num(r, "cpu"), mem);
}

/* The width of the name column, and the header line above the rows. */
int
pmctl_list_header(char *buf, size_t size, cJSON *rows)
{
	cJSON	*r;
	int	 w = 4;

	cJSON_ArrayForEach(r, rows) {
		if ((int)strlen(str(r, "name")) > w)
			w = (int)strlen(str(r, "name"));
	}
	snprintf(buf, size, "%-*s  %4s  %4s  %8s  %-9s  %8s  %6s  %6s  %7s", w,
	    "NAME", "ID", "INST", "PID", "STATUS", "RESTARTS", "UPTIME", "CPU",
	    "MEM");
	return w;
}

void
pmctl_print_list(cJSON *rows)
{
	cJSON	*r;
	char	 line[512];
	int	 w = pmctl_list_header(line, sizeof line, rows);

	printf("%s\n", line);
	cJSON_ArrayForEach(r, rows) {
		pmctl_list_row(line, sizeof line, r, w, paint(str(r, "status")),
		    color ? "\033[0m" : "");
		printf("%s\n", line);
	}
	if (cJSON_GetArraySize(rows) == 0)
		printf("(no apps)\n");
}
