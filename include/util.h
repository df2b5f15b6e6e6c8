/*
 * The platform layer every module uses, the client too: allocation that
 * cannot fail, the log, fds, paths, values of keys and arguments (parse.c)
 * and cron expressions. Included by pmd.h.
 */
#ifndef PMD_UTIL_H
#define PMD_UTIL_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* util.c: allocation that cannot fail, the daemon's own log, fd flags. */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
char	*hex_encode(const char *, size_t);
int	 hex_decode(const char *, char **, size_t *);
char	*xprintf(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
extern void (*fatal_hook)(const char *);
void	 fatalx(int, const char *, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
int	 fd_nonblock(int);
/* A growing text buffer: start it as { NULL, 0, 0 }, free s. */
struct text {
	char	*s;
	size_t	 len;
	size_t	 cap;
};
void	 text_put(struct text *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Credentials pmd takes for a moment to act as a user (watch.c). */
#define CREDS_GROUPS	64
struct creds {
	uid_t	 uid;
	gid_t	 gid;
	gid_t	 groups[CREDS_GROUPS];
	int	 ngroups;
};
int	 creds_of(const char *, uid_t, gid_t, struct creds *, char **);
int	 creds_enter(const struct creds *, struct creds *);
void	 creds_leave(const struct creds *);
double	 mono_now(void);
void	 fd_high_init(void);
int	 fd_high(int);
int	 fd_high_floor(void);
int	 fs_become(uid_t, char **);
void	 fs_restore(void);
int	 mkdir_p(const char *, mode_t, char **);
char	*path_join(const char *, const char *);
char	*path_dirname(const char *);
struct cJSON;
const char *json_string(struct cJSON *, const char *);
struct cJSON *json_strings(char *const *);
int	 json_is_strings(const struct cJSON *, int);
char	*utf8_fix(char *);
int	 text_printable(const char *, size_t);
int	 cap_effective(int);
char	*shipped_file(const char *);
char	*json_quote(const char *, size_t);
int	 file_read(const char *, size_t, char **, size_t *, char **);

/* parse.c: values of config keys and command-line arguments. */
int	 parse_duration(const char *, uint64_t *, char **);
int	 parse_size(const char *, uint64_t *, char **);
int	 parse_cpus(const char *, cpu_set_t *, char **);
int	 parse_bool(const char *, int *, char **);
int	 parse_uint(const char *, unsigned long, unsigned long *, char **);
int	 parse_signal(const char *, int *, char **);
const char *signal_name(int);
int	 parse_instances(const char *, int *, char **);
char	*format_duration(uint64_t);
char	*format_size(uint64_t);
unsigned instances_resolve(int, long);
int	 parse_exit_codes(const char *, uint8_t [32], char **);
int	 split_command(const char *, char ***, char **);
void	 argv_free(char **);
struct sockaddr_storage;
int	 url_sockaddr(const char *, struct sockaddr_storage *, socklen_t *,
	    char **);
int	 url_check(const char *, char **);
size_t	 argv_count(char *const *);
int	 strv_has(char *const *, const char *);
void	 strv_add(char ***, const char *);
char	**file_last_lines(const char *, unsigned, size_t);
int	 strv_del(char **, const char *);
int	 parse_list(const char *, char ***, char **);
int	 path_ignored(char *const *, const char *);
int	 app_name_valid(const char *);
int	 env_name_valid(const char *);
const char *suggest(const char *, const char *const *, size_t);
char	*status_string(int);

/* cron.c: five-field cron expressions and the next time they match. */
struct cron {
	uint64_t	 minute;	/* bit N: N matches */
	uint32_t	 hour;
	uint32_t	 mday;
	uint16_t	 month;
	uint8_t		 wday;
	int		 mday_star;	/* the field was * */
	int		 wday_star;
};
int	 cron_parse(const char *, struct cron *, char **);
time_t	 cron_next(const struct cron *, time_t);

#endif
