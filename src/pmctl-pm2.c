/*
 * PM2's command words in pmctl: the ones that are another name for a pmd
 * command (startOrReload, jlist...), and what to do instead for each of
 * PM2's commands that pmd does not have, so that no word of pm2 --help
 * meets a bare "unknown command".
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmctl.h"

/*
 * The pmd command for one of PM2's words, or name itself: startOrRestart
 * and startOrReload start, or restart or reload what runs; jlist and
 * prettylist are list as JSON (*pretty: indented).
 */
const char *
pmctl_pm2_name(const char *name, int *pretty)
{
	if (strcmp(name, "startOrRestart") == 0) {
		pmctl_start_running = "restart";
		return "start";
	}
	if (strcmp(name, "startOrReload") == 0 ||
	    strcmp(name, "startOrGracefulReload") == 0) {
		pmctl_start_running = "reload";
		return "start";
	}
	if (strcmp(name, "jlist") == 0 || strcmp(name, "prettylist") == 0) {
		*pretty = name[0] == 'p';
		pmctl_json = 1;
		return "list";
	}
	return name;
}

/* What to do with pmd for a command of PM2's it does not have. */
const char *
pmctl_pm2_advice(const char *name)
{
	static const struct {
		const char	*pm2;
		const char	*advice;
	} advice[] = {
		{ "trigger", "pmctl send NAME JSON writes to a worker's message "
		    "channel (process.on('message'))" },
		{ "sendDataToProcessId", "pmctl send ID JSON" },
		{ "install", "log rotation is built in (log_max_size, log_retain "
		    "in pmd.conf(5)); modules do not apply" },
		{ "deploy", "see conf/deploy (Ansible, Dockerfile, Kubernetes) in "
		    "pmd's sources" },
		{ "link", "pmd has no hosted monitoring; [daemon] metrics = "
		    "tcp://HOST:PORT serves /metrics for Prometheus" },
		{ "plus", "pmd has no hosted monitoring; [daemon] metrics = "
		    "tcp://HOST:PORT serves /metrics for Prometheus" },
		{ "unstartup", "systemctl disable pmd" },
		{ "ecosystem", "write an INI file (pmd.conf(5)), or pmctl import "
		    "an existing ecosystem file" },
		{ "init", "write an INI file (pmd.conf(5)), or pmctl import "
		    "an existing ecosystem file" },
		{ "create", "write an INI file (pmd.conf(5)), or pmctl import "
		    "an existing ecosystem file" },
		{ "cleardump", "remove the dump file (pmctl show names it; "
		    "PMD_HOME/dump.json), or pmctl save with no app running" },
		{ "unlink", "pmd has no hosted monitoring" },
		{ "login", "pmd has no hosted monitoring or account" },
		{ "logout", "pmd has no hosted monitoring or account" },
		{ "open", "pmctl dashboard prints (and on a desktop opens) the dashboard" },
		{ "imonit", "pmctl monit" },
		{ "sysmonit", "pmctl monit shows each worker; the system's "
		    "own tools (top, free) show the machine" },
		{ "slist", "pmctl list" },
		{ "monitor", "every app is monitored: pmctl list, pmctl monit" },
		{ "unmonitor", "every app is monitored: pmctl list, pmctl monit" },
		{ "inspect", "start the app with node_args = --inspect "
		    "(pmctl start app.js --node_args --inspect, or NODE_OPTIONS)" },
		{ "profile:cpu", "start the app with --cpu-prof in NODE_OPTIONS" },
		{ "profile:mem", "start the app with --heap-prof in NODE_OPTIONS" },
		{ "attach", "pmctl logs NAME --follow shows its output; pmctl "
		    "send NAME JSON writes to it" },
		{ "uninstall", "pmd has no modules" },
		{ "publish", "pmd has no modules" },
		{ "set", "pmd has no module settings: keys go in pmd.conf(5)" },
		{ "multiset", "pmd has no module settings: keys go in "
		    "pmd.conf(5)" },
		{ "get", "pmd has no module settings: pmctl show NAME lists an "
		    "app's keys" },
		{ "unset", "pmd has no module settings: keys go in pmd.conf(5)" },
		{ "conf", "pmd has no module settings: keys go in pmd.conf(5)" },
		{ "config", "pmd has no module settings: keys go in "
		    "pmd.conf(5)" },
		{ "report", "pmctl ping, pmctl --json list and pmd's log (its "
		    "stderr, journalctl -u pmd) tell what a report would" },
		{ "logrotate", "log rotation is built in (log_max_size, "
		    "log_retain in pmd.conf(5))" },
		{ "pull", "pmd deploys nothing itself: git pull, then pmctl "
		    "reload NAME" },
		{ "forward", "pmd deploys nothing itself: check out the "
		    "revision, then pmctl reload NAME" },
		{ "backward", "pmd deploys nothing itself: check out the "
		    "revision, then pmctl reload NAME" },
		{ "serve", "pmctl start --name static -- python3 -m http.server "
		    "PORT (or any static file server)" },
		{ "expose", "pmctl start --name static -- python3 -m http.server "
		    "PORT (or any static file server)" },
		{ "autoinstall", "pmd has no modules" },
		{ "examples", "the EXAMPLES of pmctl(1), and the README" },
	};
	size_t	i;

	for (i = 0; i < nitems(advice); i++) {
		if (strcmp(advice[i].pm2, name) == 0)
			return advice[i].advice;
	}
	return NULL;
}

