/*
 * The environment of a worker's process: the base (pmd's own, or that of
 * the pmctl that started an ad-hoc app), the app's env and profile, and
 * what pmd tells each worker (PMD_*, LISTEN_*, NOTIFY_SOCKET).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmd.h"

extern char **environ;

/* Variables pmd's own environment must not pass on to workers. */
static const char *const unset_vars[] = {
	"NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
	"PMD_READY_FD", "PMD_LISTEN", "PMD_LISTEN_SOCKET", "PMD_LISTEN_SHARE",
	"PMD_IPC_FD", "NODE_CHANNEL_FD", "NODE_CHANNEL_SERIALIZATION_MODE", "WATCHDOG_USEC",
	"WATCHDOG_PID",
};

/* Set key=value in *envp; returns the entry. */
static char **
env_set(char ***envp, size_t *n, const char *key, const char *value)
{
	size_t	i, klen = strlen(key);

	for (i = 0; i < *n; i++) {
		if (strncmp((*envp)[i], key, klen) == 0 &&
		    (*envp)[i][klen] == '=') {
			free((*envp)[i]);
			(*envp)[i] = xprintf("%s=%s", key, value);
			return &(*envp)[i];
		}
	}
	*envp = xrealloc(*envp, (*n + 2) * sizeof **envp);
	(*envp)[(*n)++] = xprintf("%s=%s", key, value);
	(*envp)[*n] = NULL;
	return &(*envp)[*n - 1];
}

/*
 * Binding through pmd (handoff.c): its library first in LD_PRELOAD, and
 * pmd-drain.js first in NODE_OPTIONS. The worker then counts as online
 * when it listens.
 */
static void
env_preload(const struct app *a, struct worker *w, char ***envp, size_t *n)
{
	const char	*lib, *sock, *js, *old = NULL, *nodeopt = NULL;
	char		*listen, *v;
	size_t		 i;

	if (handoff_vars(a, w->instance, &lib, &listen, &sock, &js) == -1)
		return;
	env_set(envp, n, "PMD_LISTEN", listen);
	env_set(envp, n, "PMD_LISTEN_SOCKET", sock);
	if (listen_shares_binds(a))
		env_set(envp, n, "PMD_LISTEN_SHARE", "1");
	free(listen);
	for (i = 0; i < *n; i++) {
		if (strncmp((*envp)[i], "LD_PRELOAD=", 11) == 0)
			old = (*envp)[i] + 11;
		if (strncmp((*envp)[i], "NODE_OPTIONS=", 13) == 0)
			nodeopt = (*envp)[i] + 13;
	}
	/* Node servers drain on SIGTERM unless they handle it themselves. */
	if (js != NULL) {
		v = nodeopt != NULL && *nodeopt != '\0' ?
		    xprintf("--require \"%s\" %s", js, nodeopt) :
		    xprintf("--require \"%s\"", js);
		env_set(envp, n, "NODE_OPTIONS", v);
		free(v);
	}
	v = old != NULL && *old != '\0' ? xprintf("%s %s", lib, old) :
	    xstrdup(lib);
	env_set(envp, n, "LD_PRELOAD", v);
	free(v);
	/* Online once it listens (worker_listening), if it is to listen. */
	w->await_listen = !a->cfg->wait_ready && a->nlisten > 0;
}

/*
 * increment_var (PM2's): the worker of instance i gets the variable's
 * number plus i, so that instances given PORT=3000 listen on 3000, 3001...
 * A value that is no number is left as it is, with a warning.
 */
static void
env_increment(const struct app *a, const struct worker *w, char ***envp,
    size_t *n)
{
	const char	*name = a->cfg->increment_var, *v = NULL;
	size_t		 len = strlen(name), i;
	unsigned long	 base;
	char		*end, buf[32];

	for (i = 0; i < *n; i++) {
		if (strncmp((*envp)[i], name, len) == 0 &&
		    (*envp)[i][len] == '=')
			v = (*envp)[i] + len + 1;
	}
	if (v == NULL || *v == '\0')
		return;		/* nothing to increment: left unset */
	errno = 0;
	base = strtoul(v, &end, 10);
	if (*end != '\0' || errno != 0 || base > 1000000000UL ||
	    !isdigit((unsigned char)*v)) {
		log_warn("%s:%u: increment_var: %s=\"%s\" is not a number: "
		    "left as it is", a->name, w->instance, name, v);
		return;
	}
	snprintf(buf, sizeof buf, "%lu", base + w->instance);
	env_set(envp, n, name, buf);
}

/*
 * The environment of a new process of w: base, app env, profile, ours.
 * ipc_fd: the message channel's fd in the worker, or -1. pid_slot[0] and
 * [1] point where LISTEN_PID's and WATCHDOG_PID's values go
 * (the child writes its own pid there); notify is the NOTIFY_SOCKET.
 */
char **
env_worker(struct app *a, struct worker *w, const char *notify, int ipc_fd,
    char **pid_slot)
{
	struct app_config	*cfg = a->cfg;
	char			**base = a->base_env ? a->base_env : environ;
	char			**envp = NULL, buf[32];
	size_t			 n = 0, i, j;

	envp = xcalloc(1, sizeof *envp);
	for (i = 0; base[i] != NULL; i++) {
		for (j = 0; j < nitems(unset_vars); j++) {
			size_t l = strlen(unset_vars[j]);
			if (strncmp(base[i], unset_vars[j], l) == 0 &&
			    base[i][l] == '=')
				break;
		}
		if (j < nitems(unset_vars) || strchr(base[i], '=') == NULL)
			continue;
		envp = xrealloc(envp, (n + 2) * sizeof *envp);
		envp[n++] = xstrdup(base[i]);
		envp[n] = NULL;
	}
	if (cfg->user != NULL && geteuid() == 0) {
		env_set(&envp, &n, "USER", cfg->user);
		env_set(&envp, &n, "LOGNAME", cfg->user);
	}
	for (i = 0; i < cfg->nenv; i++) {
		if (cfg->env[i].profile == NULL)
			env_set(&envp, &n, cfg->env[i].key, cfg->env[i].value);
	}
	for (i = 0; a->profile != NULL && i < cfg->nenv; i++) {
		if (cfg->env[i].profile != NULL &&
		    strcmp(cfg->env[i].profile, a->profile) == 0)
			env_set(&envp, &n, cfg->env[i].key, cfg->env[i].value);
	}
	env_set(&envp, &n, "PMD_APP", a->name);
	snprintf(buf, sizeof buf, "%u", w->instance);
	env_set(&envp, &n, "PMD_INSTANCE", buf);
	env_set(&envp, &n, "NODE_APP_INSTANCE", buf);
	if (cfg->instance_var != NULL)
		env_set(&envp, &n, cfg->instance_var, buf);
	if (cfg->increment_var != NULL)
		env_increment(a, w, &envp, &n);
	snprintf(buf, sizeof buf, "%u", w->id);
	env_set(&envp, &n, "PMD_WORKER_ID", buf);
	if (notify != NULL)
		env_set(&envp, &n, "NOTIFY_SOCKET", notify);
	pid_slot[0] = pid_slot[1] = NULL;
	if (ipc_fd != -1) {
		snprintf(buf, sizeof buf, "%d", ipc_fd);
		env_set(&envp, &n, "PMD_IPC_FD", buf);
		env_set(&envp, &n, "NODE_CHANNEL_FD", buf);
		env_set(&envp, &n, "NODE_CHANNEL_SERIALIZATION_MODE", "json");
	}
	if (cfg->watchdog > 0) {
		char **e;
		snprintf(buf, sizeof buf, "%llu",
		    (unsigned long long)cfg->watchdog * 1000);
		env_set(&envp, &n, "WATCHDOG_USEC", buf);
		e = env_set(&envp, &n, "WATCHDOG_PID", "");
		*e = xrealloc(*e, sizeof "WATCHDOG_PID=" + PID_SLOT_SIZE);
		pid_slot[1] = *e + sizeof "WATCHDOG_PID=" - 1;
	}
	if (a->nlisten > 0) {
		char *names = xcalloc(a->nlisten, strlen(a->name) + 1), **e;
		for (i = 0; i < a->nlisten; i++) {
			if (i > 0)
				strcat(names, ":");
			strcat(names, a->name);
		}
		env_set(&envp, &n, "LISTEN_FDNAMES", names);
		free(names);
		snprintf(buf, sizeof buf, "%zu", a->nlisten);
		env_set(&envp, &n, "LISTEN_FDS", buf);
		/* Room for the pid, which only the child knows. */
		e = env_set(&envp, &n, "LISTEN_PID", "");
		*e = xrealloc(*e, sizeof "LISTEN_PID=" + PID_SLOT_SIZE);
		pid_slot[0] = *e + sizeof "LISTEN_PID=" - 1;
	}
	env_preload(a, w, &envp, &n);
	return envp;
}
