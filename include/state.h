/*
 * Private to the state-*.c files: a worker in pmctl update's
 * state is an array, its items in this order (numbers, then texts). A new
 * item goes at the end; a reader takes a missing trailing item as absent
 * (ARCHITECTURE.md, "Updating in place").
 */
#ifndef STATE_H
#define STATE_H

enum wfield {
	WF_INSTANCE, WF_ID, WF_PM_ID, WF_PID, WF_LAST_PID, WF_PIDFD,
	WF_STATE, WF_WANT, WF_REASON, WF_UNSTABLE, WF_RESTARTS, WF_BACKOFF,
	WF_DELAY, WF_SPAWN_BACKOFF, WF_STARTED, WF_TRACKED, WF_LAST_STATUS,
	WF_HAVE_STATUS, WF_CRASH_AT, WF_CRASH_UPTIME, WF_AWAIT_LISTEN,
	WF_PROVEN, WF_STOP_PHASE, WF_WATCHDOG_FIRED, WF_TIMER, WF_WATCHDOG,
	WF_NOTIFY, WF_OUT, WF_ERR, WF_IPC, WF_IPC_SKIP, WF_IPC_BAD,
	WF_IPC_DROPPED,
	WF_NUMBERS,			/* the numbers end here */
	WF_EXEC_ERROR = WF_NUMBERS,	/* texts, or null */
	WF_STATUS_TEXT, WF_EXIT_REASON,
	WF_OUT_PARTIAL, WF_ERR_PARTIAL,	/* bytes as hex: "" for none */
	WF_TAIL, WF_IPC_IN, WF_IPC_OUT,
	WF_METRICS,			/* an object of numbers */
	WF_COUNT
};

struct cJSON;
/* state-check.c: what both it and state-read.c read with. */
int	 hex_bytes(const struct cJSON *, char **, size_t *);
double	 num_of(const struct cJSON *, const char *);
const char *str_of(const struct cJSON *, const char *);
int	 worker_items(const struct cJSON *, const struct cJSON **);

#endif
