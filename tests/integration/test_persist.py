"""Runs on boot and survives everything: reload-config and SIGHUP, save and
resurrect, a pmd killed with SIGKILL, the systemd protocol, make install."""
import json
import re
import os
import resource
import signal
import socket
import subprocess

import pytest

from conftest import PMCTL, PMD, ROOT, TESTSRV, free_port, log_lines, pid_alive, wait_until
from conftest import get_pid as get

QUICK = "min_uptime = 100ms\nkill_timeout = 2s\n"


def sleeper(name, n=1, extra=""):
    """An app whose workers print $V and then sleep."""
    return f"""
[app:{name}]
command = sh -c "echo v=$V; exec sleep 1000"
instances = {n}
{QUICK}{extra}"""


def pids(pmd, name):
    return [w["pid"] for w in pmd.workers(name)]


# --- reload-config and SIGHUP --------------------------------------------

def test_reload_config_applies_the_difference(pmd):
    conf = pmd.write_config(sleeper("same") + sleeper("changed", 2, "env.V = 1\n")
                            + sleeper("gone") + sleeper("grows"))
    pmd.start(args=["-c", conf])
    for name in ("same", "changed", "gone", "grows"):
        pmd.wait_status(name, "online")
    before = {n: pids(pmd, n) for n in ("same", "changed", "grows")}

    conf.write_text(sleeper("same") + sleeper("changed", 2, "env.V = 2\n")
                    + sleeper("grows", 2) + sleeper("new"))
    r = pmd.json("reload-config")
    assert r["added"] == ["new"] and r["removed"] == ["gone"]
    assert r["reloaded"] == ["changed"] and r["scaled"] == ["grows"]
    assert r["unchanged"] == ["same"]

    assert pids(pmd, "same") == before["same"]          # not touched
    assert pmd.workers("gone") == []                     # deleted
    assert pmd.wait_status("new", "online")
    grows = pids(pmd, "grows")
    assert len(grows) == 2 and grows[0] == before["grows"][0]
    changed = pmd.wait_status("changed", "online", count=2)
    assert not set(w["pid"] for w in changed) & set(before["changed"])
    assert "v=2" in log_lines(pmd.logs / "changed.out.log")[-1]
    assert pmd.show("changed")["env"]["V"] == "2"
    # Applying the same files again changes nothing.
    r = pmd.json("reload-config")
    assert sorted(r["unchanged"]) == ["changed", "grows", "new", "same"]


def test_a_bad_file_changes_nothing(pmd, tmp_path):
    conf = pmd.write_config("[daemon]\ninclude = apps/*.conf\n" + sleeper("a"))
    apps = tmp_path / "apps"
    apps.mkdir()
    (apps / "b.conf").write_text(sleeper("b"))
    pmd.start(args=["-c", conf])
    pmd.wait_status("b", "online")
    before = {n: pids(pmd, n) for n in ("a", "b")}

    conf.write_text(conf.read_text() + sleeper("c"))
    (apps / "b.conf").write_text(sleeper("b") + "max_restarts = lots\n")
    r = pmd.ctl("reload-config")
    assert r.returncode == 1
    assert f"{apps / 'b.conf'}:7: max_restarts:" in r.stderr and "nothing changed" in r.stderr
    assert {n: pids(pmd, n) for n in ("a", "b")} == before and pmd.workers("c") == []
    assert "max_restarts: expected" in pmd.stderr()

    # SIGHUP reads the same files: the error goes to the log.
    pmd.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: pmd.stderr().count("nothing changed") >= 2, what="the SIGHUP error")
    assert pmd.workers("c") == []

    (apps / "b.conf").write_text(sleeper("b"))
    pmd.proc.send_signal(signal.SIGHUP)
    assert pmd.wait_status("c", "online")
    assert pids(pmd, "b") == before["b"]


def test_reload_config_compares_values_not_how_they_are_written(pmd):
    conf = pmd.write_config("[app:w]\ncommand = sleep 1000\nmin_uptime = 1000\n"
                            "env.A = 1\nenv.B = 2\nkill_timeout = 5s\n")
    pmd.start(args=["-c", conf])
    pid = pmd.wait_status("w", "online")[0]["pid"]
    # The same values, written otherwise: in another order, 1s for 1000,
    # a comment, a default spelt out.
    conf.write_text("; rewritten\n[app:w]\nenv.B = 2\nkill_timeout = 5000\n"
                    "min_uptime = 1s\nenv.A = 1\ncommand = sleep 1000\n"
                    "max_restarts = 16\n")
    r = pmd.json("reload-config")
    assert r["unchanged"] == ["w"] and r["reloaded"] == []
    assert pmd.workers("w")[0]["pid"] == pid
    conf.write_text("[app:w]\ncommand = sleep 1000\nmin_uptime = 2s\n"
                    "env.A = 1\nenv.B = 2\n")
    assert pmd.json("reload-config")["reloaded"] == ["w"]


def test_reload_config_rereads_files_given_to_start(pmd, tmp_path):
    pmd.start()
    extra = tmp_path / "extra.conf"
    extra.write_text(sleeper("x", extra="env.V = 1\n"))
    pmd.ok("start", extra)
    pmd.wait_status("x", "online")
    pmd.ok("start", "--name", "adhoc", "--", "sleep", "1000")
    extra.write_text(sleeper("x", extra="env.V = 2\n"))
    r = pmd.json("reload-config")
    assert r["reloaded"] == ["x"]
    assert pmd.show("x")["env"]["V"] == "2"
    assert len(pmd.workers("adhoc")) == 1               # ad-hoc apps stay
    # A file that defines an ad-hoc app's name is refused, whole.
    extra.write_text(sleeper("x") + sleeper("adhoc"))
    r = pmd.ctl("reload-config")
    assert r.returncode == 1 and f"{extra}:" in r.stderr and "adhoc" in r.stderr
    # A file that is gone takes its apps with it.
    extra.unlink()
    assert pmd.json("reload-config")["removed"] == ["x"]
    assert pmd.workers("x") == []


def test_changed_listen_restarts_on_the_new_socket(pmd):
    old, new = free_port(), free_port()
    app = """
[app:web]
command = {srv}
listen = tcp://127.0.0.1:{port}
wait_ready = true
env.TESTSRV_READY = 1
"""
    conf = pmd.write_config(app.format(srv=TESTSRV, port=old))
    pmd.start(args=["-c", conf])
    pmd.wait_status("web", "online")
    assert get(old)
    conf.write_text(app.format(srv=TESTSRV, port=new))
    assert pmd.json("reload-config")["restarted"] == ["web"]
    w = pmd.wait_status("web", "online")
    assert get(new) == w[0]["pid"]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", old), timeout=5)


# --- systemd -------------------------------------------------------------

def test_sd_notify_ready_reloading_stopping(pmd, tmp_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(15)
    pmd.env["NOTIFY_SOCKET"] = str(tmp_path / "notify")
    conf = pmd.write_config(f"""
[app:a]
command = sh -c "echo ns=$NOTIFY_SOCKET; exec sleep 1000"
{QUICK}""")
    pmd.start(args=["-c", conf], wait=False)
    assert sock.recv(4096) == b"READY=1"
    # It came once the apps had started; workers do not get pmd's socket.
    assert pmd.workers("a")[0]["status"] == "online"
    wait_until(lambda: log_lines(pmd.logs / "a.out.log"), what="a's output")
    assert log_lines(pmd.logs / "a.out.log")[0].endswith("ns=")

    conf.write_text(conf.read_text() + sleeper("b"))
    pmd.proc.send_signal(signal.SIGHUP)
    msg = sock.recv(4096).decode()
    assert msg.startswith("RELOADING=1\nMONOTONIC_USEC=")
    assert sock.recv(4096) == b"READY=1"
    assert pmd.workers("b")[0]["status"] == "online"
    pmd.proc.send_signal(signal.SIGTERM)
    assert sock.recv(4096) == b"STOPPING=1"
    assert pmd.stop() == 0


def install(tmp_path, *args):
    r = subprocess.run(["make", "-s", "-C", ROOT, *args], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def test_install_into_destdir_keeps_configs(tmp_path):
    dest = tmp_path / "dest"
    (dest / "etc/pmd").mkdir(parents=True)
    (dest / "etc/pmd/pmd.conf").write_text("; mine\n")
    install(tmp_path, "install", f"DESTDIR={dest}", "PREFIX=/usr")
    for f in ("usr/bin/pmd", "usr/bin/pmctl"):
        assert os.access(dest / f, os.X_OK)
    for f in ("usr/share/man/man1/pmctl.1", "usr/share/man/man5/pmd.conf.5",
              "usr/share/man/man8/pmd.8", "etc/pmd/examples/example.conf",
              "etc/pmd/examples/worker.sh", "etc/pmd/examples/cluster.conf"):
        assert (dest / f).is_file(), f
    assert (dest / "etc/pmd/apps.d").is_dir()
    assert (dest / "etc/pmd/pmd.conf").read_text() == "; mine\n"   # not overwritten
    unit = (dest / "usr/lib/systemd/system/pmd.service").read_text()
    assert "ExecStart=/usr/bin/pmd --system --foreground --resurrect" in unit
    # The completion is valid bash, and completes commands (from the
    # installed pmctl's own table) and app names.
    comp = dest / "usr/share/bash-completion/completions/pmctl"
    path = f'PATH={dest}/usr/bin:$PATH'
    r = subprocess.run(["bash", "-c", f'{path}; . {comp}; COMP_WORDS=(pmctl re); COMP_CWORD=1; '
                        '_pmctl; echo "${COMPREPLY[@]}"'], capture_output=True, text=True)
    assert set(r.stdout.split()) == {"restart", "reload", "reset", "resurrect",
                                      "reload-config", "reopen-logs", "reloadLogs"}, r.stderr
    # Every command pmctl --help lists completes.
    r = subprocess.run(["bash", "-c", f'{path}; . {comp}; COMP_WORDS=(pmctl ""); COMP_CWORD=1; '
                        '_pmctl; echo "${COMPREPLY[@]}"'], capture_output=True, text=True)
    helped = re.findall(r"^  (\S+) ", subprocess.run([PMCTL, "--help"], capture_output=True,
                                                      text=True).stdout, re.M)
    assert "monit" in helped
    assert set(helped) <= set(r.stdout.split()), set(helped) - set(r.stdout.split())
    assert {"ls", "status", "info", "del", "rm"} <= set(r.stdout.split())     # aliases

    (dest / "etc/pmd/examples/cluster.conf").write_text("; edited\n")
    install(tmp_path, "uninstall", f"DESTDIR={dest}", "PREFIX=/usr")
    left = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert left == ["etc/pmd/examples/cluster.conf", "etc/pmd/pmd.conf"]


def test_installed_unit_verifies(tmp_path):
    prefix = tmp_path / "usr"
    install(tmp_path, "install", f"PREFIX={prefix}", f"SYSCONFDIR={tmp_path / 'etc'}")
    unit = prefix / "lib/systemd/system/pmd.service"
    text = unit.read_text()
    for line in ("Type=notify", "KillMode=mixed", "Restart=on-failure",
                 "ExecReload=/bin/kill -HUP $MAINPID", "RuntimeDirectory=pmd",
                 "StateDirectory=pmd", "LogsDirectory=pmd"):
        assert line in text.splitlines(), line
    assert "PIDFile" not in text
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "pmd.service" not in r.stderr, r.stderr


def test_completion_names_running_apps(pmd):
    pmd.start(sleeper("alpha") + sleeper("beta"))
    comp = os.path.join(ROOT, "completion", "pmctl.bash")
    bindir = os.path.dirname(PMD)
    r = subprocess.run(["bash", "-c", f'PATH={bindir}:$PATH; . {comp}; '
                        'COMP_WORDS=(pmctl stop ""); COMP_CWORD=2; _pmctl; echo "${COMPREPLY[@]}"'],
                       capture_output=True, text=True, env=pmd.env)
    assert set(r.stdout.split()) == {"all", "alpha", "beta"}, r.stderr


# --- save and resurrect --------------------------------------------------

def restart_pmd(pmd, conf, *args, kill=False):
    """Stop pmd (or SIGKILL it) and start a new one on the same home."""
    if kill:
        pmd.proc.kill()
        pmd.proc.wait()
        pmd.log.close()
        pmd.proc = None
    else:
        pmd.ok("kill")
        assert pmd.stop() == 0
    return pmd.start(args=["-c", conf, *args])


def state(pmd):
    return sorted((w["name"], w["instance"], w["status"]) for w in pmd.workers())


def test_save_and_resurrect_round_trip(pmd, tmp_path):
    conf = pmd.write_config(sleeper("web", 3) + sleeper("deleted") +
                            "env_prod.V = prod\n")
    pmd.start(args=["-c", conf])
    other = tmp_path / "other.conf"
    other.write_text(sleeper("other", extra="env_prod.V = other-prod\n"))
    pmd.ok("start", other, "--env", "prod")
    pmd.ok("start", "--name", "job", "-i", "2", "--", "sh", "-c",
           "echo client=$CLIENT_VAR; exec sleep 1000", env={"CLIENT_VAR": "from-client"})
    pmd.ok("stop", "web:1")
    pmd.ok("scale", "job", "3")
    pmd.ok("delete", "deleted")
    pmd.wait_status("other", "online")
    saved = state(pmd)
    r = pmd.ok("save")
    assert "saved 3 app(s)" in r.stdout
    dump = json.loads((pmd.home / "dump.json").read_text())
    assert sorted(a["name"] for a in dump["apps"]) == ["job", "other", "web"]

    restart_pmd(pmd, conf, "--resurrect")
    wait_until(lambda: state(pmd) == saved, what="the saved set back")
    assert pmd.show("other")["env"]["V"] == "other-prod"   # its profile
    wait_until(lambda: len(log_lines(pmd.logs / "job.out.log")) >= 6, what="job output")
    assert log_lines(pmd.logs / "job.out.log")[-1].endswith("client=from-client")

    # Without --resurrect, configured apps start; `pmctl resurrect` adds the rest.
    restart_pmd(pmd, conf)
    assert {w["name"] for w in pmd.workers()} == {"web", "deleted"}
    r = pmd.ok("resurrect")
    assert "resurrected: other, job" in r.stdout
    assert "skipped web: already running" in r.stdout
    assert len(pmd.workers("job")) == 3


def test_failed_save_keeps_the_previous_dump(pmd):
    limit = 64 * 1024
    conf = pmd.write_config(sleeper("a"))

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    pmd.start(args=["-c", conf], preexec=small_files)
    pmd.ok("save")
    dump = pmd.home / "dump.json"
    first = dump.read_text()
    # An app whose dump entry is bigger than the disk lets us write.
    pmd.ok("start", "--name", "big", "--", "sh", "-c", "exec sleep 1000", "x" * limit)
    r = pmd.ctl("save")
    assert r.returncode == 1
    assert "File too large" in r.stderr and f"{dump} is unchanged" in r.stderr
    assert dump.read_text() == first
    assert [p.name for p in pmd.home.iterdir() if ".tmp." in p.name] == []
    assert pmd.ctl("ping").returncode == 0 and len(pmd.workers("a")) == 1
    pmd.ok("delete", "big")
    pmd.ok("stop", "a")
    pmd.ok("save")
    assert json.loads(dump.read_text())["apps"][0]["stopped"] == [0]
    assert (pmd.home / "dump.json.bak").read_text() == first      # previous generation


def test_corrupt_dump_falls_back_then_starts_without(pmd):
    conf = pmd.write_config(sleeper("a") + sleeper("b"))
    pmd.start(args=["-c", conf])
    pmd.ok("stop", "b")
    pmd.ok("save")
    pmd.ok("save")            # dump.json.bak: the same set
    dump = pmd.home / "dump.json"
    # A crash of a writer that is not atomic would leave this.
    dump.write_text(dump.read_text()[:40])
    (pmd.home / "dump.json.tmp.12345").write_text('{"version": 1, "ap')
    restart_pmd(pmd, conf, "--resurrect")
    wait_until(lambda: pmd.workers("b") and pmd.workers("b")[0]["status"] == "stopped"
               and pmd.workers("a")[0]["status"] == "online", what="the set from dump.json.bak")
    assert f"{dump}:" in pmd.stderr() and "not valid JSON" in pmd.stderr()
    assert "using the previous generation" in pmd.stderr()

    (pmd.home / "dump.json.bak").write_text("[]")
    restart_pmd(pmd, conf, "--resurrect")
    assert pmd.wait_status("b", "online")                 # started as configured
    assert f"{dump}.bak: expected a JSON object" in pmd.stderr()
    r = pmd.ctl("resurrect")
    assert r.returncode == 1 and f"{dump}:" in r.stderr and "not valid JSON" in r.stderr


def test_bad_dump_entries_are_named(pmd):
    """Each bad entry is skipped and named by its field; the good ones
    beside it are restored."""
    conf = pmd.write_config(sleeper("a"))
    pmd.start(args=["-c", conf])
    dump = pmd.home / "dump.json"
    good = {"name": "good", "instances": 1, "command": ["sleep", "1000"], "cwd": "/"}
    bad = [({"name": "../x", "instances": 1, "file": str(conf)}, "apps[0].name"),
           ({"name": "x", "instances": 0, "file": str(conf)}, "apps[1].instances"),
           ({"name": "x", "instances": 2.5, "file": str(conf)}, "apps[2].instances"),
           ({"name": "x", "instances": 1, "command": "ls", "cwd": "/"}, "apps[3].command"),
           ({"name": "x", "instances": 1, "command": ["ls"], "cwd": "rel"}, "apps[4].cwd"),
           ({"name": "x", "instances": 1, "command": ["ls"], "cwd": "/",
             "watch": "yes"}, "apps[5].watch"),
           ({"name": "x", "instances": 1}, "apps[6].file"),
           ({"name": "x", "instances": 1, "command": ["ls"], "cwd": "/", "env": [1]},
            "apps[7].env"),
           ({"name": "x", "instances": 1, "file": str(conf), "owner": "root"}, "apps[8].owner"),
           ("junk", "apps[9]: expected an object")]
    dump.write_text(json.dumps({"version": 1, "apps": [e for e, _ in bad] + [good]}))
    r = pmd.ok("resurrect")
    for _, field in bad:
        assert field in r.stdout, r.stdout
        assert field in pmd.stderr()
    assert "resurrected: good" in r.stdout
    assert pmd.wait_status("good", "online")
    assert pmd.ctl("ping").returncode == 0


# --- pmd killed with SIGKILL ---------------------------------------------

def test_sigkill_of_pmd_leaves_no_worker_behind(pmd):
    port = free_port()
    conf = pmd.write_config(f"""
[app:web]
command = {TESTSRV}
listen = tcp://127.0.0.1:{port}
wait_ready = true
env.TESTSRV_READY = 1

[app:family]
command = sh -c "sleep 1000 & exec sleep 1001"
""")
    pmd.start(args=["-c", conf])
    old_web = pmd.wait_status("web", "online")[0]["pid"]
    pmd.wait_status("family", "online")
    pmd.ok("save")
    old = [int(p) for p in subprocess.run(
        ["pgrep", "-g", str(pmd.workers("family")[0]["pid"])],
        capture_output=True, text=True).stdout.split()] + [old_web]
    assert len(old) == 3

    restart_pmd(pmd, conf, "--resurrect", kill=True)
    # The workers of the dead pmd are gone before the new one binds.
    assert not [p for p in old if pid_alive(p)]
    assert "left by a pmd that did not stop its workers" in pmd.stderr()
    new_web = pmd.wait_status("web", "online")[0]["pid"]
    assert get(port) == new_web != old_web
    assert pmd.wait_status("family", "online")


def test_every_key_is_an_option_of_an_adhoc_start(pmd, tmp_path):
    """pmctl start --KEY VALUE / --KEY / --no-KEY for any app key, with
    dashes or underscores; they are shown, saved and resurrected."""
    conf = pmd.write_config("")
    pmd.start(args=["-c", conf])
    port = free_port()
    pmd.ok("start", "--name", "web", "-i", "2", "--max-memory-restart", "300M",
           "--no-autorestart", "--min_uptime", "2s", "--kill-signal", "SIGINT",
           "--cron-restart", "0 3 * * *", "--listen", f"tcp://127.0.0.1:{port}",
           "--log-date-format", "none", "--wait-ready", "false", "--",
           TESTSRV, cwd=tmp_path)
    want = {"max_memory_restart": "300M", "autorestart": "false", "min_uptime": "2s",
            "kill_signal": "SIGINT", "cron_restart": "0 3 * * *",
            "listen": f"tcp://127.0.0.1:{port}", "log_date_format": "none",
            "wait_ready": "false", "instances": "2"}
    config = pmd.show("web")["config"]
    assert {k: config[k] for k in want} == want
    pmd.wait_status("web", "online", count=2)
    assert get(port)                       # the ad-hoc listen serves
    pmd.ok("save")
    restart_pmd(pmd, conf, "--resurrect")
    config = pmd.show("web")["config"]
    assert {k: config[k] for k in want} == want
    # Bad ones: a value pmd refuses (exit 1, naming the key), an unknown
    # option, --no- of a key that is not true/false, options with a name.
    r = pmd.ctl("start", "--min-uptime", "soon", "--", "sleep", "1")
    assert r.returncode == 1 and "keys.min_uptime: expected a duration" in r.stderr
    r = pmd.ctl("start", "--max-memory-restrat", "1G", "--", "sleep", "1")
    assert r.returncode == 2 and ("unknown option --max-memory-restrat (did you mean "
                                  "--max_memory_restart?)") in r.stderr
    r = pmd.ctl("start", "--no-min-uptime", "--", "sleep", "1")
    assert r.returncode == 2 and "--no- goes with a true/false key" in r.stderr
    r = pmd.ctl("start", "web", "--min-uptime", "1s")
    assert r.returncode == 2 and "go with -- COMMAND" in r.stderr
    # A request with a key pmd does not take for an ad-hoc app.
    r = pmd.request(json.dumps({"v": 1, "cmd": "start", "command": ["true"], "cwd": "/",
                                "keys": {"cwd": "/tmp"}}).encode() + b"\n", count=1)
    assert r[0]["error"]["message"] == "keys.cwd: not a key an ad-hoc app takes"


def test_json_may_stand_anywhere(pmd):
    pmd.start(sleeper("a"))
    pmd.wait_status("a", "online")
    rows = json.loads(pmd.ok("list", "--json").stdout)
    assert [r["name"] for r in rows] == ["a"]
    assert json.loads(pmd.ok("show", "a", "--json").stdout)["app"]["name"] == "a"


def test_completion_has_every_key_option_and_help_every_alias(pmd, tmp_path):
    """start --KEY options complete from pmctl's own table; --help names
    each command's aliases and pmctl's own words; a far word gets no
    suggestion."""
    comp = os.path.join(ROOT, "completion", "pmctl.bash")
    bindir = os.path.dirname(PMD)
    r = subprocess.run(["bash", "-c", f'PATH={bindir}:$PATH; . {comp}; '
                        'COMP_WORDS=(pmctl start --max_re); COMP_CWORD=2; _pmctl; '
                        'echo "${COMPREPLY[@]}"'], capture_output=True, text=True, env=pmd.env)
    assert set(r.stdout.split()) == {"--max_restarts"}, r.stderr
    keys = subprocess.run([PMCTL, "commands", "keys"], capture_output=True, text=True).stdout
    assert "--kill_timeout\n" in keys and "--listen\n" in keys
    text = subprocess.run([PMCTL, "--help"], capture_output=True, text=True).stdout
    assert "(also: ls l ps status)" in text and re.search(r"^  commands ", text, re.M)
    for word, close in (("report", None), ("serve", None), ("strat", "start")):
        r = subprocess.run([PMCTL, word], capture_output=True, text=True, env=pmd.env)
        assert r.returncode == 2
        if close is None:
            assert "did you mean" not in r.stderr, r.stderr
        else:
            assert f'did you mean "{close}"?' in r.stderr


def test_worker_ids_as_pm2_has_them(pmd, tmp_path):
    """Every worker has a numeric id, unique across apps and kept across
    restarts, reloads and save/resurrect; every command that takes an app
    takes an id; an app name of digits alone is refused."""
    conf = pmd.write_config(sleeper("alpha", 2) + sleeper("beta"))
    pmd.start(args=["-c", conf])
    pmd.wait_status("alpha", "online", count=2)
    ids = {(w["name"], w["instance"]): w["id"] for w in pmd.workers()}
    assert sorted(ids.values()) == [1, 2, 3]
    beta = ids[("beta", 0)]
    pmd.ok("stop", str(beta))
    assert pmd.workers("beta")[0]["status"] == "stopped"
    assert pmd.workers("alpha")[0]["status"] == "online"
    pmd.ok("restart", str(beta))
    pmd.ok("reload", "alpha")
    pmd.ok("restart", str(ids[("alpha", 1)]))
    assert {(w["name"], w["instance"]): w["id"] for w in pmd.workers()} == ids
    assert pmd.json("show", str(beta))["app"]["name"] == "beta"
    assert pmd.ok("logs", str(beta), "--lines", "1").returncode == 0
    assert "ID  INST" in pmd.ok("list").stdout
    r = pmd.ctl("stop", "999")
    assert r.returncode == 1 and "no worker with id 999" in r.stderr
    r = pmd.ctl("start", "--name", "123", "--", "sleep", "1")
    assert r.returncode == 1 and 'invalid app name "123"' in r.stderr
    # A new app's ids come after the others; save and resurrect keep all.
    pmd.ok("start", "--name", "gamma", "--", "sleep", "1000")
    gamma = pmd.workers("gamma")[0]["id"]
    assert gamma == 4
    ids[("gamma", 0)] = gamma
    pmd.ok("save")
    restart_pmd(pmd, conf, "--resurrect")
    wait_until(lambda: len([w for w in pmd.workers() if w["status"] == "online"]) == 4,
               what="all back")
    assert {(w["name"], w["instance"]): w["id"] for w in pmd.workers()} == ids
