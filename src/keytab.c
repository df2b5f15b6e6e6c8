/*
 * The keys of an [app:NAME] section, as data: one row per key says its
 * type, where it lives in struct app_config, its default (as it would be
 * written in a file) and its bounds. Both programs have the table: pmd
 * sets and shows keys from it (keys.c), pmctl turns --KEY VALUE into them.
 * A new key is a field, a row, its man page and its test.
 */
#include <sys/resource.h>

#include <string.h>

#include "pmd.h"

#define F(field)	offsetof(struct app_config, field)

/* The event each hook_NAME key runs on, as events.c names it. */
const char *const hook_events[HOOK_COUNT] = {
	"exited", "restarted", "errored", "online", "reload-failed",
	"watchdog",
};

static const struct app_key keys[] = {
	{ "command", K_COMMAND, F(command), NULL, 0, 0, NULL },
	{ "cwd", K_PATH, F(cwd), NULL, 0, 0, "expected a directory" },
	{ "instances", K_INSTANCES, F(instances), "1", 0, 0, NULL },
	{ "autorestart", K_BOOL, F(autorestart), "true", 0, 0, NULL },
	{ "min_uptime", K_DURATION, F(min_uptime), "1s", 0, 0, NULL },
	{ "max_restarts", K_UINT, F(max_restarts), "16", 0, 1000000, NULL },
	{ "restart_delay", K_DURATION, F(restart_delay), "0", 0, 0, NULL },
	{ "exp_backoff_restart_delay", K_DURATION, F(exp_backoff), "0", 0, 0,
	  NULL },
	{ "stop_exit_codes", K_EXIT_CODES, F(stop_exit_codes), NULL, 0, 0,
	  NULL },
	{ "kill_signal", K_SIGNAL, F(kill_signal), "SIGTERM", 0, 0, NULL },
	{ "kill_timeout", K_DURATION, F(kill_timeout), "5s", 0, 0, NULL },
	{ "shutdown_with_message", K_BOOL, F(shutdown_with_message), "false", 0,
	  0, NULL },
	{ "user", K_USER, F(user), NULL, 0, 0, NULL },
	{ "group", K_GROUP, F(group), NULL, 0, 0, NULL },
	{ "out_file", K_PATH, F(out_file), NULL, 0, 0,
	  "expected a file path (or /dev/null)" },
	{ "err_file", K_PATH, F(err_file), NULL, 0, 0,
	  "expected a file path (or /dev/null)" },
	{ "merge_logs", K_BOOL, F(merge_logs), "true", 0, 0, NULL },
	{ "namespace", K_NAME, F(namespace), "default", 0, 0, NULL },
	{ "increment_var", K_ENVNAME, F(increment_var), NULL, 0, 0, NULL },
	{ "instance_var", K_ENVNAME, F(instance_var), NULL, 0, 0, NULL },
	{ "log_date_format", K_DATE_FORMAT, F(log_date_format),
	  LOG_DATE_DEFAULT, 0, 0, NULL },
	{ "log_max_size", K_SIZE, F(log_max_size), "10M", 1024, 0,
	  "0 (never rotate) or at least 1K" },
	{ "log_retain", K_UINT, F(log_retain), "5", 0, 1000, NULL },
	{ "listen", K_LISTEN, F(listen), NULL, 0, 0, NULL },
	{ "listen_backlog", K_UINT, F(listen_backlog), "511", 0, 65535, NULL },
	{ "listen_mode", K_MODE, F(listen_mode), "0660", 0, 0, NULL },
	{ "listen_nodelay", K_BOOL, F(listen_nodelay), "false", 0, 0, NULL },
	{ "listen_preload", K_BOOL, F(listen_preload), "true", 0, 0, NULL },
	{ "listen_share", K_BOOL, F(listen_share), "true", 0, 0, NULL },
	{ "listen_balance", K_CHOICE, F(listen_balance), "auto", 0, 0,
	  "shared balanced auto sticky" },
	{ "ipc", K_BOOL, F(ipc), "true", 0, 0, NULL },
	{ "watchdog", K_DURATION, F(watchdog), "0", 100, 0,
	  "0 (none) or at least 100ms" },
	{ "hook_exited", K_HOOK, F(hooks[HOOK_EXITED]), NULL, 0, 0, NULL },
	{ "hook_restarted", K_HOOK, F(hooks[HOOK_RESTARTED]), NULL, 0, 0, NULL },
	{ "hook_errored", K_HOOK, F(hooks[HOOK_ERRORED]), NULL, 0, 0, NULL },
	{ "hook_online", K_HOOK, F(hooks[HOOK_ONLINE]), NULL, 0, 0, NULL },
	{ "hook_reload_failed", K_HOOK, F(hooks[HOOK_RELOAD_FAILED]), NULL, 0, 0,
	  NULL },
	{ "hook_watchdog", K_HOOK, F(hooks[HOOK_WATCHDOG]), NULL, 0, 0, NULL },
	{ "wait_ready", K_BOOL, F(wait_ready), "false", 0, 0, NULL },
	{ "listen_timeout", K_DURATION, F(listen_timeout), "30s", 0, 0, NULL },
	{ "not_ready", K_CHOICE, F(not_ready), "fail", 0, 0, "fail online" },
	{ "max_memory_restart", K_SIZE, F(max_memory), "0", 1024 * 1024, 0,
	  "0 (no limit) or at least 1M" },
	{ "memory_check_interval", K_DURATION, F(memory_interval), "5s", 100,
	  0, NULL },
	{ "cron_restart", K_CRON, F(cron_text), NULL, 0, 0, NULL },
	{ "watch", K_TRIBOOL, F(watch), NULL, 0, 0, NULL },
	{ "watch_paths", K_LIST, F(watch_paths), NULL, 0, 0, NULL },
	{ "ignore_watch", K_LIST, F(ignore_watch), NULL, 0, 0, NULL },
	{ "watch_delay", K_DURATION, F(watch_delay), "1s", 0, 0, NULL },
	{ "reload_order", K_CHOICE, F(reload_order), "auto", 0, 0,
	  "auto start-first stop-first" },
	{ "after", K_LIST, F(after), NULL, 0, 0, NULL },
	{ "limit_nofile", K_LIMIT, F(limits[LIMIT_NOFILE]), NULL, 0, 0, NULL },
	{ "limit_nproc", K_LIMIT, F(limits[LIMIT_NPROC]), NULL, 0, 0, NULL },
	{ "limit_core", K_LIMIT_SIZE, F(limits[LIMIT_CORE]), NULL, 0, 0, NULL },
	{ "limit_memlock", K_LIMIT_SIZE, F(limits[LIMIT_MEMLOCK]), NULL, 0, 0,
	  NULL },
	{ "limit_stack", K_LIMIT_SIZE, F(limits[LIMIT_STACK]), NULL, 0, 0,
	  NULL },
	{ "limit_as", K_LIMIT_SIZE, F(limits[LIMIT_AS]), NULL, 0, 0, NULL },
	{ "nice", K_INT, F(nice), NULL, -20, 19, NULL },
	{ "oom_score_adj", K_INT, F(oom_score_adj), NULL, -1000, 1000, NULL },
	{ "umask", K_UMASK, F(umask), NULL, 0, 0, NULL },
	{ "cpu_affinity", K_CPUS, F(cpu_affinity), NULL, 0, 0, NULL },
};

/* The resource each limit_NAME key sets, and the key. */
const int app_limit_resource[LIMIT_COUNT] = {
	[LIMIT_NOFILE] = RLIMIT_NOFILE, [LIMIT_NPROC] = RLIMIT_NPROC,
	[LIMIT_CORE] = RLIMIT_CORE, [LIMIT_MEMLOCK] = RLIMIT_MEMLOCK,
	[LIMIT_STACK] = RLIMIT_STACK, [LIMIT_AS] = RLIMIT_AS,
};
const char *const app_limit_key[LIMIT_COUNT] = {
	[LIMIT_NOFILE] = "limit_nofile", [LIMIT_NPROC] = "limit_nproc",
	[LIMIT_CORE] = "limit_core", [LIMIT_MEMLOCK] = "limit_memlock",
	[LIMIT_STACK] = "limit_stack", [LIMIT_AS] = "limit_as",
};

const struct app_key *const app_keys = keys;
const size_t napp_keys = nitems(keys);

const struct app_key *
key_find(const char *name)
{
	size_t	i;

	for (i = 0; i < nitems(keys); i++) {
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	}
	return NULL;
}

