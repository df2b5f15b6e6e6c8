"""pmctl as a user drives it: ad-hoc starts, profiles, output, autostart."""
import json
import os
import re
import subprocess
import sys
import threading

from conftest import PMCTL, free_port, log_lines, marked_pids, pid_alive, wait_until


def test_adhoc_start_uses_the_clients_cwd_and_environment(pmd, tmp_path):
    pmd.start()
    work = tmp_path / "work"
    work.mkdir()
    r = pmd.ok("start", "--name", "web", "-i", "2", "--", "sh", "-c",
               'echo "$(pwd) $FROM_CLIENT $PMD_INSTANCE"; exec sleep 1000',
               cwd=work, env={"FROM_CLIENT": "yes please"})
    assert "web" in r.stdout and r.stdout.count("online") == 2
    ws = pmd.wait_status("web", "online", count=2)
    out = pmd.logs / "web.out.log"
    lines = wait_until(lambda: len(log_lines(out)) == 2 and sorted(log_lines(out)),
                       what="output")
    assert lines == [f"{work} yes please 0", f"{work} yes please 1"]
    app = pmd.show("web")
    assert app["source"] == "pmctl start" and app["argv"][:2] == ["sh", "-c"]
    # Same name again is refused; the default name comes from the program.
    r = pmd.ctl("start", "--name", "web", "--", "sleep", "1")
    assert r.returncode == 1 and 'an app named "web" already exists' in r.stderr
    pmd.ok("start", "--", "/bin/sleep", "1000")
    pmd.wait_status("sleep", "online")
    r = pmd.ctl("start", "--name", "bad/name", "--", "sleep", "1")
    assert r.returncode == 1 and 'invalid app name "bad/name"' in r.stderr
    assert {w["pid"] for w in pmd.workers("web")} == {w["pid"] for w in ws}


def test_show_lists_every_key_in_text_and_json(pmd):
    """show gives every key of the app, as pmd.conf(5) writes it, the same
    in text and in --json; unset ones are null (text: -)."""
    pmd.start("[app:web]\ncommand = sleep 1000\nlisten = tcp://127.0.0.1:0\n"
              "wait_ready = false\nstop_exit_codes = 0, 3\nmin_uptime = 1500ms\n"
              "max_memory_restart = 300M\nkill_signal = SIGINT\n")
    pmd.wait_status("web", "online")
    config = pmd.show("web")["config"]
    text = pmd.ok("show", "web").stdout
    for key, value in config.items():
        assert re.search(rf"^{key} +{re.escape(value or '-')}$", text, re.M), (key, value)
    assert config["listen"] == "tcp://127.0.0.1:0"
    assert config["wait_ready"] == "false"
    assert config["stop_exit_codes"] == "0, 3"
    assert config["min_uptime"] == "1500ms"
    assert config["kill_timeout"] == "5s"            # a default
    assert config["max_memory_restart"] == "300M"
    assert config["kill_signal"] == "SIGINT"
    assert config["log_max_size"] == "10M"
    assert config["cron_restart"] is None
    for key in ("command", "cwd", "instances", "listen_backlog", "listen_mode",
                "listen_timeout", "watch_delay", "log_date_format", "user"):
        assert key in config, key


def test_env_profile(pmd):
    pmd.start("""
[app:api]
command = sh -c 'echo "$LEVEL $ONLY_BASE"; exec sleep 1000'
env.LEVEL = debug
env.ONLY_BASE = base
env_production.LEVEL = warn
""")
    pmd.wait_status("api", "online")
    pmd.ok("delete", "api")
    pmd.ok("start", "api", "--env", "production")
    pmd.wait_status("api", "online")
    out = pmd.logs / "api.out.log"
    wait_until(lambda: len(log_lines(out)) == 2, what="two runs")
    assert log_lines(out) == ["debug base", "warn base"]
    assert pmd.show("api")["env"] == {"LEVEL": "warn", "ONLY_BASE": "base"}
    r = pmd.ctl("start", "api", "--env", "staging")
    assert r.returncode == 1 and 'app "api" has no env_staging.* keys' in r.stderr


def test_list_json_and_table(pmd):
    pmd.start("[app:api]\ncommand = sleep 1000\ninstances = 2\n")
    ws = pmd.wait_status("api", "online", count=2)
    for w in ws:
        assert set(w) >= {"name", "instance", "pid", "status", "restarts", "uptime_ms",
                          "cpu", "memory"}
        assert w["memory"] > 0  # resident bytes read from /proc
    table = pmd.ok("list").stdout.splitlines()
    assert table[0].split() == ["NAME", "ID", "INST", "PID", "STATUS", "RESTARTS", "UPTIME",
                                "CPU", "MEM"]
    assert "\033[" not in "".join(table)  # not a terminal: no colour
    assert pmd.ok("ls").stdout.splitlines()[0] == table[0]
    v = pmd.ok("version").stdout
    assert v.startswith("pmctl ") and "\npmd " in v


def test_busy_worker_shows_cpu(pmd):
    pmd.start("[app:spin]\ncommand = sh -c 'while :; do :; done'\n")
    pmd.wait_status("spin", "online")
    pmd.workers()  # first sample
    wait_until(lambda: pmd.workers("spin")[0]["cpu"] > 20, timeout=10, interval=0.2,
               what="cpu to show")


def test_pmctl_starts_one_daemon_even_when_two_race(tmp_path):
    home = tmp_path / "home"
    marker = os.urandom(8).hex()
    env = dict(os.environ, PMD_HOME=str(home), PMD_TEST_MARK=marker, NO_COLOR="1",
               PMD_BIN=os.path.join(os.path.dirname(PMCTL), "pmd"))
    env.pop("PMD_SOCKET", None)
    results = []

    def run():
        results.append(subprocess.run([PMCTL, "--json", "list"], env=env, capture_output=True,
                                      text=True, timeout=60))
    try:
        threads = [threading.Thread(target=run) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [r.returncode for r in results] == [0] * 4, [r.stderr for r in results]
        assert all(json.loads(r.stdout) == [] for r in results)
        # Exactly one daemon, and every pmctl talked to it.
        daemons = marked_pids(marker)
        assert len(daemons) == 1, daemons
        pid = json.loads(subprocess.run([PMCTL, "--json", "ping"], env=env, capture_output=True,
                                        text=True).stdout)["pid"]
        assert daemons == [pid]
        assert (home / "logs" / "pmd.log").exists()
        r = subprocess.run([PMCTL, "kill"], env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and r.stdout == "pmd stopped\n"
        wait_until(lambda: not pid_alive(pid), what="daemon to exit")
        # ping and kill never start a daemon.
        r = subprocess.run([PMCTL, "ping"], env=env, capture_output=True, text=True)
        assert r.returncode == 3
        assert marked_pids(marker) == []
    finally:
        for p in marked_pids(marker):
            os.kill(p, 9)


def test_second_daemon_on_the_same_home_is_refused(pmd):
    pmd.start()
    first = pmd.json("ping")["pid"]
    import subprocess as sp
    r = sp.run([__import__("conftest").PMD], env=pmd.env, capture_output=True, text=True,
               timeout=30)
    assert r.returncode == 75
    assert r.stderr == f"pmd: another pmd (pid {first}) is running on {pmd.socket}\n"
    assert pmd.json("ping")["pid"] == first


def test_stale_socket_is_replaced(pmd):
    # A socket file left by a daemon that died.
    import socket
    s = socket.socket(socket.AF_UNIX)
    s.bind(pmd.socket)
    s.close()
    pmd.start()
    pmd.ok("ping")


def test_kill_stops_workers_and_exits_0(pmd):
    pmd.start("[app:api]\ncommand = sh -c 'sleep 1000 & wait'\ninstances = 2\n")
    pids = [w["pid"] for w in pmd.wait_status("api", "online", count=2)]
    r = pmd.ok("kill")
    assert r.stdout == "pmd stopped\n"
    assert pmd.proc.wait(timeout=30) == 0
    assert not any(pid_alive(p) for p in pids)


def test_start_a_script_or_a_program_as_pm2_does(pmd, tmp_path):
    """pmctl start app.js runs it with node (by its extension), named app;
    a path without a known extension runs itself (its shebang); a program
    takes its arguments after --, as pm2 start npm -- start does."""
    pmd.start()
    (tmp_path / "app.js").write_text(
        "console.log('node', process.argv.slice(2).join(' '), process.env.PMD_INSTANCE);\n"
        "setInterval(() => {}, 1000);\n")
    (tmp_path / "job.py").write_text("import sys, time\nprint('python', *sys.argv[1:], flush=True)\n"
                                     "time.sleep(1000)\n")
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\necho tool \"$@\"\nexec sleep 1000\n")
    tool.chmod(0o755)
    pmd.ok("start", "app.js", "-i", "2", "--", "--port", "3000", cwd=tmp_path)
    pmd.ok("start", "job.py", "--", "x", cwd=tmp_path)
    pmd.ok("start", "./tool", "--name", "t", "--", "a", "b", cwd=tmp_path)
    pmd.ok("start", "sleep", "--", "1000", cwd=tmp_path)
    assert pmd.show("app")["argv"] == ["node", str(tmp_path / "app.js"), "--port", "3000"]
    assert pmd.show("job")["argv"][0] == "python3"
    assert pmd.show("t")["argv"] == [str(tool), "a", "b"]
    assert pmd.show("sleep")["argv"] == ["sleep", "1000"]
    for name, count in (("app", 2), ("job", 1), ("t", 1), ("sleep", 1)):
        pmd.wait_status(name, "online", count=count)
    wait_until(lambda: sorted(log_lines(pmd.logs / "app.out.log")) ==
               ["node --port 3000 0", "node --port 3000 1"], what="node's output")
    wait_until(lambda: log_lines(pmd.logs / "job.out.log") == ["python x"], what="python")
    wait_until(lambda: log_lines(pmd.logs / "t.out.log") == ["tool a b"], what="the tool")
    # PM2's ecosystem files are read as such, not run as a script.
    (tmp_path / "ecosystem.config.js").write_text("module.exports = {apps: []}\n")
    r = pmd.ctl("start", "ecosystem.config.js", cwd=tmp_path)
    assert r.returncode == 2 and "ecosystem.config.js: no apps" in r.stderr


def test_pm2_command_names_work(pmd):
    pmd.start("[app:api]\ncommand = sleep 1000\n")
    pmd.wait_status("api", "online")
    assert json.loads(pmd.ok("jlist").stdout)[0]["name"] == "api"
    pretty = pmd.ok("prettylist").stdout
    assert "\n\t" in pretty or "\n  " in pretty
    assert json.loads(pretty)[0]["name"] == "api"
    assert "api" in pmd.ok("describe", "api").stdout
    assert pmd.ok("sendSignal", "SIGCONT", "api").stdout == "signalled 1 worker(s)\n"
    assert "reopened" in pmd.ok("reloadLogs").stdout
    assert pmd.ctl("logs", "api", "--nostream", timeout=10).returncode == 0


def test_startup_says_how_pmd_starts_at_boot(pmd):
    """pmctl startup needs no daemon (none is started for it) and says what
    it did or what to run: here, by what the machine has."""
    r = pmd.ctl("startup")
    if not os.path.isdir("/run/systemd/system"):
        assert r.returncode == 1
        assert "does not run systemd: start \"pmd -d\" from its init" in r.stdout
    elif not any(os.path.exists(p) for p in ("/etc/systemd/system/pmd.service",
                                             "/lib/systemd/system/pmd.service",
                                             "/usr/local/lib/systemd/system/pmd.service",
                                             "/usr/lib/systemd/system/pmd.service")):
        assert r.returncode == 1 and "pmd.service is not installed" in r.stdout
    assert not os.path.exists(pmd.socket)
    r = pmd.ctl("startup", "now")
    assert r.returncode == 2 and "startup takes no arguments" in r.stderr


def test_show_speaks_of_instances_one_way(pmd):
    pmd.start("[app:hello]\ncommand = sleep 1000\ninstances = 3\n")
    pmd.wait_status("hello", "online", count=3)
    pmd.ok("scale", "hello", "5")
    out = pmd.ok("show", "hello").stdout
    lines = [l for l in out.splitlines() if "instances" in l.split(" ", 1)[0]]
    assert lines == ["instances                     5 (the config says 3: scaled since)"], lines


def test_a_command_given_as_one_string_runs(pmd, tmp_path):
    """PM2's habit for non-Node servers: pmctl start "CMD ARGS" [--name N]."""
    port = free_port()
    pmd.start()
    pmd.ok("start", f"{sys.executable} -m http.server {port} --bind 127.0.0.1", "--name",
           "web", cwd=tmp_path)
    w = pmd.wait_status("web", "online")[0]
    assert open(f"/proc/{w['pid']}/cmdline", "rb").read().split(b"\0")[1:4] == \
        [b"-m", b"http.server", str(port).encode()]
    pmd.ok("start", "sleep 1000", "-i", "2")
    assert len(pmd.wait_status("sleep", "online", count=2)) == 2
    r = pmd.ctl("start", "sh -c 'exit 3")
    assert r.returncode == 2 and "start: \"sh -c 'exit 3\": unterminated ' quote" in r.stderr


def test_pid_id_env_and_pm2_words(pmd):
    """PM2's pid, id and env; dump and gracefulReload as aliases; PM2's
    commands pmd does not have say what to do instead."""
    pmd.start("[app:web]\ncommand = sleep 1000\ninstances = 2\nenv.GREETING = hi there\n")
    ws = pmd.wait_status("web", "online", count=2)
    assert pmd.ok("pid", "web").stdout.split() == [str(w["pid"]) for w in ws]
    assert pmd.ok("id", "web").stdout.split() == [str(w["id"]) for w in ws]
    assert pmd.ok("pid").stdout.split() == [str(w["pid"]) for w in ws]
    env = pmd.ok("env", str(ws[1]["id"])).stdout.splitlines()
    assert "GREETING=hi there" in env and "PMD_INSTANCE=1" in env
    r = pmd.ctl("env", "web")
    assert r.returncode == 1 and "env shows one worker: give its id or web:INSTANCE" in r.stderr
    r = pmd.ctl("env", "99")
    assert r.returncode == 1 and "no worker with id 99" in r.stderr
    r = pmd.ctl("id", "nothere")
    assert r.returncode == 1 and 'no app named "nothere"' in r.stderr
    pmd.ok("dump")
    assert (pmd.home / "dump.json").exists()
    pmd.ok("gracefulReload", "web")
    for word, advice in (("trigger", "pmctl send"), ("install", "log_max_size"),
                         ("deploy", "conf/deploy")):
        r = pmd.ctl(word, "x")
        assert r.returncode == 2 and f"{word} is PM2's; with pmd: " in r.stderr, r.stderr
        assert advice in r.stderr


def test_list_sort(pmd):
    pmd.start("[app:b]\ncommand = sleep 1000\ninstances = 2\n[app:a]\ncommand = sleep 1000\n")
    pmd.wait_status("b", "online", count=2)
    pmd.wait_status("a", "online")
    names = [w["name"] for w in pmd.json("list", "--sort", "name")]
    assert names == ["a", "b", "b"]
    ids = [w["id"] for w in pmd.json("list", "--sort", "id:desc")]
    assert ids == sorted(ids, reverse=True)
    rows = pmd.ok("list", "--sort", "pid:asc").stdout.splitlines()[1:]
    pids = [int(r.split()[3]) for r in rows]
    assert pids == sorted(pids)
    for bad, message in ((("--sort", "size"), 'no field "size"'),
                         (("--sort", "mem:up"), "expected asc or desc"),
                         (("--sort",), "usage: pmctl list")):
        r = pmd.ctl("list", *bad)
        assert r.returncode == 2 and message in r.stderr, r.stderr


def test_restart_update_env(pmd):
    """FOO=new pmctl restart api --update-env: the workers get the
    caller's environment, and keep it across save and resurrect."""
    pmd.start()
    pmd.ok("start", "--name", "api", "--", "sh", "-c", 'echo "FOO=$FOO"; exec sleep 1000',
           env={"FOO": "old"})
    pmd.wait_status("api", "online")
    wait_until(lambda: "FOO=old" in log_lines(pmd.logs / "api.out.log"), what="old")
    pmd.ok("restart", "api", env={"FOO": "kept"})     # no --update-env: unchanged
    pmd.ok("restart", "api", "--update-env", env={"FOO": "new"})
    wait_until(lambda: "FOO=new" in log_lines(pmd.logs / "api.out.log"), what="new")
    assert "FOO=kept" not in log_lines(pmd.logs / "api.out.log")
    pmd.ok("reload", "api", "--update-env", env={"FOO": "newer"})
    wait_until(lambda: "FOO=newer" in log_lines(pmd.logs / "api.out.log"), what="newer")
    pmd.ok("save")
    pmd.ok("delete", "api")
    pmd.ok("resurrect")
    wait_until(lambda: log_lines(pmd.logs / "api.out.log")[-1:] == ["FOO=newer"] and
               len([l for l in log_lines(pmd.logs / "api.out.log") if l == "FOO=newer"]) == 2,
               what="the saved environment")
    r = pmd.ctl("restart", "api", "--update", env={"FOO": "x"})
    assert r.returncode == 2 and "usage: pmctl restart" in r.stderr


def test_namespaces_are_targets(pmd, tmp_path):
    pmd.start("[app:cfg]\ncommand = sleep 1000\nnamespace = backend\n")
    pmd.ok("start", "--name", "api", "--namespace", "backend", "--", "sleep", "1000")
    pmd.ok("start", "--name", "web", "--namespace", "frontend", "--", "sleep", "1000")
    for name in ("cfg", "api", "web"):
        pmd.wait_status(name, "online")
    assert {w["name"]: w["namespace"] for w in pmd.workers()} == \
        {"cfg": "backend", "api": "backend", "web": "frontend"}
    pmd.ok("stop", "backend")
    assert {w["name"]: w["status"] for w in pmd.workers()} == \
        {"cfg": "stopped", "api": "stopped", "web": "online"}
    pmd.ok("restart", "backend")
    pmd.wait_status("api", "online")
    pmd.ok("delete", "backend")
    assert [w["name"] for w in pmd.workers()] == ["web"]
    r = pmd.ctl("stop", "nope")
    assert r.returncode == 1 and 'no app named "nope"' in r.stderr
    r = pmd.ctl("start", "--name", "x", "--namespace", "a b", "--", "sleep", "1")
    assert r.returncode == 1 and "namespace: expected 1 to 64 of" in r.stderr
    assert pmd.show("web")["config"]["namespace"] == "frontend"


# Every command `pm2 --help` lists (PM2 7), as a PM2 user would type it.
PM2_COMMANDS = """start trigger deploy startOrRestart startOrReload pid create
startOrGracefulReload stop restart scale profile:mem profile:cpu reload id inspect
delete sendSignal ping updatePM2 update install uninstall publish set multiset get
conf config unset report link unlink monitor unmonitor open plus login logout dump
save cleardump send attach resurrect unstartup startup logrotate ecosystem init
reset describe desc info show list ls l ps status jlist sysmonit slist prettylist
monit imonit dashboard dash flush reloadLogs logs kill pull forward backward
deepUpdate serve expose autoinstall examples""".split()


def test_every_pm2_command_is_known_or_answered_with_what_to_do(pmd):
    """No command of PM2's gets 'unknown command': pmctl has it (or an
    alias), or says what to do with pmd instead."""
    known = set(" ".join(pmd.ok("commands").stdout.split("\n")).split())
    for word in PM2_COMMANDS:
        if word in known:
            continue
        r = pmd.ctl(word)
        assert r.returncode == 2 and f"{word} is PM2's; with pmd: " in r.stderr, \
            (word, r.stderr)


def test_logs_of_a_namespace(pmd):
    """pm2 logs NAMESPACE: the lines of that namespace's apps, and with
    --follow their new lines only."""
    import select
    pmd.start()
    for name, ns in (("api", "backend"), ("jobs", "backend"), ("web", "frontend")):
        pmd.ok("start", "--name", name, "--namespace", ns, "--", "sh", "-c",
               f"echo {name}-up; exec sleep 1000")
    wait_until(lambda: all(f"{n}-up" in pmd.ok("logs", n).stdout for n in ("api", "jobs", "web")),
               what="every app's first line")
    out = pmd.ok("logs", "backend").stdout
    assert "api-up" in out and "jobs-up" in out and "web-up" not in out
    follower = subprocess.Popen([PMCTL, "logs", "backend", "--follow", "--lines", "0"],
                                env=pmd.env, stdout=subprocess.PIPE, text=True)
    try:
        got = []

        def restarted_lines():
            # web's line never comes; api's does once the follower is in.
            pmd.ok("restart", "web")
            pmd.ok("restart", "api")
            while select.select([follower.stdout], [], [], 1.0)[0]:
                got.append(follower.stdout.readline())
                if got[-1] == "":
                    break
            return any("api-up" in line for line in got)
        wait_until(restarted_lines, timeout=30, what="api's line in the follower")
        assert not any("web-up" in line for line in got), got
    finally:
        follower.terminate()
        follower.wait(10)


def test_dash_h_runs_the_command_on_another_host(pmd, tmp_path):
    """pmctl -H [USER@]HOST CMD: the remote pmctl over ssh ($PMCTL_SSH),
    each word intact through the remote shell, its output and exit status
    as pmctl's. The ssh here runs the command on this host, as a real one
    would run it on HOST."""
    seen = tmp_path / "ssh-args"
    ssh = tmp_path / "ssh"
    ssh.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {seen}\n'
                   'while [ "$1" = -T ]; do shift; done\nshift; [ "$1" = -- ] && shift\n'
                   'exec sh -c "$*"\n')
    ssh.chmod(0o755)
    env = {"PMCTL_SSH": str(ssh),
           "PATH": os.path.dirname(PMCTL) + ":" + os.environ["PATH"]}
    pmd.start()
    r = pmd.ctl("-H", "ops@box", "start", "--name", "q", "--", "sh", "-c",
                "echo \"it's $((1+1))\"; exec sleep 1000", env=env)
    assert r.returncode == 0, r.stderr
    assert seen.read_text().splitlines()[:3] == ["-T", "ops@box", "--"]
    assert pmd.show("q")["config"]["command"] == "sh -c echo \"it's $((1+1))\"; exec sleep 1000"
    wait_until(lambda: "it's 2" in pmd.ok("logs", "q").stdout, what="the remote start's output")
    r = pmd.ctl("--json", "-H", "ops@box", "list", env=env)
    assert r.returncode == 0 and [w["name"] for w in json.loads(r.stdout)] == ["q"]
    r = pmd.ctl("-H", "ops@box", "stop", "nope", env=env)
    assert r.returncode == 1 and 'no app named "nope"' in r.stderr
    r = pmd.ctl("-H", env=env)
    assert r.returncode == 2 and "-H needs [USER@]HOST" in r.stderr
