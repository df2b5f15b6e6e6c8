/*
 * The configuration as data: app configs and [daemon] settings read from
 * INI files (config.c, ini.c), the app keys as table rows (keytab.c,
 * keys.c), and app configs as objects (appcfg.c). Included by pmd.h.
 */
#ifndef PMD_CONFIG_H
#define PMD_CONFIG_H

#include <sys/types.h>
#include <sys/queue.h>
#include <stdint.h>

#include "util.h"

/* config.c: the INI files, parsed and checked, as a list of app configs. */
struct envvar {
	char			*profile;	/* NULL: always set */
	char			*key;
	char			*value;
};

/* The events a hook can run on (hook_NAME keys). */
enum hook {
	HOOK_EXITED,
	HOOK_RESTARTED,
	HOOK_ERRORED,
	HOOK_ONLINE,
	HOOK_RELOAD_FAILED,
	HOOK_WATCHDOG,
	HOOK_COUNT
};
extern const char *const hook_events[HOOK_COUNT];

/* limit_NAME keys: the workers' resource limits (setrlimit(2)). */
enum {
	LIMIT_NOFILE,
	LIMIT_NPROC,
	LIMIT_CORE,
	LIMIT_MEMLOCK,
	LIMIT_STACK,
	LIMIT_AS,
	LIMIT_COUNT
};
#define LIMIT_INFINITY	UINT64_MAX
struct app_limit {
	int		 set;
	uint64_t	 soft;		/* LIMIT_INFINITY: none */
	uint64_t	 hard;
};
extern const int app_limit_resource[LIMIT_COUNT];	/* RLIMIT_* */
extern const char *const app_limit_key[LIMIT_COUNT];	/* its key */

/* A number a key may leave unset: nice, oom_score_adj, umask. */
struct app_int {
	int		 set;
	int		 value;
};

struct app_config {
	TAILQ_ENTRY(app_config)	 entry;
	int			 refs;
	char			*name;
	char			*file;		/* where [app:NAME] stands */
	int			 line;

	char			*command;	/* as written, for show */
	char			**argv;
	char			*cwd;
	int			 instances;	/* N, 0 for max, -N */
	struct envvar		*env;
	size_t			 nenv;
	int			 autorestart;
	uint64_t		 min_uptime;	/* all durations in ms */
	unsigned		 max_restarts;
	uint64_t		 restart_delay;
	uint64_t		 exp_backoff;
	uint64_t		 kill_timeout;
	int			 kill_signal;
	int			 shutdown_with_message; /* "shutdown" first */
	uint8_t			 stop_exit_codes[32];
	char			*user;
	char			*group;
	uid_t			 uid;
	gid_t			 gid;

	char			*out_file;	/* NULL: LOG_DIR/NAME.out.log */
	char			*err_file;
	int			 merge_logs;	/* one file per app, not instance */
	char			*log_date_format; /* NULL: no timestamps */
	char			*namespace;	/* a group of apps, as a target */
	char			*increment_var;	/* + instance in each worker */
	char			*instance_var;	/* the instance number, too */
	uint64_t		 log_max_size;	/* 0: never rotate */
	unsigned		 log_retain;

	char			**listen;	/* URLs, NULL: none */
	unsigned		 listen_backlog;
	mode_t			 listen_mode;	/* of unix sockets */
	int			 listen_nodelay; /* TCP_NODELAY on them */
	int			 listen_preload; /* pmd-preload.so in workers */
	int			 listen_share;	/* no listen: share what they bind */
	int			 listen_balance; /* LISTEN_SHARED, _BALANCED... */
	int			 ipc;		/* the message channel */
	uint64_t		 watchdog;	/* ms; 0: none */
	char			*hooks[HOOK_COUNT]; /* commands, or NULL */
	int			 wait_ready;	/* online at READY=1 */
	uint64_t		 listen_timeout; /* for READY=1, ms */
	int			 not_ready;	/* NOT_READY_FAIL, _ONLINE */

	uint64_t		 max_memory;	/* max_memory_restart, 0: none */
	uint64_t		 memory_interval; /* ms between checks */
	char			*cron_text;	/* cron_restart, NULL: none */
	struct cron		 cron;
	int			 watch;		/* -1: as watch_paths says */
	char			**watch_paths;	/* NULL: cwd */
	char			**ignore_watch;	/* besides WATCH_IGNORED */
	uint64_t		 watch_delay;	/* quiet time before a restart */
	int			 reload_order;	/* RELOAD_AUTO, _START_FIRST, ... */

	char			**after;	/* apps that must be online first */
	int			 after_line;	/* where after was set */

	/* Set in the worker before exec. */
	struct app_limit	 limits[LIMIT_COUNT]; /* limit_NAME */
	struct app_int		 nice;
	struct app_int		 oom_score_adj;
	struct app_int		 umask;
	char			*cpu_affinity;	/* a CPU list, NULL: pmd's */

	uid_t			 owner;		/* confined to this uid, or -1 */
};
TAILQ_HEAD(app_config_list, app_config);

#define LOG_DATE_DEFAULT	"%Y-%m-%dT%H:%M:%S.%L%z"

/* listen_balance: how connections reach the instances. */
#define LISTEN_SHARED		0	/* one socket, every instance accepts */
#define LISTEN_BALANCED		1	/* one SO_REUSEPORT socket per instance */
#define LISTEN_AUTO		2	/* balanced for tcp:// only, else shared */
#define LISTEN_STICKY		3	/* balanced, by a hash of the client */
/* not_ready: what a start's listen_timeout means with wait_ready. */
#define NOT_READY_FAIL		0	/* no READY=1 in time: failed */
#define NOT_READY_ONLINE	1	/* online anyway (PM2's wait_ready) */
/* reload_order: which worker of an instance a reload runs first. */
#define RELOAD_AUTO		0	/* start-first with listen, else stop-first */
#define RELOAD_START_FIRST	1
#define RELOAD_STOP_FIRST	2

struct config {
	char			*file;
	char			*log_dir;
	char			*socket;
	char			*dump_file;
	char			**files;	/* read: file and its includes */
	char			**extra;	/* added by pmctl start FILE */
	uid_t			*extra_owner;	/* who added each, or -1 */
	unsigned		 max_clients;	/* 0: the default */
	uint64_t		 client_idle_ms;
	int			 client_idle_set;
	int			 exit_when_failed; /* every app gave up: exit 1 */
	int			 exit_when_failed_set;
	int			 container;	/* output to pmd's stdout/stderr */
	int			 container_json; /* ... as JSON lines */
	char			*hooks[HOOK_COUNT]; /* for every app */
	uint64_t		 hook_timeout_ms; /* 0: HOOK_TIMEOUT */
	char			*metrics;	/* http: URL, or NULL: none */
	int			 http_plain_api; /* the API off loopback too */
	char			*http_tls_cert;	/* HTTPS: PEM files, or NULL */
	char			*http_tls_key;
	struct app_config_list	 apps;
};

#define OWNER_NONE	((uid_t)-1)	/* the admin's: not confined */

int	 config_load(const char *, uid_t, struct config **, char **);
int	 appcfg_confine(struct app_config *, uid_t, char **);
void	 config_add_extra(struct config *, const char *, uid_t);
struct app_config *config_merge(struct config *, struct app_config *, int);
int	 appcfg_same(const struct app_config *, const struct app_config *);
struct config *config_empty(void);
void	 config_free(struct config *);
struct app_config *config_find(struct config *, const char *);
struct app_config *appcfg_new(const char *);
struct app_config *appcfg_adhoc(const char *, char **, const char *, int);
void	 appcfg_ref(struct app_config *);
void	 appcfg_unref(struct app_config *);

/* ini.c: INI text through inih, with each key's physical line. */
struct ini_handler {
	void	(*section)(void *, int, const char *, const char *);
				/* line, name, what follows "]" */
	void	(*key)(void *, int, const char *, const char *, const char *,
		    int);	/* line, section, key, value, continued */
	void	(*error)(void *, int, const char *);	/* line (0: file) */
};
void	 ini_read(const char *, size_t, const struct ini_handler *, void *);

/* keys.c: the keys of [app:NAME], as a table of rows. */
enum key_type {
	K_COMMAND,	/* split like a shell; the text kept for show */
	K_PATH,		/* relative to the file's directory */
	K_INSTANCES,	/* N, max, -N */
	K_BOOL,
	K_TRIBOOL,	/* -1 until set */
	K_DURATION,	/* ms */
	K_SIZE,		/* bytes */
	K_UINT,		/* 0 to max */
	K_SIGNAL,
	K_EXIT_CODES,
	K_USER,
	K_GROUP,
	K_DATE_FORMAT,
	K_LISTEN,
	K_MODE,
	K_CRON,
	K_LIST,		/* comma-separated */
	K_CHOICE,	/* one of the words of what, as its index */
	K_HOOK,		/* a command, split like command; the text kept */
	K_NAME,		/* as an app's name: A-Z a-z 0-9 . _ - */
	K_ENVNAME,	/* an environment variable's name */
	K_LIMIT,	/* N, SOFT:HARD or infinity: a count */
	K_LIMIT_SIZE,	/* the same in bytes (64M) */
	K_INT,		/* min to max, or unset */
	K_UMASK,	/* octal, or unset */
	K_CPUS,		/* a CPU list: 0-3,6 */
};

struct app_key {
	const char	*name;
	enum key_type	 type;
	size_t		 off;		/* the field in struct app_config */
	const char	*def;		/* the default, as written; NULL: none */
	double		 min;		/* durations and sizes: least but 0 */
	double		 max;		/* K_UINT */
	const char	*what;		/* what a bad value should be */
};

extern const struct app_key *const app_keys;
extern const size_t napp_keys;
const struct app_key *key_find(const char *);
int	 key_set(const struct app_key *, struct app_config *, const char *,
	    const char *, char **);
void	 keys_default(struct app_config *);
void	 keys_free(struct app_config *);
char	*key_text(const struct app_key *, const struct app_config *);
int	 keys_equal(const struct app_config *, const struct app_config *,
	    const char *);

#endif
