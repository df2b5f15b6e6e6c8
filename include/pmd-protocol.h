/*
 * The control protocol shared by pmd and pmctl: its version, the error codes
 * a reply may carry, and the one list of commands. Requests and replies are
 * single-line JSON objects on a Unix stream socket (see pmd(8)).
 */
#ifndef PMD_PROTOCOL_H
#define PMD_PROTOCOL_H

#define PMD_PROTOCOL_VERSION	1
#define PMD_VERSION		"0.1.0"

/* A request line longer than this is refused and the client dropped. */
#define PMD_MAX_REQUEST		(1024 * 1024)

/* Error codes carried in {"ok":false,"error":{"code":...}}. */
#define PMD_E_PROTO	"EPROTO"	/* not JSON, not an object, no "cmd" */
#define PMD_E_VERSION	"EVERSION"	/* "v" missing or not ours */
#define PMD_E_TOOBIG	"ETOOBIG"	/* request over PMD_MAX_REQUEST */
#define PMD_E_NOCMD	"ENOCMD"	/* unknown command */
#define PMD_E_ARGS	"EARGS"		/* a field missing or of the wrong type */
#define PMD_E_NOAPP	"ENOAPP"	/* no such app or instance */
#define PMD_E_EXIST	"EEXIST"	/* an app of that name exists already */
#define PMD_E_CONFIG	"ECONFIG"	/* a config file failed to load */
#define PMD_E_FAILED	"EFAILED"	/* the action ran and failed */
#define PMD_E_SHUTDOWN	"ESHUTDOWN"	/* the daemon is stopping */
#define PMD_E_TOOMANY	"ETOOMANY"	/* max_clients are served already */
#define PMD_E_PERM	"EPERM"		/* the peer may not do that */

/*
 * The commands: C name, name, how pmctl turns its arguments into a
 * request, usage, summary. Both programs expand this list: pmd into its
 * dispatch table (one cmd-NAME.c each), pmctl into its parser and help.
 */
#define PMD_COMMANDS(X)							\
	X(start, "start", ARGS_START,					\
	    "NAME|all|FILE.conf [--env PROFILE] | [--name NAME] [-i N] [--watch] -- CMD [ARG...]", \
	    "start a configured app, the apps of a file, or a command")	\
	X(stop, "stop", ARGS_TARGET, "NAME|all|NAME:INSTANCE",		\
	    "stop workers and wait until they have exited")		\
	X(restart, "restart", ARGS_TARGET, "NAME|all|NAME:INSTANCE",	\
	    "stop then start workers; clears errored")			\
	X(reload, "reload", ARGS_TARGET, "NAME|all",			\
	    "replace workers one at a time, without downtime")		\
	X(delete, "delete", ARGS_TARGET, "NAME|all",			\
	    "stop an app and forget it")				\
	X(reset, "reset", ARGS_TARGET, "NAME|all|NAME:INSTANCE",	\
	    "zero restart counters and start errored workers again")	\
	X(scale, "scale", ARGS_SCALE, "NAME N|+N|-N|max",		\
	    "run N instances of an app (or N more, N fewer, one per CPU)") \
	X(list, "list", ARGS_NONE, "",					\
	    "one line per worker: pid, status, restarts, uptime, cpu, memory") \
	X(show, "show", ARGS_NAME, "NAME",				\
	    "everything about one app and each of its workers")		\
	X(logs, "logs", ARGS_LOGS,					\
	    "[NAME] [--lines N] [--follow] [--err|--out]",		\
	    "the last lines of the logs, then with --follow new ones")	\
	X(flush, "flush", ARGS_OPTNAME, "[NAME]",			\
	    "empty the log files of an app, or of all")			\
	X(save, "save", ARGS_NONE, "",					\
	    "write the running set of apps to the dump file")		\
	X(resurrect, "resurrect", ARGS_NONE, "",			\
	    "start the apps of the dump file that are not running")	\
	X(reload_config, "reload-config", ARGS_NONE, "",		\
	    "read the config files again and apply the difference")	\
	X(reopen_logs, "reopen-logs", ARGS_NONE, "",			\
	    "reopen every log file (after logrotate moved them)")	\
	X(signal, "signal", ARGS_SIGNAL, "SIGNAL NAME|all|NAME:INSTANCE",	\
	    "send a signal to workers' process groups")			\
	X(ping, "ping", ARGS_NONE, "",					\
	    "check that the daemon answers")				\
	X(version, "version", ARGS_NONE, "",				\
	    "print the client's and the daemon's versions")		\
	X(kill, "kill", ARGS_NONE, "",					\
	    "stop every worker, then the daemon")

#endif
