/*
 * The workers' process groups, kept on disk so that a pmd started after one
 * that died without stopping them (SIGKILL, the OOM killer, a crash) can
 * end what it left behind before it binds their ports again.
 *
 * The record is a directory beside the control socket, SOCKET.workers,
 * with one empty file per live worker, named PGID.MS: its process group
 * (which is the worker's pid, as each worker leads its own session) and
 * when it started, in ms of CLOCK_BOOTTIME. The file is made when the
 * worker is spawned and removed when it is reaped: one system call each.
 * A file boot_id tells records of an earlier boot, which are ignored.
 *
 * At start, track_sweep() ends each recorded group: SIGTERM, then SIGKILL
 * after 5 seconds. A group is left alone if its leader is alive but
 * started at another time (its pid has been reused).
 */
#include <sys/stat.h>
#include <sys/syscall.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pmd.h"

#define SWEEP_WAIT	5000	/* ms for each signal to take effect */
#define START_SLACK	5000	/* ms between a fork and our clock read */

static int	dir_fd = -1;

struct rec {
	pid_t			 pgid;
	unsigned long long	 ms;
};

static unsigned long long
boot_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (unsigned long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
read_boot_id(int at, const char *path, char *buf, size_t size)
{
	ssize_t	n = -1;
	int	fd;

	if ((fd = openat(at, path, O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, buf, size - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

int
track_open(const char *dir, char **cause)
{
	if (mkdir_p(dir, 0700, cause) == -1)
		return -1;
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd == -1) {
		*cause = xprintf("%s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* Record a new worker; returns what track_del() needs with its pid. */
unsigned long long
track_add(pid_t pid)
{
	unsigned long long	ms = boot_ms();
	char			name[64];

	if (dir_fd == -1)
		return ms;
	snprintf(name, sizeof name, "%ld.%llu", (long)pid, ms);
	if (mknodat(dir_fd, name, S_IFREG | 0600, 0) == -1 && errno != EEXIST)
		log_warn("workers record: %s: %s", name, strerror(errno));
	return ms;
}

void
track_del(pid_t pid, unsigned long long ms)
{
	char	name[64];

	if (dir_fd == -1)
		return;
	snprintf(name, sizeof name, "%ld.%llu", (long)pid, ms);
	unlinkat(dir_fd, name, 0);
}

/* Wait until every pid of pids has exited, or ms have passed. */
static size_t
wait_gone(pid_t *pids, size_t n, int ms)
{
	struct pollfd	*pfd = xcalloc(n, sizeof *pfd);
	unsigned long long end = boot_ms() + (unsigned long long)ms;
	size_t		 i, alive = 0;
	int		 fd;

	for (i = 0; i < n; i++) {
		fd = (int)syscall(SYS_pidfd_open, pids[i], 0);
		pfd[i].fd = fd;
		pfd[i].events = POLLIN;
		if (fd != -1)
			alive++;
	}
	while (alive > 0 && boot_ms() < end) {
		if (poll(pfd, n, (int)(end - boot_ms())) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			if (pfd[i].fd != -1 && pfd[i].revents != 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				alive--;
			}
		}
	}
	for (i = 0; i < n; i++) {
		if (pfd[i].fd != -1)
			close(pfd[i].fd);
	}
	free(pfd);
	return alive;
}

/* The recorded groups that are still ours, and their live members. */
static size_t
members(struct rec *recs, size_t nrecs, pid_t **pidsp)
{
	struct pstat	 ps;
	DIR		*d;
	struct dirent	*de;
	pid_t		*pids = NULL, pid;
	size_t		 n = 0, i;
	long		 hz = sysconf(_SC_CLK_TCK);
	unsigned long long started;

	for (i = 0; i < nrecs; i++) {
		if (proc_stat(recs[i].pgid, &ps) == -1)
			continue;	/* the leader is gone; others may not be */
		started = ps.start * 1000 / (unsigned long long)hz;
		if (ps.pgrp != recs[i].pgid || started > recs[i].ms + 20 ||
		    recs[i].ms - started > START_SLACK)
			recs[i].pgid = 0;	/* another process has its pid */
	}
	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		pid = (pid_t)atol(de->d_name);
		if (pid <= 0 || proc_stat(pid, &ps) == -1)
			continue;
		for (i = 0; i < nrecs; i++) {
			if (recs[i].pgid != 0 && ps.pgrp == recs[i].pgid)
				break;
		}
		if (i == nrecs)
			continue;
		pids = xrealloc(pids, (n + 1) * sizeof *pids);
		pids[n++] = pid;
	}
	closedir(d);
	*pidsp = pids;
	return n;
}

static void
signal_groups(struct rec *recs, size_t n, int sig)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (recs[i].pgid != 0)
			kill(-recs[i].pgid, sig);
	}
}

/* End the workers a dead pmd left, and start a new record. */
void
track_sweep(void)
{
	struct rec	*recs = NULL;
	pid_t		*pids = NULL;
	DIR		*d;
	struct dirent	*de;
	char		 was[64], now[64];
	long		 pgid;
	unsigned long long ms;
	size_t		 nrecs = 0, n;
	int		 fd, same;

	if (dir_fd == -1)
		return;
	read_boot_id(dir_fd, "boot_id", was, sizeof was);
	read_boot_id(AT_FDCWD, "/proc/sys/kernel/random/boot_id", now,
	    sizeof now);
	same = *now != '\0' && strcmp(was, now) == 0;
	if ((fd = dup(dir_fd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (sscanf(de->d_name, "%ld.%llu", &pgid, &ms) != 2 ||
		    pgid <= 1)
			continue;
		unlinkat(dir_fd, de->d_name, 0);
		if (!same)
			continue;
		recs = xrealloc(recs, (nrecs + 1) * sizeof *recs);
		recs[nrecs].pgid = (pid_t)pgid;
		recs[nrecs++].ms = ms;
	}
	closedir(d);
	if (!same && (fd = openat(dir_fd, "boot_id", O_WRONLY | O_CREAT |
	    O_TRUNC | O_CLOEXEC, 0600)) != -1) {
		dprintf(fd, "%s\n", now);
		close(fd);
	}
	if (nrecs == 0 || (n = members(recs, nrecs, &pids)) == 0) {
		free(recs);
		return;
	}
	log_warn("%zu process%s left by a pmd that did not stop its workers: "
	    "ending them (SIGTERM, then SIGKILL after %d s)", n,
	    n == 1 ? "" : "es", SWEEP_WAIT / 1000);
	signal_groups(recs, nrecs, SIGTERM);
	if (wait_gone(pids, n, SWEEP_WAIT) > 0) {
		signal_groups(recs, nrecs, SIGKILL);
		if (wait_gone(pids, n, SWEEP_WAIT) > 0)
			log_warn("some processes left by the last pmd did not "
			    "exit even after SIGKILL");
	}
	free(pids);
	free(recs);
}
