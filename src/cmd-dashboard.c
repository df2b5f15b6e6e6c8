/*
 * dashboard: the address of the dashboard page, with the API's token in
 * its fragment (which no server and no log sees), for pmd's owner alone:
 * the token can do what the owner can. With a desktop, pmctl opens it.
 */
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "pmd-protocol.h"
#include "pmctl.h"

#ifndef PMCTL
static cJSON *
cmd_dashboard_exec(struct client *c, cJSON *req)
{
	const char	*addr = http_address(), *tok = http_token();
	cJSON		*o;
	char		*url;

	(void)req;
	if (client_unprivileged(c))
		return reply_error(PMD_E_PERM, "only pmd's owner may have the "
		    "dashboard: its token can do all that the owner can");
	if (addr == NULL || tok == NULL)
		return reply_error(PMD_E_FAILED, "pmd serves no HTTP: set "
		    "http = tcp://127.0.0.1:9615 in [daemon] (pmd.conf(5)) "
		    "and run pmctl reload-config");
	o = reply_ok();
	cJSON_AddStringToObject(o, "address", addr);
	if (strncmp(addr, "tcp://", 6) == 0) {
		url = xprintf("%s://%s/#token=%s", http_tls() ? "https" :
		    "http", addr + 6, tok);
		cJSON_AddStringToObject(o, "url", url);
		free(url);
	}
	cJSON_AddStringToObject(o, "token", tok);
	return o;
}
#endif /* !PMCTL */

#ifdef PMCTL
/* Opens url in the desktop's browser, if there is a desktop. */
static void
open_url(const char *url)
{
	const char	*d = getenv("DISPLAY"), *w = getenv("WAYLAND_DISPLAY");
	pid_t		 pid;

	if ((d == NULL || *d == '\0') && (w == NULL || *w == '\0'))
		return;
	if ((pid = fork()) == 0) {
		(void)!freopen("/dev/null", "w", stdout);
		(void)!freopen("/dev/null", "w", stderr);
		execlp("xdg-open", "xdg-open", url, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static void
print_dashboard(cJSON *reply, cJSON *req, FILE *in)
{
	const char	*url = json_string(reply, "url");

	(void)req; (void)in;
	if (url == NULL) {
		printf("pmd serves HTTP on %s; a browser reaches it through a "
		    "tunnel or a tcp:// address. Token: %s\n",
		    str(reply, "address"), str(reply, "token"));
		return;
	}
	printf("%s\n", url);
	open_url(url);
}
#endif /* PMCTL */

const struct cmd_entry cmd_dashboard_entry = {
	.name = "dashboard",
	.alias = "dash",
	.usage = "",
	.help = "the dashboard's address, with its token (opened on a desktop)",
	.args = NULL,
	.flags = CMD_NO_AUTOSTART,
	.exec = CMD_EXEC(cmd_dashboard_exec),
	.build = CMD_PMCTL(NULL),
	.print = CMD_PMCTL(print_dashboard),
};
