/*
 * Internal interfaces of pmd. Each section belongs to one module of src/;
 * a struct is created and freed only by the module that owns it.
 */
#ifndef PMD_H
#define PMD_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <time.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#define container_of(p, type, member) \
	((type *)((char *)(p) - offsetof(type, member)))
#define nitems(a) (sizeof(a) / sizeof((a)[0]))

#define PMD_EX_CONFIG	78	/* sysexits EX_CONFIG: the config did not load */
#define PMD_EX_RUNNING	75	/* EX_TEMPFAIL: another pmd holds the socket */

#include "util.h"
#include "config.h"

/* listen-addr.c: sockets by address, made with an app's options. */
struct sockaddr;
int	 sock_listen(const struct sockaddr *, socklen_t, mode_t, int, char **);
int	 sock_listen_opt(const struct sockaddr *, socklen_t, mode_t, int, int,
	    char **);
#define REUSEPORT_JOIN	1	/* sock_listen_opt: join a balanced group */
#define REUSEPORT_FIRST	2	/* begin one: the address must be free */
int	 listen_open(const struct app_config *, char *const *, int **,
	    size_t *, int, char **);
void	 listen_close(char *const *, int *, size_t);
int	 listen_same(const struct app_config *, const struct app_config *);
int	 listen_balanced(const struct app_config *);
int	 listen_balanced_urls(const struct app_config *, char *const *);
int	 listen_pause(const int *, size_t);
int	 listen_queued(int);
int	 url_widens(const char *, const char *);
int	 listen_sticky(int, unsigned, char **);
int	 listen_resume(const struct app_config *, char *const *, const int *,
	    size_t, char **);

/* supervise.c: the restart policy, a state x event table. */
enum wstate {
	W_STOPPED,	/* no process, none wanted */
	W_STARTING,	/* spawned, not yet known to run */
	W_ONLINE,	/* running */
	W_STOPPING,	/* kill_signal sent, waiting for the exit */
	W_WAITING,	/* exited, restart timer armed */
	W_ERRORED,	/* gave up after max_restarts unstable starts */
	W_FAILING,	/* no READY=1 within listen_timeout: being killed,
			   its exit a failed start (shown as stopping) */
	W_NSTATES
};

enum wevent {
	E_START,	/* the user wants it running */
	E_STOP,		/* the user wants it stopped */
	E_RESTART,	/* stop if running, then start */
	E_RESET,	/* zero the counters; start again if errored */
	E_READY,	/* the process is known to run */
	E_EXIT,		/* the process exited */
	E_TIMER,	/* restart delay, listen_timeout or kill_timeout */
	E_NOSPAWN,	/* no process could be made: fds, memory, pids */
	E_NOSOCKET,	/* it cannot start: the app's sockets are not bound */
	E_REMOVE,	/* the slot goes (scaled down): stop, then free it */
	E_NEVENTS
};

/* Actions the caller performs after a step, in this order. */
#define A_CANCEL	0x01	/* stop the timer */
#define A_KILL		0x02	/* kill_signal to the group, arm kill_timeout */
#define A_SIGKILL	0x04	/* SIGKILL to the group */
#define A_DELAY		0x08	/* arm the timer for sm_out.delay ms */
#define A_SPAWN		0x10	/* start a new process */

enum wreason {
	R_NONE,
	R_USER,		/* stopped by a command */
	R_EXIT_CODE,	/* exit code in stop_exit_codes */
	R_NO_RESTART,	/* autorestart is off */
	R_UNSTABLE,	/* too many starts shorter than min_uptime */
	R_NO_SOCKET	/* the app's listen sockets could not be bound */
};

/* What the user asked of a slot last: the table moves the process there. */
enum want {
	WANT_NONE,	/* nothing yet: a new slot */
	WANT_UP,	/* start, restart, reset of an errored one */
	WANT_DOWN,	/* stop: kept stopped, and saved so */
	WANT_GONE	/* scaled away: freed once it has no process */
};

struct policy {
	int		 autorestart;
	uint64_t	 min_uptime;
	unsigned	 max_restarts;
	uint64_t	 restart_delay;
	uint64_t	 exp_backoff;
	const uint8_t	*stop_exit_codes;
	int		 timeout_online; /* E_TIMER while starting: online, not
					   a failed start (no bind through pmd
					   by min_uptime; not_ready = online) */
};

struct sm {
	enum wstate	 state;
	enum want	 want;
	enum wreason	 reason;	/* why it last stopped or errored */
	unsigned	 unstable;	/* consecutive starts shorter than min_uptime */
	unsigned	 restarts;	/* restarts since start or reset */
	uint64_t	 backoff;	/* current exponential delay, ms */
	uint64_t	 delay;		/* with A_DELAY: how long */
	uint64_t	 spawn_backoff;	/* after E_NOSPAWN, ms */
};

#define BACKOFF_MAX	15000	/* ms */
#define SPAWN_RETRY	100	/* ms after the first E_NOSPAWN, doubling */
#define SPAWN_RETRY_MAX	5000
#define BACKOFF_RESET	30000	/* ms up that resets the backoff */

int	 sm_step(struct sm *, enum wevent, const struct policy *, int,
	    uint64_t);
void	 sm_succeed(struct sm *, const struct sm *, int);
const char *sm_state_name(enum wstate);
const char *sm_reason_name(enum wreason);

/* proc.c: spawning a process, and what /proc tells of one. */
struct spawn {
	char *const	*argv;
	const struct rlimit *nofile;	/* for the worker; NULL: keep ours */
	char *const	*envp;
	const char	*cwd;
	int		 set_ids;
	uid_t		 uid;
	gid_t		 gid;
	const char	*user;		/* for initgroups */
	int		 out_fd;
	int		 err_fd;
	const int	*listen_fds;	/* become fds 3.. */
	size_t		 nlisten;
	char		*pid_slot[2];	/* the child writes its pid here */
	/* The app's process settings, each set before exec. */
	struct spawn_limit {
		int		 resource;	/* RLIMIT_* */
		struct rlimit	 lim;
		const char	*key;		/* limit_NAME, for errors */
	}		 limits[LIMIT_COUNT];
	size_t		 nlimits;
	int		 set;		/* SET_NICE, SET_OOM... */
	int		 nice;
	int		 oom_score_adj;
	mode_t		 umask;
	cpu_set_t	 cpus;
};
#define SET_NICE	0x1
#define SET_OOM		0x2
#define SET_UMASK	0x4
#define SET_CPUS	0x8

#define PID_SLOT_SIZE	24

pid_t	 proc_spawn(const struct spawn *, int *, char **, char **);
void	 proc_kill_strays(void);

struct pstat {
	pid_t			 ppid;
	pid_t			 pgrp;
	unsigned long long	 ticks;		/* CPU, user + system */
	unsigned long long	 start;		/* ticks after boot */
	uint64_t		 rss;		/* bytes */
};
int	 proc_stat(pid_t, struct pstat *);
pid_t	 proc_pidfd_pid(int);

/* child.c: the exits of pmd's children, each through its pidfd. */
struct child {
	LIST_ENTRY(child)	 entry;
	int			 listed;	/* in the list of watched */
	ev_io			 io_w;		/* on the pidfd (-1: none) */
	pid_t			 pid;
	int			 status;	/* for cb: as wait(2) gives it */
	void			(*cb)(struct child *);
};
extern struct ev_loop *pmd_loop;
int	 child_init(char **);
int	 child_pidfd(const struct child *);
int	 child_pidfds(void);
int	 child_watch(struct child *, pid_t, int, void (*)(struct child *));
void	 child_unmade(struct child *, int, void (*)(struct child *));
void	 child_unwatch(struct child *);

/* track.c: the workers' process groups, on disk for the next pmd. */
int	 track_open(const char *, char **);
void	 track_sweep(void);
unsigned long long track_add(pid_t);
void	 track_del(pid_t, unsigned long long);

/* logs.c: worker output from pipes to files, and the stderr tail. */
struct logfile;
struct logpipe;

#define LOG_OUT		0
#define LOG_ERR		1
#define TAIL_SIZE	2048

struct tail {
	size_t		 len;
	char		 buf[TAIL_SIZE];
};

/* Called with each line while set (by control.c, for followers). */
typedef void (*log_tap_fn)(const char *, int, int, const char *);
extern log_tap_fn log_tap;

struct logfile *logfile_open(const char *, const char *, int, int,
	    const struct app_config *);
void	 logfile_unref(struct logfile *);
struct logfile_info {
	const char	*path;
	uint64_t	 size;
	uint64_t	 dropped;	/* lines lost to write errors */
	const char	*error;		/* the last one, or NULL */
};
void	 logfile_info(const struct logfile *, struct logfile_info *);
int	 logfile_discards(const struct logfile *);
void	 logpipe_new(int, struct logfile *, int, struct tail **,
	    struct logpipe **);
void	 logpipe_release(struct logpipe **);
void	 logpipe_adopt(int, struct logfile *, int, struct tail **,
	    struct logpipe **, const char *, size_t);
int	 logpipe_carry(const struct logpipe *, const char **, size_t *);
void	 logs_drop_released(void);
void	 logs_close_all(void);
int	 logs_reopen_all(void);
int	 logs_own(const char *);
char	**logs_flush(const char *);
/* arg, app, instance (-1: merged), stream, path, the lines */
typedef void (*log_tail_fn)(void *, const char *, int, int, const char *,
	    char **);
void	 logs_tail(const char *, int, unsigned, log_tail_fn, void *);
void	 tail_append(struct tail **, const char *, size_t);

/* worker.c: one instance slot of an app and the process it runs. */
struct app;

/*
 * The message channel of a worker's current process: ipc.c's, which alone
 * reads and writes it; others read the counters.
 */
struct ipc {
	ev_io		 r;
	ev_io		 w;
	char		*in;		/* a line being read */
	size_t		 inlen;
	int		 skip;		/* the rest of a too long line */
	char		*out;		/* queued for the worker */
	size_t		 outcap;
	size_t		 outlen;
	size_t		 outoff;
	unsigned long	 bad;		/* lines dropped: not JSON, too long */
	unsigned long	 dropped_out;	/* messages it could not take */
	struct metric {
		char	*name;
		double	 value;
	}		*metrics;	/* its last {"type":"metrics"} */
	size_t		 nmetrics;
};

struct worker {
	struct app	*app;
	unsigned	 instance;
	unsigned	 id;		/* PMD_WORKER_ID of the current process */
	unsigned	 pm_id;		/* the slot's id: unique across apps,
					   kept across restarts, reloads and
					   save/resurrect (PM2's pm_id) */
	pid_t		 pid;
	pid_t		 last_pid;	/* of the process before, for events */
	struct sm	 sm;

	double		 started;	/* mono_now() at spawn */
	unsigned long long tracked;	/* from track_add() */
	int		 last_status;	/* wait status of the last exit */
	int		 have_status;
	char		*exec_error;	/* why the last spawn failed */
	int		 no_spawn;	/* it failed for want of resources */
	double		 crash_at;	/* mono_now() of its last unstable exit */
	uint64_t	 crash_uptime;	/* ms it ran then */

	struct logfile	*outf;		/* where its stdout and stderr go */
	struct logfile	*errf;
	struct logpipe	*out;
	struct logpipe	*err;
	struct tail	*tail;		/* last bytes of stderr */

	pid_t		 cpu_pid;	/* the process of the last sample */
	unsigned long long cpu_ticks;	/* its CPU ticks then ... */
	double		 cpu_at;	/* ... and when */
	double		 cpu_pct;	/* over the last window */
	uint64_t	 rss;		/* at the last sample, bytes */
	unsigned long long ticks;	/* CPU then, user + system */

	char		*status_text;	/* STATUS= from the worker */
	/* With listen and pmd-preload.so: starting until it binds or
	 * listens (or min_uptime passes); then proven, and a reload need
	 * not wait min_uptime again. */
	int		 await_listen;
	int		 proven;
	int		 handed;	/* took the app's sockets: accepts on them */
	int		 stop_phase;	/* STOP_*: how far a stop has gone */

	struct ipc	 ipc;		/* its channel: ipc.c's alone */

	ev_timer	 watchdog_w;	/* WATCHDOG=1 due, with watchdog */
	int		 watchdog_fired; /* SIGABRT sent for a missed one */
	char		*exit_reason;	/* why pmd ended the last process */
	/* A reload's new worker, on probation: told when it comes online
	 * or exits (failed: killed for want of READY=1). NULL otherwise. */
	void		(*trial)(struct worker *, int);

	struct child	 child;
	ev_timer	 timer_w;
	ev_io		 notify_w;	/* NOTIFY_SOCKET, with wait_ready */
};

#define STOP_NONE	0
#define STOP_GRACE	1	/* too young to have a handler: wait */
#define STOP_MESSAGE	2	/* "shutdown" sent: the signal next */
#define STOP_SIGNAL	3	/* kill_signal sent: SIGKILL next */
#define STOP_YOUNG	0.5	/* seconds a stop waits for a fresh worker */

/* notify.c: a worker's sd_notify socket and watchdog. */
void	 notify_init(struct worker *);
char	*notify_open(struct worker *, char **);
void	 notify_close(struct worker *);
void	 notify_watchdog(struct worker *);
void	 notify_adopt(struct worker *, int);

/* What pmctl update hands worker_adopt of a process (-1: no fd). */
struct worker_carry {
	int		 pidfd;
	int		 out_fd;
	int		 err_fd;
	char		*out_partial;	/* a line begun on each pipe */
	size_t		 out_plen;
	char		*err_partial;
	size_t		 err_plen;
	int		 ipc_fd;
	int		 notify_fd;
	double		 timer;		/* seconds left, or -1: not armed */
	double		 watchdog;
};

extern unsigned worker_last_id;
struct worker *worker_new(struct app *, unsigned, unsigned);
struct worker *worker_by_id(unsigned);
void	 worker_free(struct worker *);
void	 worker_event(struct worker *, enum wevent);
int	 worker_busy(const struct worker *);
int	 worker_idle(const struct worker *);
void	 worker_signal(struct worker *, int);
void	 worker_sample(struct worker *);
void	 worker_listening(struct worker *, pid_t);
void	 worker_ready(struct worker *);
void	 worker_adopt(struct worker *, const struct worker_carry *);

/* ipc.c: a worker's message channel. */
void	 ipc_init(struct worker *);
int	 ipc_open(struct worker *);
void	 ipc_close(struct worker *);
void	 ipc_free(struct worker *);
void	 ipc_metrics_clear(struct worker *);
size_t	 ipc_held_bytes(void);
int	 ipc_send(struct worker *, const char *);
void	 ipc_adopt(struct worker *, int, char *, size_t, int, char *, size_t);

/* events.c: what happened, kept in a ring and sent to followers. */
struct event {
	double		 time;
	char		*app;		/* NULL: the daemon's */
	int		 instance;	/* -1: none */
	long		 pid;
	char		*type;
	char		*text;
	char		*data;		/* a worker's message (JSON), or NULL */
};
typedef void (*event_tap_fn)(const struct event *);
extern event_tap_fn event_tap;
extern unsigned long events_cut;
void	 event_emit(const struct app *, const struct worker *, const char *,
	    char *, const char *, ...) __attribute__((format(printf, 5, 6)));
void	 events_each(const char *, size_t, void (*)(const struct event *,
	    void *), void *);
void	 events_free(void);
void	 event_restore(const struct event *);

/* metrics.c: /metrics and /healthz over HTTP. */
const char *http_address(void);
int	 http_tls(void);
const char *http_token(void);
int	 metrics_listen(const char *, int, char **);
int	 metrics_socket(const char **);
void	 metrics_close(void);

/* hooks.c: commands run on events. */
void	 hooks_event(const struct app *, const struct worker *,
	    const struct event *);
void	 hooks_free(void);
/* pmctl update: a hook still running, as the state carries it. */
#define HOOK_LINE	512
struct hook_state {
	const char	*what;		/* "hook_exited of web:0" */
	pid_t		 pid;
	int		 pidfd;		/* -1: found by SIGCHLD and waitid */
	int		 out;		/* its output pipe; -1 once closed */
	double		 left;		/* seconds to hook_timeout */
	const char	*line;		/* a line begun, not ended */
	size_t		 len;
};
void	 hooks_each(void (*)(const struct hook_state *, void *), void *);
void	 hooks_adopt(const struct hook_state *);
#define HOOK_RUNNER	"--hook-runner"	/* pmd's argv[1]: run argv[2..] */
int	 hook_runner(char **);

/* handoff.c: the listening sockets for pmd-preload.so. */
void	 handoff_adopt(int, const char *);
int	 handoff_socket(const char **);
int	 handoff_vars(const struct app *, unsigned, const char **, char **,
	    const char **, const char **);

/* app.c: the registry of apps and their desired state. */
struct rolling;

/* What the user wants of a whole app; its workers' wants are their own. */
enum app_want {
	APP_UP,		/* it runs as its workers want */
	APP_GONE	/* deleted: it goes once no worker has a process,
			   and its successor (reload-config) starts then */
};

struct app {
	TAILQ_ENTRY(app)	 entry;
	char			*name;
	struct app_config	*cfg;
	char			*profile;	/* env_PROFILE chosen at start */
	char			**base_env;	/* NULL: pmd's own environment */
	int			 adhoc;
	enum app_want		 want;		/* up, or gone (deleted) */
	struct worker		**workers;
	unsigned		 nworkers;
	char			**learned;	/* listen_share: what workers bound */
	char			**widened;	/* listen, 0.0.0.0 made [::]: listen_widen */
	int			 widen_failed;	/* tried once: not again */
	int			*listen_fds;	/* bound from listen_urls() (shared) */
	size_t			 nlisten;	/* > 0: bound (shared or slots) */
	int			**slot_fds;	/* balanced: each instance's */
	unsigned char		*slot_out;	/* SLOT_IN, _OUT, _KEPT */
	unsigned		 nslot_fds;
	char			*listen_error;	/* why they could not be */
	struct rolling		*roll;		/* a rolling reload running, or NULL */
	uint64_t		 serial;	/* rises along apps: list cursors */
	struct app_config	*successor;	/* once deleted, start this */
	struct app_config	*timers_cfg;	/* the timers below are for it */
	ev_periodic		 cron_w;	/* cron_restart */
	ev_timer		 memory_w;	/* max_memory_restart checks */
	struct watch		*watch;		/* file changes, or NULL */
	char			*queued_roll;	/* why a reload waits its turn */
	char			*reload_error;	/* how the last one ended */
	unsigned long		 reloads;	/* ended, for /metrics */
	unsigned long		 reloads_failed;
	int			 held;		/* its start waits (after) */
	int			 held_instance;	/* for which instance, or -1 */
	char			*held_for;	/* the app it waits for */
	int			 stop_pending;	/* stops once its followers have */
};
TAILQ_HEAD(app_list, app);
#define SLOT_IN		0	/* in its SO_REUSEPORT groups */
#define SLOT_OUT	1	/* out of them: no process (app.c) */
#define SLOT_KEPT	2	/* no process, left in: connections queued */

struct target {
	char		*name;		/* NULL: all apps (or names) */
	char		**names;	/* several apps, or NULL */
	int		 instance;	/* -1: every instance */
};

extern struct app_list apps;
extern char *log_dir;

struct app *app_find(const char *);
struct app *app_create(struct app_config *, char **, int, const char *);
struct app *app_restore(struct app_config *, char **, int, const char *,
	    unsigned, const char *, const unsigned *);
struct app *app_adopt(struct app_config *, char **, int, const char *,
	    unsigned, const unsigned *);
void	 app_apply(struct app *, enum wevent, int);
void	 app_create_fitting(struct app_config *, const char *);
void	 app_scale(struct app *, unsigned);
void	 app_delete(struct app *);
void	 app_settle_all(void);
int	 app_all_stopped(void);
int	 app_all_failed(void);
int	 app_settled(const struct target *, int);
/* A walk over every app's workers, a batch at a time (app_walk). */
struct rows_at {
	uint64_t	 serial;	/* the app it is in (app->serial) */
	unsigned	 index;		/* the next instance of that app */
	unsigned	 rows;		/* workers walked so far */
};
int	 app_walk(struct rows_at *, unsigned, void (*)(struct worker *, void *),
	    void *);

/* order.c: start order across apps (after), and stops in reverse. */
int	 order_hold(struct app *, int);
void	 order_release(struct app *);
const char *order_waiting_for(const struct app *);
int	 order_blocked(const struct app *);
void	 order_stop(const struct target *);
void	 order_settle_stops(void);
void	 order_settle(struct app *);
int	 order_start_deps(struct app *, uid_t, int, char **);
char	*order_check(struct config *, struct config *);
char	*order_check_adhoc(struct app_config **, size_t);

/* listen.c: an app's sockets, shared or one set an instance, as fds 3.. */
int	 listen_app(struct app *);
int	 listen_slot(struct app *, unsigned);
const int *listen_sockets(const struct app *, unsigned);
char *const *listen_urls(const struct app *);
int	 listen_shares_binds(const struct app *);
int	 listen_learn(struct app *, const char *, unsigned, char **);
int	 listen_widen(struct app *, const struct worker *, unsigned short);
unsigned listen_learned_fds(const struct app *, size_t);
void	 listen_close_slots(struct app *, unsigned);
void	 listen_app_close(struct app *);
void	 listen_settle(struct app *);
void	 listen_adopt(struct app *, int *, size_t, int **, unsigned char *,
	    unsigned, char **);

/* target.c: what a command acts on. */
int	 target_parse(const char *, struct target *, char **);
void	 target_clear(struct target *);
struct target *target_keep(struct target *);
void	 target_free(void *);
int	 target_has(const struct target *, const struct app *);
const char *target_app_name(const char *);

/* env.c: the environment of a worker's process. */
char	**env_worker(struct app *, struct worker *, const char *, int,
	    char **);

/* trigger.c: cron_restart and max_memory_restart roll an app. */
void	 trigger_init(struct app *);
void	 trigger_arm(struct app *);
void	 trigger_free(struct app *);
void	 trigger_roll(struct app *, const char *);

/* watch.c: restart an app when its files change. */
struct watch;
struct watch *watch_new(struct app *);
void	 watch_free(struct watch *);
struct watch_info {
	char *const	*paths;		/* watched */
	char *const	*ignored;	/* always */
	char *const	*more_ignored;	/* ignore_watch */
	uint64_t	 delay;		/* ms */
	size_t		 directories;
};
void	 watch_info(const struct watch *, struct watch_info *);

/* rolling.c: rolling reload, one instance at a time. */
int	 rolling_begin(struct app *, struct app_config *, int, char **);
int	 rolling_begin_all(const struct target *, char **);
void	 rolling_abort(struct app *);
int	 rolling_idle(const struct app *);
void	 rolling_settle(struct app *);
void	 rolling_free(struct app *);
void	 rolling_signal(struct app *, int);
struct worker *rolling_fresh(const struct app *);

/* reconfig.c: reload-config, the difference of the config files applied. */
unsigned reconfig_begin(char **);
void	 reconfig_check(void);
int	 reconfig_busy(void);
enum change { C_SAME, C_ADD, C_REMOVE, C_CHANGE, C_LISTEN, C_SCALE,
	RECONFIG_NCHANGES };
struct reconfig_result {
	char	**apps[RECONFIG_NCHANGES];	/* names, by what changed */
	char	**errors;
};
extern const char *const reconfig_changes[RECONFIG_NCHANGES];
const struct reconfig_result *reconfig_result(unsigned);
void	 reconfig_free(void);

/* dump.c: save and resurrect the set of apps. */
struct client;
extern char *dump_path;
unsigned dump_save_begin(char **);
int	 dump_saving(void);
int	 dump_save_done(unsigned, size_t *, char **);
struct resurrect_result {
	char		 *warning;	/* the dump was bad: the .bak served */
	char		**resurrected;	/* the apps started */
	struct {
		char	 *name;
		char	 *reason;
	}		 *skipped;	/* the entries that were not */
	size_t		  nskipped;
};
int	 dump_resurrect(char ***, struct resurrect_result *, char **);
void	 resurrect_result_free(struct resurrect_result *);

/*
 * state-write.c, state-read.c: what pmctl update carries to the next pmd.
 * Read STATE_OLDEST to STATE_VERSION; ARCHITECTURE.md has the rule.
 */
#define STATE_VERSION	2
#define STATE_OLDEST	2
struct cJSON;
struct follower;
struct state_daemon {
	int		 lock;		/* the one-daemon lock */
	int		 control;	/* the control socket */
	int		 http;		/* the HTTP listener, or -1 */
	const char	*http_url;
	int		 handoff;	/* pmd-preload.so's socket, or -1 */
	const char	*handoff_name;
	int		 client;	/* who asked for the update, or -1 */
	uid_t		 client_uid;
	gid_t		 client_gid;
	pid_t		 client_pid;
	unsigned	 fd_base;	/* budget_base() */
	int		 booting;	/* READY=1 not yet sent */
	struct rlimit	 nofile;	/* the workers' RLIMIT_NOFILE */
	struct follower	*followers;	/* carried on */
	size_t		 nfollowers;
	double		 written;	/* mono_now() when it was written */
	const char	*version;	/* PMD_VERSION of its writer */
};
char	*state_write(const struct state_daemon *, int **, size_t *);
int	 state_check(const char *, size_t, struct cJSON **, char **);
void	 state_daemon(const struct cJSON *, struct state_daemon *);
int	 state_apply(const struct cJSON *, char **);
size_t	 state_followers(const struct cJSON *, struct follower **);

/* update.c: pmctl update, pmd executing a new binary in its process. */
struct ucred;
struct update_done {
	const char	*from;		/* the version before */
	const char	*error;		/* NULL: taken over; else why the new
					   pmd could not, and this is the old
					   one again */
	double		 pause_ms;	/* from the state written to now */
	unsigned	 apps;
	unsigned	 workers;
};
void	 update_init(char **, int);
void	 update_lock(int);
int	 update_begin(const char *, int, const struct ucred *, char **);
int	 update_outcome(char **);
int	 update_running(void);
void	 update_forget_client(void *);
struct cJSON *update_resume(int, int);
void	 update_back(int, const char *) __attribute__((noreturn));
void	 update_resumed(int);
double	 update_checked_ms(void);

/* daemon.c: daemon-wide state, its start, loop and shutdown. */
extern struct config *config;
extern char *daemon_socket;
int	 daemon_read_config(struct config **, char **);
int	 daemon_owns(const char *);
void	 daemon_notify(const char *);
extern int daemon_stopping;
extern int daemon_container;	/* workers' output on pmd's stdout: 1,
				   or 2 for JSON lines */
void	 daemon_dirty(void);
void	 daemon_shutdown(void);
long	 daemon_ncpu(void);
extern struct rlimit worker_nofile;
void	 daemon_config_file(const char *, int);
void	 daemon_start(const char *, gid_t, int);
void	 daemon_resume(const char *, gid_t, int, struct cJSON *,
	    const char *);
int	 daemon_booting(void);
int	 daemon_run(void);

/* budget.c: what workers cost in fds, and what pmd keeps for itself. */
struct budget {
	unsigned	 limit;		/* RLIMIT_NOFILE now */
	unsigned	 kept;		/* for pmd: its own, clients, margin */
	unsigned	 clients;	/* of kept: max_clients */
	unsigned	 used;		/* budgeted for the worker slots */
	unsigned	 workers;	/* slots */
	unsigned	 open;		/* as the kernel counts them */
};
unsigned fds_open(void);
void	 budget_init(void);
unsigned budget_worker_fds(const struct app_config *, char *, size_t);
unsigned budget_app_fds(const struct app_config *, unsigned);
void	 budget_get(struct budget *);
int	 budget_admit(unsigned, unsigned, const char *,
	    const struct app_config *, unsigned, char **);
int	 budget_admit_app(const struct app_config *, unsigned, const char *,
	    unsigned *, char **);
unsigned budget_max_clients(void);
unsigned budget_base(void);
void	 budget_set_base(unsigned);

/* control.c: the control socket and its clients. */
struct client;
struct ucred;
typedef int (*client_wait_fn)(struct client *, void *, struct cJSON **);

int	 control_listen(const char *, gid_t, int, char **);
int	 control_socket(void);
struct ucred;
void	 control_adopt(int, const struct ucred *);
void	 control_apply_config(const struct config *);
unsigned control_max_clients(void);
const struct ucred *client_peer(struct client *);
int	 client_unprivileged(struct client *);
void	 control_close(void);
void	 control_check_waiters(void);
void	 control_kill_replies(void);
/* A follower (logs, events --follow) that pmctl update carries. */
struct follower {
	int		 fd;
	int		 events;	/* events, not log lines */
	const char	*app;		/* what it follows, NULL: all */
	int		 ns;		/* app names a namespace */
	int		 mask;		/* the log streams */
	uid_t		 uid;
	gid_t		 gid;
	pid_t		 pid;
};
size_t	 control_followers(struct follower **);
void	 control_adopt_follower(const struct follower *);
void	 control_update_done(int, const struct ucred *,
	    const struct update_done *);
void	 client_wait(struct client *, client_wait_fn, void *,
	    void (*)(void *));
void	 client_rows(struct client *);
double	 client_since(struct client *);
int	 client_fd(struct client *);
void	 client_follow(struct client *, const char *, int, int);
void	 client_follow_events(struct client *, const char *);

/* cmd.c: what commands share to read requests and build replies. */
struct cJSON *reply_ok(void);
struct cJSON *reply_error(const char *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	 cmd_get_target(struct cJSON *, struct target *, struct cJSON **);
struct cmd_entry;
struct cJSON *cmd_args_check(const struct cmd_entry *, struct cJSON *);
struct cJSON *cmd_reply_list(struct client *);
struct cJSON *cmd_worker_numbers(struct cJSON *, const char *);
struct cJSON *cmd_update_reply(const struct update_done *);
struct cJSON *cmd_update_env(struct client *, const struct target *,
	    struct cJSON *);

/* How far a listing made a batch at a time has got. */
int	 cmd_list_rows(struct rows_at *, unsigned, char **, size_t *);
struct cJSON *cmd_worker_json(struct worker *, int);
struct cJSON *event_json(const struct event *);
struct cJSON *cmd_apply_target(struct client *, struct cJSON *, enum wevent,
	    int);
struct cJSON *cmd_wait(struct client *, struct target *, int);
int	 appcfg_set_keys(struct app_config *, struct cJSON *, const char *,
	    char **);
struct cJSON *appcfg_keys_json(const struct app_config *);

#endif
