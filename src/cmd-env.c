/*
 * env TARGET: the environment of one worker's process, as PM2's pm2 env
 * prints it: read from /proc, so it is what the process was started with.
 * A group member sees only the environment of workers that run as itself.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#define ENVIRON_MAX	(1024 * 1024)

#ifndef PMCTL
static cJSON *
cmd_env_exec(struct client *c, cJSON *req)
{
	struct target	 t;
	struct app	*a;
	struct worker	*w;
	cJSON		*reply, *env;
	char		*path, *buf, *cause, *p, *eq;
	size_t		 len;

	if (cmd_get_target(req, &t, &reply) == -1)
		return reply;
	a = app_find(t.name);
	if (t.instance < 0 && a->nworkers != 1) {
		reply = reply_error(PMD_E_ARGS, "env shows one worker: give its "
		    "id or %s:INSTANCE", t.name);
		target_clear(&t);
		return reply;
	}
	w = a->workers[t.instance < 0 ? 0 : t.instance];
	target_clear(&t);
	if (client_unprivileged(c) && (a->cfg->user == NULL ||
	    a->cfg->uid != client_peer(c)->uid))
		return reply_error(PMD_E_PERM, "uid %ld may not read the "
		    "environment of %s:%u, which does not run as it",
		    (long)client_peer(c)->uid, a->name, w->instance);
	if (w->pid <= 0)
		return reply_error(PMD_E_FAILED, "%s:%u has no process",
		    a->name, w->instance);
	path = xprintf("/proc/%ld/environ", (long)w->pid);
	if (file_read(path, ENVIRON_MAX, &buf, &len, &cause) == -1) {
		free(path);
		reply = reply_error(PMD_E_FAILED, "%s", cause);
		free(cause);
		return reply;
	}
	free(path);
	reply = reply_ok();
	cJSON_AddNumberToObject(reply, "pid", w->pid);
	env = cJSON_AddObjectToObject(reply, "env");
	for (p = buf; p < buf + len; p += strlen(p) + 1) {
		if ((eq = strchr(p, '=')) == NULL)
			continue;
		*eq = '\0';
		if (!cJSON_HasObjectItem(env, p))
			cJSON_AddStringToObject(env, p, eq + 1);
	}
	free(buf);
	return reply;
}
#endif /* !PMCTL */

#ifdef PMCTL
static void
print_env(cJSON *reply, cJSON *req, FILE *in)
{
	cJSON	*v;

	(void)req; (void)in;
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(reply, "env"))
		printf("%s=%s\n", v->string, v->valuestring);
}
#endif /* PMCTL */

static const struct cmd_arg cmd_env_args[] = {
	{ "target", ARG_STRING, 1, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_env_entry = {
	.name = "env",
	.alias = NULL,
	.usage = "ID|NAME:INSTANCE|NAME",
	.help = "the environment of one worker's process (PM2's pm2 env)",
	.args = cmd_env_args,
	.flags = CMD_NO_AUTOSTART,
	.exec = CMD_EXEC(cmd_env_exec),
	.build = CMD_PMCTL(NULL),
	.print = CMD_PMCTL(print_env),
};
