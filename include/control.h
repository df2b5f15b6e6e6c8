/*
 * Private to the control socket's two files: control-admit.c (the socket,
 * who gets in) and control.c (a client's requests, replies, waits and
 * streams).
 */
#ifndef CONTROL_H
#define CONTROL_H

#include <sys/queue.h>
#include <sys/socket.h>

#include "pmd.h"

#define MAX_CLIENTS	256		/* max_clients by default */
#define IDLE_MS		60000		/* client_idle_timeout by default */
#define STALL_SECONDS	10.0
#define FOLLOW_LOGS	1
#define FOLLOW_EVENTS	2

struct client {
	LIST_ENTRY(client)	 entry;
	ev_io			 read_w;
	ev_io			 write_w;
	ev_timer		 stall_w;
	ev_timer		 idle_w;	/* nothing in flight for long */
	ev_timer		 more_w;	/* the next batch of requests */
	struct ucred		 cred;		/* the peer, from SO_PEERCRED */
	int			 counted;	/* served: counts to max_clients */
	int			 spare;		/* on the spare fd's slot */

	char			*in;
	size_t			 inlen;
	size_t			 incap;
	char			*out;		/* replies from outoff to outlen */
	size_t			 outlen;
	size_t			 outoff;
	size_t			 outcap;
	int			 closing;	/* close once out is flushed */

	client_wait_fn		 wait;
	void			*wait_arg;	/* the command's, for wait */
	void			(*wait_free)(void *);
	double			 since;		/* mono_now() its request began */
	int			 kill_reply;	/* answer when pmd exits */
	int			 rows;		/* ROWS_ASKED, ROWS_MAKING */
	struct rows_at		 rows_at;

	int			 follow;	/* streams: FOLLOW_LOGS, _EVENTS */
	char			*follow_app;	/* NULL: every app */
	int			 follow_ns;	/* follow_app names a namespace */
	int			 follow_mask;
};

LIST_HEAD(client_list, client);
extern struct client_list clients;	/* newest first */
extern unsigned nclients;		/* counted: served */
extern struct control_limits {
	unsigned	 max_clients;	/* served at once */
	uint64_t	 idle_ms;	/* nothing in flight this long: closed */
} control_limits;

/* control.c */
struct client *client_new(int, int);
void	 client_start(struct client *);
void	 client_free(struct client *);
void	 client_refuse(struct client *, struct cJSON *);
void	 client_idle(struct client *);
int	 client_quiet(const struct client *);

/* control-admit.c */
void	 spare_take(void);

#endif
