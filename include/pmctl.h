/* What pmctl.c shares with the client's other modules (pmctl-*.c). */
#ifndef PMCTL_H
#define PMCTL_H

#include <stdio.h>

#include <cjson/cJSON.h>

#define EXIT_DAEMON	1
#define EXIT_USAGE	2
#define EXIT_UNREACH	3
#define EXIT_TIMEOUT	4	/* the daemon did not answer in time */

extern int color;
extern int pmctl_json;
extern const char *pmctl_start_running;	/* startOrRestart, startOrReload */

void	 pmctl_usage_error(const char *, ...)
	    __attribute__((noreturn, format(printf, 1, 2)));
cJSON	*pmctl_read_reply(FILE *);
void	 pmctl_print_names(const char *, cJSON *);
cJSON	*pmctl_exchange(int, FILE *, cJSON *, char **);
int	 pmctl_redial(int *, FILE **);
void	 pmctl_print_list(cJSON *);
void	 pmctl_sort_rows(cJSON *);
void	 pmctl_print_numbers(cJSON *, const char *);
void	 pmctl_add_environ(cJSON *);
void	 pmctl_remote(int, char **, int) __attribute__((noreturn));
const char *pmctl_pm2_name(const char *, int *);
const char *pmctl_pm2_advice(const char *);
struct cmd_entry;
void	 pmctl_build_start(const struct cmd_entry *, cJSON *, int, char **);
void	 pmctl_build_target_env(const struct cmd_entry *, cJSON *, int,
	    char **);
int	 pmctl_list_header(char *, size_t, cJSON *);
void	 pmctl_list_row(char *, size_t, cJSON *, int, const char *,
	    const char *);
const char *paint(const char *);
void	 fmt_duration(char *, size_t, double);
void	 fmt_bytes(char *, size_t, double);
double	 num(cJSON *, const char *);
const char *str(cJSON *, const char *);
void	 pmctl_deadline(double);

/* pmctl-eco.c, pmctl-import.c: PM2's ecosystem files. */
#define PM2_KILL_SIGNAL		"SIGINT"	/* how PM2 stops an app */
#define PM2_KILL_TIMEOUT	"1600ms"
#define PM2_LISTEN_TIMEOUT	"3s"		/* its wait for ready */
int	 eco_is_file(const char *);
const char *script_interpreter(const char *);
char	*eco_date_format(const char *);
cJSON	*eco_load(const char *, const char *);
void	 eco_print(FILE *, const char *, const cJSON *);
char	*eco_ini_check(const char *, const cJSON *);

/* pmctl-monit.c */
int	 monit_main(int, FILE *, int, char **);

#endif
