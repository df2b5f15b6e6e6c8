"""Bad input of every kind gets a precise error, and pmd goes on."""
import json
import os
import shutil
import tempfile
import socket
import subprocess

import pytest

from conftest import PMCTL, PMD, wait_until

# Each bad config, and the message pmd must print (after "pmd: FILE:").
BAD_CONFIGS = [
    ("[app:api]\ncommand = x\ninstances = lots\n",
     '3: instances: expected a number from 1 to 4096, "max" or -N, got "lots"'),
    ("[app:api]\ncommand = x\ninstance = 2\n",
     '3: instance: unknown key in [app:NAME] (did you mean "instances"?)'),
    ("[app:api]\ncommand = x\nmax_restart = 2\n",
     '3: max_restart: unknown key in [app:NAME] (did you mean "max_restarts"?)'),
    ("[app:api]\ncommand = x\nflavour = mint\n",
     "3: flavour: unknown key in [app:NAME]"),
    ("[app:api]\ninstances = 2\n",
     "1: [app:api]: command: required key missing"),
    ("[app:api]\ncommand = node 'server.js\n",
     "2: command: unterminated ' quote"),
    ("[app:../etc]\ncommand = x\n",
     '1: [app:../etc]: invalid app name "../etc": use 1 to 64 of A-Z a-z 0-9 . _ - (not "all", not all digits: those are worker ids)'),
    ("[app:123]\ncommand = x\n",
     '1: [app:123]: invalid app name "123": use 1 to 64 of A-Z a-z 0-9 . _ - (not "all", not all digits: those are worker ids)'),
    ("[app:all]\ncommand = x\n",
     '1: [app:all]: invalid app name "all": use 1 to 64 of A-Z a-z 0-9 . _ - (not "all", not all digits: those are worker ids)'),
    ("[server]\nport = 1\n",
     "1: unknown section [server]: expected [daemon] or [app:NAME]"),
    ("command = x\n",
     "1: command: key outside a section: start with [daemon] or [app:NAME]"),
    ("[app:api]\ncommand = x\njust some words\n",
     "3: syntax error: expected [section], key = value, or a comment"),
    ("[app:api]\ncommand = x\nmin_uptime = a while\n",
     '3: min_uptime: expected a duration like 500ms, 5s, 2m or 1h (a bare number is milliseconds), got "a while"'),
    ("[app:api]\ncommand = x\nkill_timeout = -5s\n",
     '3: kill_timeout: expected a duration like 500ms, 5s, 2m or 1h (a bare number is milliseconds), got "-5s"'),
    ("[app:api]\ncommand = x\nautorestart = perhaps\n",
     '3: autorestart: expected true or false (or yes/no, on/off, 1/0), got "perhaps"'),
    ("[app:api]\ncommand = x\nkill_signal = SIGBANANA\n",
     '3: kill_signal: expected a signal name like SIGTERM or a number from 1 to 64, got "SIGBANANA"'),
    ("[app:api]\ncommand = x\nstop_exit_codes = 0,999\n",
     '3: stop_exit_codes: exit codes are numbers from 0 to 255 separated by commas, got "999"'),
    ("[app:api]\ncommand = x\nenv.MY-VAR = 1\n",
     '3: env.MY-VAR: invalid environment variable name "MY-VAR"'),
    ("[app:api]\ncommand = x\ncommand = y\n",
     "3: command: set twice in [app:api]"),
    ("[app:api]\ncommand = x\nlisten = http://127.0.0.1:80\n",
     '3: listen: "http://127.0.0.1:80": expected tcp://HOST:PORT, tcp://[IPV6]:PORT or unix:/PATH'),
    ("[app:api]\ncommand = x\nlisten = tcp://127.0.0.1:8080, tcp://127.0.0.1:99999\n",
     '3: listen: "tcp://127.0.0.1:99999": expected tcp://HOST:PORT with a port from 0 to 65535'),
    ("[app:api]\ncommand = x\nlisten = tcp://localhost:8080\n",
     '3: listen: "tcp://localhost:8080": the host must be an IPv4 or IPv6 address (Name or service not known)'),
    ("[app:api]\ncommand = x\nlisten = unix:api.sock\n",
     '3: listen: "unix:api.sock": the path after unix: must be absolute'),
    ("[app:api]\ncommand = x\nlisten_mode = 0999\n",
     '3: listen_mode: expected an octal mode such as 0660, got "0999"'),
    ("[app:api]\ncommand = x\nwait_ready = soon\n",
     '3: wait_ready: expected true or false (or yes/no, on/off, 1/0), got "soon"'),
    ("[daemon]\nsockt = /tmp/s\n",
     '2: sockt: unknown key in [daemon] (did you mean "socket"?)'),
    ("[app:api]\ncommand = x\nmax_memory_restart = 100\n",
     '3: max_memory_restart: expected 0 (no limit) or at least 1M, got "100"'),
    ("[app:api]\ncommand = x\nmemory_check_interval = 10ms\n",
     '3: memory_check_interval: expected at least 100ms, got "10ms"'),
    ("[app:api]\ncommand = x\ncron_restart = 0 25 * * *\n",
     '3: cron_restart: hour: "25": out of range 0-23'),
    ("[app:api]\ncommand = x\ncron_restart = 0 0 31 2 *\n",
     '3: cron_restart: "0 0 31 2 *" never happens'),
    ("[app:api]\ncommand = x\nwatch = sometimes\n",
     '3: watch: expected true or false (or yes/no, on/off, 1/0), got "sometimes"'),
    ("[app:api]\ncommand = x\nwatch_paths = src,,lib\n",
     '3: watch_paths: item 2 is empty; expected a comma-separated list'),
    ("[app:api]\ncommand = x\nignore_watch = *.log,\n",
     '3: ignore_watch: item 2 is empty; expected a comma-separated list'),
    ("[app:api]\ncommand = x\nwatch_delay = soon\n",
     '3: watch_delay: expected a duration like 500ms, 5s, 2m or 1h (a bare number is milliseconds), got "soon"'),
    ("[app:api]\ncommand = x\nwatchpaths = src\n",
     '3: watchpaths: unknown key in [app:NAME] (did you mean "watch_paths"?)'),
    ("[daemon]\ndump_file =\n",
     '2: dump_file: expected a path'),
    ("[daemon]\ndumpfile = /tmp/d\n",
     '2: dumpfile: unknown key in [daemon] (did you mean "dump_file"?)'),
    ("[daemon]\nlog_dir = /tmp\n[daemon]\nsocket = /tmp/s\n",
     "3: [daemon] appears twice (first at line 1): keep one"),
    ("[app:a] junk\ncommand = x\n",
     '1: [app:a]: text after the section header: "junk"'),
    ("[app:a] ; a comment is fine\ncommand = x\nmax_restarts = many\n",
     '3: max_restarts: expected a whole number from 0 to 1000000, got "many"'),
    ("[app:a]\ncommand = sleep 1\0; more\n",
     "2: the line holds a NUL byte"),
    ("[daemon]\nlog_dir = /etc/hostname\n",
     "2: log_dir: /etc/hostname exists and is not a directory"),
    ("[daemon]\ncontainer_format = xml\n",
     '2: container_format: expected text or json, got "xml"'),
    ("[daemon]\nexit_when_failed = maybe\n",
     '2: exit_when_failed: expected true or false (or yes/no, on/off, 1/0), got "maybe"'),
    ("[daemon]\nmax_clients = 0\n",
     "2: max_clients: expected at least 1"),
    ("[daemon]\nclient_idle_timeout = never\n",
     '2: client_idle_timeout: expected a duration like 500ms, 5s, 2m or 1h (a bare number is milliseconds), got "never"'),
    ("[app:api]\ncommand = x\nuser = no-such-user-xyz\n",
     '3: user: no such user "no-such-user-xyz"' if os.geteuid() == 0 else
     "3: user: only allowed when pmd runs as root"),
]


@pytest.mark.parametrize("text,message", BAD_CONFIGS, ids=[m.split(":")[1].strip() + str(i)
                                                           for i, (_, m) in enumerate(BAD_CONFIGS)])
def test_bad_config_exits_78_with_a_precise_message(tmp_path, text, message):
    conf = tmp_path / "pmd.conf"
    conf.write_text(text)
    env = dict(os.environ, PMD_HOME=str(tmp_path / "home"))
    r = subprocess.run([PMD, "-c", str(conf)], env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 78
    assert r.stderr == f"pmd: {conf}:{message}\n"
    # Nothing was started and no socket left behind.
    assert not (tmp_path / "home" / "pmd.sock").exists()


def test_duplicate_app_across_included_files(tmp_path):
    (tmp_path / "apps.d").mkdir()
    (tmp_path / "apps.d" / "a.conf").write_text("[app:api]\ncommand = x\n")
    (tmp_path / "apps.d" / "b.conf").write_text("\n[app:api]\ncommand = y\n")
    conf = tmp_path / "pmd.conf"
    conf.write_text("[daemon]\ninclude = apps.d/*.conf\n")
    r = subprocess.run([PMD, "-c", str(conf)], env=dict(os.environ, PMD_HOME=str(tmp_path / "h")),
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 78
    assert r.stderr == (f"pmd: {tmp_path}/apps.d/b.conf:2: [app:api]: app \"api\" is already "
                        f"defined at {tmp_path}/apps.d/a.conf:1\n")


def run_pmd(tmp_path, conf):
    return subprocess.run([PMD, "-c", str(conf)], capture_output=True, text=True,
                          env=dict(os.environ, PMD_HOME=str(tmp_path / "h")), timeout=30)


def test_includes_that_cannot_be_read(tmp_path):
    """A literal include that does not exist, or that is a directory, is an
    error naming the line; a pattern that matches nothing is not."""
    (tmp_path / "apps.d").mkdir()
    conf = tmp_path / "pmd.conf"
    for line, message in ((f"include = {tmp_path}/apps.d",
                           f"2: include: {tmp_path}/apps.d is a directory (include "
                           f"{tmp_path}/apps.d/*.conf for its files)"),
                          ("include = nope.conf", f"2: include: {tmp_path}/nope.conf: no such file")):
        conf.write_text(f"[daemon]\n{line}\n")
        r = run_pmd(tmp_path, conf)
        assert r.returncode == 78 and r.stderr == f"pmd: {conf}:{message}\n", r.stderr
    os.mkfifo(tmp_path / "apps.d" / "fifo.conf")
    conf.write_text("[daemon]\ninclude = apps.d/*.conf\n")
    r = run_pmd(tmp_path, conf)
    assert r.returncode == 78
    assert r.stderr == f"pmd: {tmp_path}/apps.d/fifo.conf: not a regular file (a FIFO)\n"
    os.unlink(tmp_path / "apps.d" / "fifo.conf")
    conf.write_text("[daemon]\ninclude = apps.d/*.conf\nmax_clients = x\n")
    r = run_pmd(tmp_path, conf)       # the empty glob passes; the next line is read
    assert r.returncode == 78 and ":3: max_clients:" in r.stderr


def test_a_byte_order_mark_is_fine(pmd):
    conf = pmd.write_config("")
    conf.write_bytes(b"\xef\xbb\xbf[app:bom]\ncommand = sleep 1000\n")
    pmd.start(args=["-c", conf])
    pmd.wait_status("bom", "online")


def test_missing_config_file(tmp_path):
    r = subprocess.run([PMD, "-c", str(tmp_path / "nope.conf")], capture_output=True, text=True,
                       env=dict(os.environ, PMD_HOME=str(tmp_path / "h")), timeout=30)
    assert r.returncode == 78
    assert r.stderr == f"pmd: {tmp_path}/nope.conf: No such file or directory\n"


def test_bad_pmd_usage(tmp_path):
    r = subprocess.run([PMD, "--frobnicate"], capture_output=True, text=True,
                       env=dict(os.environ, PMD_HOME=str(tmp_path / "h")), timeout=30)
    assert r.returncode == 2 and "usage: pmd" in r.stderr


def test_bad_control_requests_get_errors_and_pmd_goes_on(pmd):
    pmd.start("[app:api]\ncommand = sleep 1000\n")
    pmd.wait_status("api", "online")
    cases = [
        (b"this is not json\n", "EPROTO"),
        (b"[1,2,3]\n", "EPROTO"),
        (b'{"cmd":"list"}\n', "EVERSION"),
        (b'{"v":99,"cmd":"list"}\n', "EVERSION"),
        (b'{"v":1}\n', "EPROTO"),
        (b'{"v":1,"cmd":"explode"}\n', "ENOCMD"),
    ]
    for raw, code in cases:
        replies = pmd.request(raw)
        # One error reply, then the daemon closes the connection.
        assert len(replies) == 1 and replies[0]["ok"] is False, raw
        assert replies[0]["error"]["code"] == code, (raw, replies)
        assert replies[0]["error"]["message"]
    # A request over 1 MiB.
    replies = pmd.request(b'{"v":1,"cmd":"list","pad":"' + b"x" * (1024 * 1024 + 10))
    assert replies[0]["error"]["code"] == "ETOOBIG"
    # Well-formed but wrong fields: an error, and the connection stays usable.
    replies = pmd.request(b'{"v":1,"cmd":"stop"}\n{"v":1,"cmd":"stop","target":"nope"}\n'
                          b'{"v":1,"cmd":"scale","name":"api","instances":"many"}\n'
                          b'{"v":1,"cmd":"start","command":[1,2]}\n'
                          b'{"v":1,"cmd":"stop","target":"api:7"}\n'
                          b'{"v":1,"cmd":"ping"}\n', read=False) or None
    s = socket.socket(socket.AF_UNIX)
    s.connect(pmd.socket)
    s.sendall(b'{"v":1,"cmd":"stop"}\n{"v":1,"cmd":"stop","target":"nope"}\n'
              b'{"v":1,"cmd":"scale","name":"api","instances":"many"}\n'
              b'{"v":1,"cmd":"start","command":[1,2]}\n'
              b'{"v":1,"cmd":"stop","target":"api:7"}\n'
              b'{"v":1,"cmd":"ping"}\n')
    f = s.makefile("rb")
    got = [json.loads(f.readline()) for _ in range(6)]
    s.close()
    assert [r.get("error", {}).get("code") for r in got] == \
        ["EARGS", "ENOAPP", "EARGS", "EARGS", "ENOAPP", None]
    assert got[1]["error"]["message"] == 'no app named "nope"'
    assert got[4]["error"]["message"] == 'app "api" has no instance 7 (it has 1)'
    assert got[5]["ok"] is True
    # The daemon is still there, and the app untouched.
    assert pmd.workers("api")[0]["status"] == "online"


def test_client_that_never_reads_is_dropped(pmd):
    pmd.start("[app:api]\ncommand = sleep 1000\ninstances = 4\n")
    pmd.wait_status("api", "online", count=4)
    s = socket.socket(socket.AF_UNIX)
    s.connect(pmd.socket)
    s.settimeout(30)
    # Ask for the list over and over and never read a reply: pmd stops
    # reading from it once its replies back up, and drops it when it has
    # read nothing for the stall time.
    chunk = b'{"v":1,"cmd":"list"}\n' * 2000
    dropped = False
    try:
        for _ in range(500):
            s.sendall(chunk)
    except (BrokenPipeError, ConnectionResetError):
        dropped = True
    s.close()
    assert dropped, "pmd kept a client that does not read"
    assert "stopped reading; dropped" in pmd.stderr()
    pmd.ok("ping")


def test_pmctl_usage_errors_exit_2(pmd):
    pmd.start()
    for args, msg in [((), "usage: pmctl"),
                      (("frobnicate",), 'unknown command "frobnicate"'),
                      (("stpo", "api"), 'did you mean "stop"?'),
                      (("stop",), "usage: pmctl stop"),
                      (("scale", "api", "zero"), 'scale: expected N (1 to 4096), +N, -N or max, got "zero"'),
                      (("start", "--name"), "--name needs a value"),
                      (("start", "--name", "x", "api"), "--name, -i and the keys as options go with -- COMMAND"),
                      (("start", "a", "b"), "one app or file at a time"),
                      (("start", "x.conf", "--", "sleep"), "either FILE.conf or -- COMMAND"),
                      (("list", "extra"), "usage: pmctl list [--sort "),
                      (("--bogus", "list"), "unknown option --bogus")]:
        r = pmd.ctl(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert msg in r.stderr, (args, r.stderr)


def test_pmctl_exit_codes(pmd, tmp_path):
    pmd.start("[app:api]\ncommand = sleep 1000\n")
    assert pmd.ctl("stop", "nope").returncode == 1
    r = pmd.ctl("start", "apj")
    assert r.returncode == 1 and r.stderr == 'pmctl: no app named "apj" (did you mean "api"?)\n'
    r = pmd.ctl("--json", "show", "nope")
    assert r.returncode == 1 and json.loads(r.stdout)["error"]["code"] == "ENOAPP"
    r = pmd.ctl("-s", str(tmp_path / "no.sock"), "list")
    assert r.returncode == 3 and "no pmd answers" in r.stderr
    # Not our daemon's protocol: a server that answers garbage.
    srv = socket.socket(socket.AF_UNIX)
    path = str(tmp_path / "fake.sock")
    srv.bind(path)
    srv.listen(1)
    p = subprocess.Popen([__import__("conftest").PMCTL, "-s", path, "list"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    conn, _ = srv.accept()
    conn.recv(4096)
    conn.sendall(b"HTTP/1.0 400 nope\n")
    conn.close()
    out, err = p.communicate(timeout=10)
    assert p.returncode == 3 and "protocol error" in err


def test_start_file_with_a_bad_config_changes_nothing(pmd, tmp_path):
    pmd.start("[app:api]\ncommand = sleep 1000\n")
    pmd.wait_status("api", "online")
    bad = tmp_path / "more.conf"
    bad.write_text("[app:web]\ncommand = sleep 1000\ninstances = many\n")
    r = pmd.ctl("start", bad)
    assert r.returncode == 1
    assert r.stderr == (f'pmctl: {bad}:3: instances: expected a number from 1 to 4096, '
                        f'"max" or -N, got "many"\n')
    assert [w["name"] for w in pmd.workers()] == ["api"]
    clash = tmp_path / "clash.conf"
    clash.write_text("[app:api]\ncommand = sleep 1\n")
    r = pmd.ctl("start", clash)
    assert r.returncode == 1 and 'app "api" already exists' in r.stderr
    good = tmp_path / "good.conf"
    good.write_text("[app:web]\ncommand = sleep 1000\ninstances = 2\n")
    pmd.ok("start", good)
    pmd.wait_status("web", "online", count=2)
    # Once deleted, the name is free: the clashing file's app takes it,
    # and an edited file gives the new definition.
    pmd.ok("delete", "api")
    pmd.ok("start", clash)
    assert pmd.show("api")["config"]["command"] == "sleep 1"
    pmd.ok("delete", "web")
    good.write_text("[app:web]\ncommand = sleep 1000\ninstances = 3\n")
    pmd.ok("start", good)
    pmd.wait_status("web", "online", count=3)


def test_peer_of_another_uid_is_refused(pmd):
    if os.geteuid() != 0:
        pytest.skip("needs root to act as another user")
    # A socket nobody can reach (0755 dir, socket opened up to 0666), so that
    # only pmd's SO_PEERCRED check stands in the way.
    sockdir = tempfile.mkdtemp(prefix="pmd-peer-", dir="/tmp")
    try:
        os.chmod(sockdir, 0o755)
        sock = os.path.join(sockdir, "pmd.sock")
        pmd.socket = sock
        pmd.env["PMD_SOCKET"] = sock
        pmd.start(f"[daemon]\nsocket = {sock}\n")
        os.chmod(sock, 0o666)
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            __import__("conftest").PMCTL, "-s", sock, "list"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 1, r
        assert r.stderr == "pmctl: uid 65534 may not use this pmd\n"
        assert "refused uid 65534" in pmd.stderr()
        pmd.ok("ping")
        pmd.stop()
    finally:
        shutil.rmtree(sockdir, ignore_errors=True)


def test_pmd_t_checks_a_config_and_starts_nothing(tmp_path):
    """pmd -t, as nginx -t: the config and its includes checked, exit 0 or
    78 with file:line; nothing bound or created. A glob include whose
    directory does not exist matches nothing, as pmd.conf(5) says."""
    home = tmp_path / "home"
    env = dict(os.environ, PMD_HOME=str(home))
    conf = tmp_path / "pmd.conf"
    conf.write_text(f"[daemon]\ninclude = {tmp_path}/nowhere/*.conf\n"
                    "[app:a]\ncommand = sleep 1000\n")
    r = subprocess.run([PMD, "-t", "-c", str(conf)], capture_output=True, text=True,
                       timeout=30, env=env)
    assert (r.returncode, r.stdout) == (0, f"pmd: {conf}: the configuration is valid (1 app)\n")
    assert not home.exists()
    # The same config runs (the glob matches nothing at start either).
    d = subprocess.run([PMD, "-t", "--config", str(conf)], capture_output=True, text=True,
                       timeout=30, env=env)
    assert d.returncode == 0
    conf.write_text("[app:a]\ncommand = sleep 1000\nrestrat_delay = 1s\n")
    r = subprocess.run([PMD, "-t", "-c", str(conf)], capture_output=True, text=True,
                       timeout=30, env=env)
    assert r.returncode == 78 and f"{conf}:3: " in r.stderr and r.stdout == ""
    # The control socket is a unix socket: a URL is an error, not a path.
    conf.write_text("[daemon]\nsocket = tcp://127.0.0.1:22700\n")
    r = subprocess.run([PMD, "-t", "-c", str(conf)], capture_output=True, text=True,
                       timeout=30, env=env, cwd=tmp_path)
    assert r.returncode == 78
    assert (f"{conf}:2: socket: expected a path or unix:PATH (the control socket is a unix "
            'socket), got "tcp://127.0.0.1:22700"') in r.stderr
    assert not (tmp_path / "tcp:").exists()
    conf.write_text(f"[daemon]\nsocket = unix:{tmp_path}/s.sock\n")
    r = subprocess.run([PMD, "-t", "-c", str(conf)], capture_output=True, text=True,
                       timeout=30, env=env)
    assert r.returncode == 0, r.stderr


def test_monit_ends_with_its_input(pmd):
    pmd.start("[app:a]\ncommand = sleep 1000\n")
    pmd.wait_status("a", "online")
    r = subprocess.run([PMCTL, "monit"], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=20, env=pmd.env)
    assert r.returncode == 0 and "NAME" in r.stdout and r.stdout.count("--- ") == 1
