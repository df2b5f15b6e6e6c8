/*
 * Private to the HTTP listener's files: metrics.c (the listener,
 * libmicrohttpd loaded on demand, /metrics and /healthz) and http-api.c
 * (the control protocol over HTTP, with a token).
 */
#ifndef PMD_HTTP_H
#define PMD_HTTP_H

#include <microhttpd.h>

/* The functions of libmicrohttpd pmd calls, looked up when it loads. */
#define MHD_FUNCS(X)							\
	X(add_connection) X(add_response_header)			\
	X(create_response_from_buffer) X(create_response_from_callback)	\
	X(destroy_response)						\
	X(get_connection_info) X(lookup_connection_value)		\
	X(get_daemon_info) X(get_timeout) X(queue_response) X(run)	\
	X(resume_connection) X(suspend_connection)			\
	X(start_daemon) X(stop_daemon)
#define MHD_EXTERN_POINTER(name) extern __typeof__(&MHD_##name) p_##name;
MHD_FUNCS(MHD_EXTERN_POINTER)

/* metrics.c */
extern double metrics_started;
void	 http_run(void);		/* MHD's work now, and its timer */
void	 http_stream(struct MHD_Connection *);	/* no idle deadline */

/* metrics-text.c */
struct text;
struct MHD_Response *metrics_response(void);
int	 healthz_text(struct text *);

/* http-api.c */
int	 api_init(const char *, int, char **);
enum MHD_Result api_answer(struct MHD_Connection *, const char *,
	    const char *, const char *, size_t *, void **);
void	 api_completed(void **);
void	 api_close(void);

#endif
