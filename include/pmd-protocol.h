/*
 * The control protocol shared by pmd and pmctl: its version, the error codes
 * a reply may carry, and the one list of commands. Requests and replies are
 * single-line JSON objects on a Unix stream socket (see pmd(8)).
 */
#ifndef PMD_PROTOCOL_H
#define PMD_PROTOCOL_H

#include <stdio.h>

#define PMD_PROTOCOL_VERSION	1
#ifndef PMD_VERSION	/* make deb VERSION=X.Y.Z builds another */
#define PMD_VERSION		"0.1.0"
#endif

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
 * A command is one file, src/cmd-NAME.c, built into both programs: its
 * entry says everything about it (name, alias, usage, help, the request's
 * fields with their types and bounds, flags), and holds pmd's exec and,
 * where the generic ones do not fit, pmctl's request builder and reply
 * printer. pmd checks every request against the fields before exec runs;
 * pmctl builds a request from positional arguments in the fields' order
 * unless the entry has a builder. CMD_EXEC and CMD_PMCTL keep each
 * program's functions out of the other one.
 */
enum arg_type {
	ARG_STRING,
	ARG_BOOL,
	ARG_INT,		/* a whole number from min to max */
	ARG_INT_OR_STRING,	/* the same, or a string the command parses */
	ARG_STRINGS,		/* an array of at least min strings */
	ARG_STRING_MAP,		/* an object of strings */
	ARG_OBJECTS,		/* an array of objects */
};

struct cmd_arg {
	const char	*field;
	enum arg_type	 type;
	int		 required;
	double		 min;
	double		 max;
};

#define CMD_WHILE_STOPPING	0x1	/* pmd runs it while it shuts down */
#define CMD_NO_AUTOSTART	0x2	/* pmctl starts no daemon for it */
#define CMD_CLIENT		0x4	/* pmctl's own: pmd does not know it */
#define CMD_LOCAL		0x8	/* with CMD_CLIENT: needs no pmd at all */
#define CMD_WAITS		0x10	/* answers once workers have settled */

struct client;
struct cJSON;
struct cmd_entry;

typedef struct cJSON *(*cmd_exec_fn)(struct client *, struct cJSON *);
typedef void (*cmd_build_fn)(const struct cmd_entry *, struct cJSON *, int,
    char **);
/* The reply, the request, the connection (for a stream that follows). */
typedef void (*cmd_print_fn)(struct cJSON *, struct cJSON *, FILE *);

struct cmd_entry {
	const char		*name;
	const char		*alias;		/* words, blank-separated, or NULL */
	const char		*usage;		/* the arguments */
	const char		*help;		/* one line */
	const struct cmd_arg	*args;		/* ends with a NULL field */
	int			 flags;
	cmd_exec_fn		 exec;		/* pmd: the reply, or NULL */
	cmd_build_fn		 build;		/* pmctl: argv to request */
	cmd_print_fn		 print;		/* pmctl: reply (and stream) */
	int			(*run)(int, FILE *, int, char **);
						/* pmctl's own: runs itself */
};

#ifdef PMCTL
#define CMD_EXEC(f)	NULL
#define CMD_PMCTL(f)	f
#else
#define CMD_EXEC(f)	f
#define CMD_PMCTL(f)	NULL
#endif

/* The table, in the order pmctl's help lists it: one line per command. */
#define PMD_COMMANDS(X)							\
	X(start) X(stop) X(restart) X(reload) X(delete) X(reset) X(scale) \
	X(list) X(show) X(logs) X(flush) X(save) X(resurrect)		\
	X(reload_config) X(reopen_logs) X(signal) X(monit) X(ping)	\
	X(version) X(kill) X(import) X(startup) X(send) X(events)	\
	X(pid) X(id) X(env) X(dashboard) X(update)

extern const struct cmd_entry *const cmd_table[];
const struct cmd_entry *cmd_find(const char *, int);

#endif
