/*
 * update [--binary PATH]: pmd executes a new binary in its own process and
 * keeps every worker (update.c). Only pmd's owner may; one at a time; not
 * while pmd stops, a reload, a reload-config or a save runs, or an app is
 * being deleted (each finishes in seconds: pmctl says to try again). The
 * answer comes from the new pmd, or the old one's error if it could not.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifndef PMCTL
/* What holds an update back now, or NULL. */
static char *
update_blocked(void)
{
	struct app	*a;

	if (update_running())
		return xstrdup("an update is running already");
	if (reconfig_busy())
		return xstrdup("a reload-config is running; try again when it "
		    "has ended");
	if (dump_saving())
		return xstrdup("a save is being written; try again in a "
		    "moment");
	TAILQ_FOREACH(a, &apps, entry) {
		if (a->roll != NULL || a->queued_roll != NULL)
			return xprintf("a reload of \"%s\" is running; try "
			    "again when it has ended", a->name);
		if (a->want == APP_GONE)
			return xprintf("\"%s\" is being deleted; try again "
			    "when it has stopped", a->name);
	}
	return NULL;
}

static int
update_wait(struct client *c, void *arg, cJSON **reply)
{
	char	*error;

	(void)c; (void)arg;
	if (update_outcome(&error) == 0)
		return 0;
	*reply = reply_error(PMD_E_FAILED, "%s", error);
	free(error);
	return 1;
}

static cJSON *
cmd_update_exec(struct client *c, cJSON *req)
{
	const char	*binary = json_string(req, "binary");
	char		*why;

	if (client_unprivileged(c))
		return reply_error(PMD_E_PERM, "only pmd's owner may update "
		    "it: the new binary runs with pmd's rights");
	if (binary != NULL && binary[0] != '/')
		return reply_error(PMD_E_ARGS, "binary: an absolute path, not "
		    "\"%s\"", binary);
	if ((why = update_blocked()) != NULL ||
	    update_begin(binary, client_fd(c), client_peer(c), &why) == -1) {
		cJSON *r = reply_error(PMD_E_FAILED, "%s", why);
		free(why);
		return r;
	}
	client_wait(c, update_wait, NULL, update_forget_client);
	return NULL;
}

/* The new pmd's answer (or the old one's, taking back): update.c. */
cJSON *
cmd_update_reply(const struct update_done *d)
{
	cJSON	*o;

	if (d->error != NULL)
		return reply_error(PMD_E_FAILED, "the new pmd could not take "
		    "over: %s; pmd %s runs on with every worker", d->error,
		    PMD_VERSION);
	o = reply_ok();
	cJSON_AddNumberToObject(o, "pid", getpid());
	cJSON_AddStringToObject(o, "version", PMD_VERSION);
	cJSON_AddStringToObject(o, "was", d->from != NULL ? d->from : "?");
	cJSON_AddNumberToObject(o, "apps", d->apps);
	cJSON_AddNumberToObject(o, "workers", d->workers);
	cJSON_AddNumberToObject(o, "pause_ms", d->pause_ms);
	return o;
}
#endif /* !PMCTL */

#ifdef PMCTL
static void
build_update(const struct cmd_entry *ce, cJSON *req, int argc, char **argv)
{
	char	 path[PATH_MAX];
	int	 i;

	(void)ce;
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--binary") == 0 && i + 1 < argc) {
			/* pmd's cwd is not ours: the path goes whole. */
			if (realpath(argv[++i], path) == NULL)
				pmctl_usage_error("update: --binary %s: %s",
				    argv[i], strerror(errno));
			cJSON_AddStringToObject(req, "binary", path);
		} else
			pmctl_usage_error("update: unexpected \"%s\" (usage: "
			    "update [--binary PATH])", argv[i]);
	}
}

static void
print_update(cJSON *reply, cJSON *req, FILE *in)
{
	(void)req; (void)in;
	printf("pmd updated in place: %s -> %s, pid %.0f, %.0f workers kept, "
	    "supervision paused %.1f ms\n", str(reply, "was"),
	    str(reply, "version"), num(reply, "pid"), num(reply, "workers"),
	    num(reply, "pause_ms"));
}
#endif /* PMCTL */

static const struct cmd_arg cmd_update_args[] = {
	{ "binary", ARG_STRING, 0, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const struct cmd_entry cmd_update_entry = {
	.name = "update",
	.alias = "updatePM2 deepUpdate",
	.usage = "[--binary PATH]",
	.help = "run a new pmd binary in place, keeping every worker",
	.args = cmd_update_args,
	.flags = CMD_NO_AUTOSTART | CMD_WAITS,
	.exec = CMD_EXEC(cmd_update_exec),
	.build = CMD_PMCTL(build_update),
	.print = CMD_PMCTL(print_update),
};
