/*
 * The daemon-wide state of daemon.c for the harnesses, and a proc_spawn that
 * makes no process: every other module is pmd's own, linked as it ships.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "fuzz.h"

struct config	*config;
char		*daemon_socket;
int		 daemon_stopping;
int		 daemon_container;
struct rlimit	 worker_nofile;
char		*fuzz_dir;
static int	 dirty;

int
daemon_read_config(struct config **cfgp, char **cause)
{
	(void)cause;
	*cfgp = config_empty();
	return 0;
}

int
daemon_owns(const char *path)
{
	return logs_own(path);
}

void
daemon_notify(const char *state)
{
	(void)state;
}

void
daemon_dirty(void)
{
	dirty = 1;
}

void
daemon_shutdown(void)
{
	daemon_stopping = 1;
	dirty = 1;
}

long
daemon_ncpu(void)
{
	return 2;
}

/* As if the machine were out of processes: E_NOSPAWN, retried later. */
pid_t
proc_spawn(const struct spawn *sp, int *pidfd, char **exec_error,
    char **cause)
{
	(void)sp;
	(void)pidfd;
	*exec_error = NULL;
	*cause = xstrdup("clone: fuzzing: no processes");
	errno = EAGAIN;
	return -1;
}

void
proc_kill_strays(void)
{
}

int
proc_stat(pid_t pid, struct pstat *ps)
{
	(void)pid; (void)ps;
	return -1;
}

void
fuzz_init(void)
{
	static int	done;
	char		tmpl[] = "/tmp/pmd-fuzz-XXXXXX";
	cJSON_Hooks	hooks = { xmalloc, free };

	if (done++)
		return;
	cJSON_InitHooks(&hooks);
	if (mkdtemp(tmpl) == NULL)
		abort();
	fuzz_dir = xstrdup(tmpl);
	log_dir = xprintf("%s/logs", fuzz_dir);
	dump_path = xprintf("%s/dump.json", fuzz_dir);
	mkdir_p(log_dir, 0700, &(char *){ NULL });
	pmd_loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOENV);
	config = config_empty();
}

void
fuzz_settle(void)
{
	int	i;

	for (i = 0; dirty && i < 16; i++) {
		dirty = 0;
		app_settle_all();
		reconfig_check();
		control_check_waiters();
	}
}

/* Delete every app as pmctl delete would; one that cannot go is a bug. */
void
fuzz_reset(void)
{
	struct app	*a, *next;
	int		 i;

	daemon_stopping = 1;	/* no successor starts in a deleted app's place */
	for (a = TAILQ_FIRST(&apps); a != NULL; a = next) {
		next = TAILQ_NEXT(a, entry);
		app_delete(a);
	}
	for (i = 0; !TAILQ_EMPTY(&apps) && i < 100; i++) {
		ev_run(pmd_loop, EVRUN_NOWAIT);
		app_settle_all();
	}
	if (!TAILQ_EMPTY(&apps))
		abort();
	reconfig_free();
	events_free();	/* what one input left in the ring is not the next's */
	config_free(config);
	config = config_empty();
	daemon_stopping = 0;
	dirty = 0;
}

/* data in the file fuzz_dir/name; its path. */
char *
fuzz_file(const char *name, const unsigned char *data, size_t len)
{
	char	*path = xprintf("%s/%s", fuzz_dir, name);
	FILE	*f = fopen(path, "w");

	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		abort();
	return path;
}

void
fuzz_loop(int n)
{
	while (n-- > 0) {
		ev_run(pmd_loop, EVRUN_NOWAIT);
		fuzz_settle();
	}
}

int
daemon_booting(void)
{
	return 0;
}

/* No process is made here, so no pidfd names one. */
pid_t
proc_pidfd_pid(int fd)
{
	(void)fd;
	return -1;
}
