"""Hostile and careless clients cannot hurt pmd or the other clients.

Each test here failed on the pmd before it: a request that read past a
buffer, a group member who ran commands as root, replies that were not
UTF-8, fields of the wrong type that widened a command, idle clients that
used up the fds, pipelining clients that starved supervision, a FIFO that
blocked the loop, racing autostarts and a doubled SIGTERM.
"""
import grp
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import (PMCTL, PMD, Daemon, churning, log_lines, marked_pids, pid_alive,
                      wait_until)

SLEEPER = "[app:api]\ncommand = sleep 1000\n"


def raw(pmd, data, count=1):
    """Send data on a fresh connection; the first count reply lines, as bytes."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(pmd.socket)
    s.sendall(data)
    got = b""
    while got.count(b"\n") < count:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    return got.splitlines()


def error_of(line):
    reply = json.loads(line.decode("utf-8"))   # strict: must be UTF-8
    assert reply["ok"] is False, reply
    return reply["error"]


# --- 1. a NUL byte in a request line -------------------------------------

def test_a_nul_byte_in_a_request_is_refused(pmd):
    pmd.start(SLEEPER)
    lines = raw(pmd, b'{"v":1,"cmd":"ping","x":"a\x00b"}\n')
    err = error_of(lines[0])
    assert err == {"code": "EPROTO", "message": "request contains a NUL byte"}
    pmd.ok("ping")


# --- 3. replies are valid UTF-8 ------------------------------------------

def test_replies_are_utf8_whatever_the_request_holds(pmd):
    pmd.start(SLEEPER)
    for req in (b'{"v":1,"cmd":"show","name":"\xff\xfe"}\n',
                b'{"v":1,"cmd":"stop","target":"ab\xc3"}\n',
                b'{"v":1,"cmd":"\xed\xa0\x80"}\n'):
        err = error_of(raw(pmd, req)[0])
        assert "\ufffd" in err["message"], err
    # A worker's own bytes, in logs and show, are made valid too.
    pmd.ok("start", "--name", "bin", "--", "sh", "-c",
           "printf 'caf\\351 \\377\\n'; printf 'oops \\376\\n' >&2; exec sleep 1000")
    wait_until(lambda: "\ufffd" in json.dumps(pmd.json("logs", "bin"), ensure_ascii=False),
               what="the log line")
    reply = raw(pmd, b'{"v":1,"cmd":"logs","name":"bin"}\n')[0]
    lines = [l.split(" ", 1)[1] for f in json.loads(reply.decode("utf-8"))["logs"]
             for l in f["lines"]]
    assert "caf\ufffd \ufffd" in lines and "oops \ufffd" in lines
    pmd.wait_status("bin", "online")


# --- 4. one follow per connection -----------------------------------------

def test_a_second_follow_on_a_connection_is_an_error(pmd):
    pmd.start(SLEEPER)
    req = b'{"v":1,"cmd":"logs","follow":true}\n'
    lines = raw(pmd, req + b'{"v":1,"cmd":"logs","name":"api","follow":true}\n', count=2)
    assert json.loads(lines[0])["ok"] is True
    assert error_of(lines[1])["message"] == ("this connection follows logs and takes no "
                                             "more requests; open another")
    # The first follow still streams; pmd's exit (under LeakSanitizer) shows
    # that nothing of the second was kept.
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(pmd.socket)
    s.sendall(req + b'{"v":1,"cmd":"ping"}\n')
    f = s.makefile("rb")
    assert json.loads(f.readline())["ok"] is True
    assert json.loads(f.readline())["ok"] is False
    pmd.ok("start", "--name", "talk", "--", "sh", "-c", "echo hello-follower; exec sleep 1000")
    while True:
        line = json.loads(f.readline())
        if line.get("line") == "hello-follower":
            break
    s.close()


# --- 9. every field is type-checked ---------------------------------------

BAD_FIELDS = [
    ({"cmd": "flush", "name": 1}, 'field "name": expected a string'),
    ({"cmd": "flush", "name": []}, 'field "name": expected a string'),
    ({"cmd": "flush", "name": {}}, 'field "name": expected a string'),
    ({"cmd": "flush", "name": None}, 'field "name": expected a string'),
    ({"cmd": "logs", "name": 1}, 'field "name": expected a string'),
    ({"cmd": "logs", "stream": ["err"]}, 'field "stream": expected a string'),
    ({"cmd": "logs", "lines": 2.5}, 'field "lines": expected a whole number from 0 to 100000'),
    ({"cmd": "logs", "follow": "yes"}, 'field "follow": expected true or false'),
    ({"cmd": "start", "target": "api", "env_profile": 7}, 'field "env_profile": expected a string'),
    ({"cmd": "start", "command": ["sleep", "1"], "cwd": "/", "name": ["x"]},
     'field "name": expected a string'),
    ({"cmd": "start", "command": ["sleep", "1"], "cwd": "/", "instances": 2.5},
     'field "instances": expected a whole number from 1 to 4096, or a string'),
    ({"cmd": "start", "command": ["sleep", 1], "cwd": "/"},
     'field "command": expected a non-empty array of strings'),
    ({"cmd": "start", "command": ["sleep", "1"], "cwd": "/", "env": {"A": 1}},
     'field "env": expected an object whose values are strings'),
    ({"cmd": "scale", "name": "api", "instances": 2.5},
     'field "instances": expected a whole number from 1 to 4096, or a string'),
    ({"cmd": "scale", "name": "api", "instances": "lots"},
     'field "instances": expected N, +N, -N or max, got "lots"'),
    ({"cmd": "scale", "name": "api", "instances": "-2"},
     'field "instances": -2 from 2 instances makes 0; expected 1 to 4096'),
    ({"cmd": "scale", "name": "api"}, 'field "instances": missing: expected a whole number'),
    ({"cmd": "stop", "target": None}, 'field "target": expected a string'),
    ({"cmd": "signal", "signal": 9, "target": "api"}, 'field "signal": expected a string'),
    ({"cmd": "show"}, 'field "name": missing: expected a string'),
]


def test_a_wrong_typed_field_is_an_error_naming_it(pmd):
    pmd.start(SLEEPER + "instances = 2\n")
    pmd.wait_status("api", "online", count=2)
    out = pmd.logs / "api.out.log"
    pmd.ok("signal", "SIGCONT", "api")            # the log file exists with a line in it
    out.write_text("keep me\n")
    for fields, message in BAD_FIELDS:
        req = json.dumps(dict(v=1, **fields)).encode() + b"\n"
        err = error_of(raw(pmd, req)[0])
        assert err["code"] == "EARGS" and err["message"].startswith(message), (fields, err)
    # Nothing happened: the logs were not emptied, no app was added, no
    # worker was stopped or scaled.
    assert out.read_text() == "keep me\n"
    assert [w["status"] for w in pmd.workers()] == ["online", "online"]
    # "all" happens only when asked for.
    pmd.ok("flush")
    assert out.read_text() == ""


# --- 8. a file named by a client ------------------------------------------

def test_start_of_a_fifo_or_a_device_is_an_error_and_blocks_nothing(pmd, tmp_path):
    pmd.start(SLEEPER)
    fifo = tmp_path / "pipe.conf"
    os.mkfifo(fifo)
    r = pmd.ctl("start", fifo, timeout=10)
    assert r.returncode == 1 and r.stderr == f"pmctl: {fifo}: not a regular file (a FIFO)\n"
    r = pmd.ctl("start", "/dev/zero", timeout=10)
    assert r.returncode == 1 and r.stderr == "pmctl: /dev/zero: not a regular file (a device)\n"
    d = tmp_path / "dir.conf"
    d.mkdir()
    r = pmd.ctl("start", d, timeout=10)
    assert r.returncode == 1 and "not a regular file (a directory)" in r.stderr
    big = tmp_path / "big.conf"
    with open(big, "wb") as f:
        f.truncate(5 * 1024 * 1024)
    r = pmd.ctl("start", big, timeout=10)
    assert r.returncode == 1 and r.stderr == f"pmctl: {big}: larger than 4194304 bytes\n"
    pmd.ok("ping")


# --- 6. too many clients, idle clients, running out of fds ------------------

def low_fd_limit(n):
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))


def connections(pmd, n):
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(pmd.socket)
        socks.append(s)
    return socks


def test_clients_over_max_clients_close_the_oldest_idle_one(pmd):
    # With 128 fds, max_clients is what the fd budget leaves room for.
    pmd.start(SLEEPER, preexec=low_fd_limit(128))
    cap = pmd.json("ping")["fds"]["max_clients"]
    assert 8 <= cap < 64
    socks = connections(pmd, cap + 8)
    # The 8 oldest idle connections made room for the 8 newest.
    for s in socks[:8]:
        err = error_of(s.recv(4096).splitlines()[0])
        assert err == {"code": "ETOOMANY",
                       "message": "closed to make room for another client (max_clients)"}
    pmd.ok("ping")                             # closes the next oldest
    assert socks[8].recv(4096)
    for s in socks[9:]:
        s.setblocking(False)
        with pytest.raises(BlockingIOError):
            s.recv(4096)
        s.close()


def test_clients_over_max_clients_with_nothing_idle_are_told_so(pmd):
    pmd.start("[daemon]\nmax_clients = 2\n[app:slow]\ncommand = sleep 1000\n"
              "wait_ready = true\nlisten_timeout = 4s\nautorestart = false\n", wait=False)
    wait_until(lambda: os.path.exists(pmd.socket), what="the socket")
    busy = []
    for _ in range(2):       # each waits for a worker that never gets ready
        s = socket.socket(socket.AF_UNIX)
        s.connect(pmd.socket)
        s.sendall(b'{"v":1,"cmd":"start","target":"slow"}\n')
        busy.append(s)
    wait_until(lambda: "slow:0: started" in pmd.stderr(), what="the start")
    r = pmd.ctl("ping")
    assert r.returncode == 1
    assert r.stderr == ("pmctl: pmd serves 2 clients already (max_clients), none of them "
                        "idle; try again later\n")
    # Their starts end at listen_timeout, and their slots with them.
    for s in busy:
        assert s.recv(4096)
        s.close()
    pmd.ok("ping")


def test_one_uids_idle_connections_never_lock_out_another(system_pmd):
    """A group member that holds every connection idle: root's pmctl still
    gets in, by closing one of the member's."""
    d = system_pmd
    cap = d.json("ping")["fds"]["max_clients"]
    holder = subprocess.Popen(
        ["setpriv", "--reuid=65534", f"--regid={d.gid}", "--clear-groups", "/usr/bin/python3", "-c",
         "import socket,sys,time\n"
         f"s=[socket.socket(socket.AF_UNIX) for _ in range({cap} + 4)]\n"
         f"[x.connect({d.socket!r}) for x in s]\n"
         "print('ready', flush=True)\ntime.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True, env=d.env)
    try:
        assert holder.stdout.readline() == "ready\n"
        for _ in range(3):
            d.ok("ping", timeout=5)
            d.ok("list", timeout=5)
        assert "closing an idle connection of uid 65534 for uid 0" in d.stderr()
    finally:
        holder.kill()
        holder.wait()


def test_idle_clients_are_closed(pmd):
    pmd.start("[daemon]\nclient_idle_timeout = 300ms\n" + SLEEPER)
    s = connections(pmd, 1)[0]
    assert s.recv(10) == b""                   # closed by pmd, not by us
    # A client that waits for a deferred reply is not idle.
    pmd.ok("start", "--name", "slow", "--", "sh", "-c", "sleep 0.6; exec sleep 1000")
    pmd.ok("stop", "slow")


def lowest_free_fd(pid):
    used = {int(x) for x in os.listdir(f"/proc/{pid}/fd")}
    return min(set(range(len(used) + 1)) - used)


def test_out_of_fds_the_owner_gets_through_and_workers_come_back(pmd):
    """pmd's fd limit lowered under it until no fd is free: its owner's
    pmctl is still served (pmd's spare fd), pmd does not spin or flood its
    log, a worker killed meanwhile is retried without counting as a crash,
    and comes back online once fds are free again."""
    pmd.start(SLEEPER + "min_uptime = 10ms\n", preexec=low_fd_limit(128))
    pid = pmd.workers("api")[0]["pid"]
    limit = lowest_free_fd(pmd.proc.pid)
    subprocess.run(["prlimit", f"--pid={pmd.proc.pid}", f"--nofile={limit}:128"], check=True)
    cpu0 = sum(int(x) for x in open(f"/proc/{pmd.proc.pid}/stat").read().rsplit(")", 1)[1].split()[11:13])
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: "not counted as a crash" in pmd.stderr(), what="a retried spawn")
    for _ in range(5):
        r = pmd.ok("--json", "ping", timeout=5)
        assert json.loads(r.stdout)["fds"]["limit"] == limit
    r = pmd.ctl("start", "--name", "more", "--", "sleep", "1000", timeout=5)
    assert r.returncode == 1 and f"pmd's fd limit of {limit} leaves room for 0 more" in r.stderr
    wait_until(lambda: pmd.stderr().count("not counted as a crash") >= 3, what="more retries")
    cpu1 = sum(int(x) for x in open(f"/proc/{pmd.proc.pid}/stat").read().rsplit(")", 1)[1].split()[11:13])
    subprocess.run(["prlimit", f"--pid={pmd.proc.pid}", "--nofile=128:128"], check=True)
    w = pmd.wait_status("api", "online")[0]
    assert w["pid"] != pid
    show = pmd.show("api")["workers"][0]
    assert show["unstable_restarts"] == 0 and show["restarts"] == 1, show
    assert len(pmd.stderr()) < 20000
    assert cpu1 - cpu0 < 100, "pmd spun while out of fds"


# --- 7. pipelining clients that never read ----------------------------------

def test_pipelining_clients_do_not_starve_the_others(pmd):
    pmd.start(SLEEPER + "instances = 8\n")
    pmd.wait_status("api", "online", count=8)
    chunk = b'{"v":1,"cmd":"list"}\n' * 3000
    socks = [socket.socket(socket.AF_UNIX) for _ in range(50)]
    for s in socks:
        s.connect(pmd.socket)
        s.setblocking(False)
    stop = threading.Event()
    rounds = []

    def flood():
        # Pipeline lists as fast as pmd takes them; never read a reply.
        while not stop.is_set():
            rounds.append(1)
            for s in socks:
                try:
                    s.send(chunk)
                except BlockingIOError:
                    pass
                except OSError:
                    return
            time.sleep(0.01)
    t = threading.Thread(target=flood)
    t.start()
    try:
        wait_until(lambda: len(rounds) >= 20, what="the flood to build up")
        # Another client is answered, and a killed worker comes back, both
        # within a deadline far above their figures without the flood.
        # (Before, a ping took 12 to 32 s with 50 such clients.)
        pmd.ok("ping", timeout=5)
        pid = pmd.workers("api")[0]["pid"]
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: pmd.workers("api")[0]["pid"] not in (0, pid) and
                   pmd.workers("api")[0]["status"] == "online", timeout=5,
                   what="the worker back")
    finally:
        stop.set()
        t.join()
        for s in socks:
            s.close()


# --- 2. a group member of a system-mode pmd ---------------------------------

@pytest.fixture
def system_pmd(tmp_path):
    """A root pmd in system mode on private paths, whose socket group pmd
    members (and only they) may use; the group is made if missing."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    made = False
    try:
        gid = grp.getgrnam("pmd").gr_gid
    except KeyError:
        subprocess.run(["groupadd", "--system", "pmd"], check=True)
        gid = grp.getgrnam("pmd").gr_gid
        made = True
    top = tempfile.mkdtemp(prefix="pmd-sys-", dir="/tmp")
    os.chmod(top, 0o755)
    d = Daemon(tmp_path)
    d.socket = os.path.join(top, "run", "pmd.sock")
    d.logs = tmp_path / "logs"
    d.env["PMD_SOCKET"] = d.socket
    conf = (f"[daemon]\nsocket = {d.socket}\nlog_dir = {d.logs}\n"
            f"dump_file = {tmp_path}/dump.json\n")
    d.top = top
    d.gid = gid
    d.start(conf, args=["--system"])
    yield d
    try:
        d.stop()
    finally:
        for p in marked_pids(d.marker):
            os.kill(p, signal.SIGKILL)
        shutil.rmtree(top, ignore_errors=True)
        if made:
            subprocess.run(["groupdel", "pmd"], check=False)


def as_member(d, *args, cwd=None):
    """pmctl run as nobody with group pmd: a member with no other rights."""
    env = dict(d.env, HOME="/nonexistent")
    return subprocess.run(["setpriv", "--reuid=65534", f"--regid={d.gid}", "--clear-groups",
                           PMCTL, "-s", d.socket, *map(str, args)], capture_output=True,
                          text=True, timeout=30, env=env, cwd=cwd or d.top)


def test_a_group_member_runs_commands_as_itself(system_pmd):
    d = system_pmd
    r = as_member(d, "start", "--name", "who", "--", "sh", "-c", "id -u; exec sleep 1000")
    assert r.returncode == 0, r.stderr
    wait_until(lambda: log_lines(d.logs / "who.out.log"), what="id's output")
    assert log_lines(d.logs / "who.out.log")[0] == "65534"
    show = d.show("who")
    assert show["config"]["user"] == "nobody"
    pid = show["workers"][0]["pid"]
    assert os.stat(f"/proc/{pid}").st_uid == 65534
    # A save and a resurrect keep it that way.
    d.ok("save")
    d.ok("delete", "who")
    d.ok("resurrect")
    pid = d.wait_status("who", "online")[0]["pid"]
    assert os.stat(f"/proc/{pid}").st_uid == 65534
    # Root's own ad-hoc commands still run as root.
    d.ok("start", "--name", "mine", "--", "sleep", "1000")
    pid = d.wait_status("mine", "online")[0]["pid"]
    assert os.stat(f"/proc/{pid}").st_uid == 0


def test_a_group_member_cannot_have_pmd_read_or_run_for_it(system_pmd, tmp_path):
    d = system_pmd
    shadow_first = open("/etc/shadow").readline().strip()
    # As a config (a name that ends in .conf, here a link to it), pmd
    # reads it as the member would: refused. As a script, the member's
    # own exec of it fails. Neither shows a line of it.
    link = os.path.join(d.top, "shadow.conf")
    os.symlink("/etc/shadow", link)
    r = as_member(d, "start", link)
    assert r.returncode == 1
    assert r.stderr == "pmctl: /etc/shadow: Permission denied\n"   # read as the member
    r2 = as_member(d, "start", "/etc/shadow")
    assert r2.returncode == 1 and "Permission denied" in r2.stderr
    assert shadow_first not in r.stdout + r.stderr + r2.stdout + r2.stderr + d.stderr()
    # A file it can read: its apps run as the member; user/out_file/a low
    # port or a unix socket would give it root's rights, and are refused.
    conf = os.path.join(d.top, "member.conf")
    for extra, message in (("user = root\n", "user: uid 65534 may start apps only as itself (nobody)"),
                           ("out_file = /etc/motd\n", "out_file: only root chooses the log files"),
                           ("listen = tcp://127.0.0.1:80\n", "listen: tcp://127.0.0.1:80: only root may bind a port below 1024"),
                           ("listen = unix:/etc/x.sock\n", "listen: unix:/etc/x.sock: only root may have a root pmd bind a unix socket path")):
        with open(conf, "w") as f:
            f.write("[app:member]\ncommand = sleep 1000\n" + extra)
        os.chmod(conf, 0o644)
        r = as_member(d, "start", conf)
        assert r.returncode == 1 and f"{conf}:1: [app:member]: {message}" in r.stderr, r.stderr
    with open(conf, "w") as f:
        f.write("[app:member]\ncommand = sleep 1000\n")
    r = as_member(d, "start", conf)
    assert r.returncode == 0, r.stderr
    pid = d.wait_status("member", "online")[0]["pid"]
    assert os.stat(f"/proc/{pid}").st_uid == 65534
    # reload-config reads the member's file as the member, with the same rules.
    with open(conf, "a") as f:
        f.write("user = root\n")
    r = d.ctl("reload-config")
    assert r.returncode == 1 and "user: uid 65534 may start apps only as itself" in r.stderr
    assert d.workers("member")[0]["pid"] == pid
    # A file only root may read: pmd reads it as the member would.
    private = os.path.join(d.top, "private.conf")
    with open(private, "w") as f:
        f.write("[app:p]\ncommand = sleep 1000\n")
    os.chmod(private, 0o600)
    r = as_member(d, "start", private)
    assert r.returncode == 1 and r.stderr == f"pmctl: {private}: Permission denied\n"


# --- 12. pmctl on real apps ---------------------------------------------------

def test_start_of_an_app_that_cannot_run_exits_1(pmd, tmp_path):
    pmd.start()
    r = pmd.ctl("start", "--", "./does-not-run", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.startswith("pmctl: does-not-run:0 errored: too many unstable restarts "
                               "(max_restarts); it exited with code 127: exec: "), r.stderr
    assert "No such file or directory" in r.stderr


def test_scale_takes_relative_counts_and_max(pmd):
    pmd.start(SLEEPER)
    pmd.ok("scale", "api", "+2")
    assert len(pmd.wait_status("api", "online", count=3)) == 3
    pmd.ok("scale", "api", "-1")
    pmd.wait_status("api", "online", count=2)
    pmd.ok("scale", "api", "max")
    pmd.wait_status("api", "online", count=os.cpu_count())
    for bad, message in (("+x", 'scale: expected N (1 to 4096), +N, -N or max, got "+x"'),
                         ("many", 'scale: expected N (1 to 4096), +N, -N or max, got "many"')):
        r = pmd.ctl("scale", "api", bad)
        assert r.returncode == 2 and message in r.stderr
    r = pmd.ctl("scale", "api", "-4096")
    assert r.returncode == 1 and "makes" in r.stderr and "expected 1 to 4096" in r.stderr


def test_an_unknown_option_last_is_called_unknown(pmd):
    pmd.start()
    r = pmd.ctl("start", "x", "--no-such-flag")
    assert r.returncode == 2 and "start: unknown option --no-such-flag" in r.stderr
    r = pmd.ctl("start", "--name")
    assert r.returncode == 2 and "start: --name needs a value" in r.stderr


def test_cpu_of_a_fresh_worker_is_never_over_100(pmd):
    pmd.start("[app:spin]\ncommand = sh -c 'while :; do :; done'\n")
    pmd.wait_status("spin", "online")
    seen = []
    for _ in range(5):
        pmd.ok("restart", "spin")
        for _ in range(5):
            seen += [w["cpu"] for w in pmd.workers("spin")]
            seen.append(pmd.show("spin")["workers"][0]["cpu"])
    assert max(seen) <= 105, seen


# --- 13. racing autostarts ------------------------------------------------------

def test_a_pmctl_whose_pmd_lost_the_race_waits_for_the_winner(tmp_path):
    import fcntl
    d = Daemon(tmp_path)
    d.home.mkdir(exist_ok=True)
    lock = open(d.socket + ".lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)            # as the winner holds it
    # The pmd this pmctl starts says how it ended through a wrapper.
    mark = tmp_path / "pmd-exit"
    wrapper = tmp_path / "pmd-wrapper"
    wrapper.write_text(f'#!/bin/sh\n"{PMD}" "$@"; rc=$?; echo $rc > "{mark}"; exit $rc\n')
    wrapper.chmod(0o755)
    client = subprocess.Popen([PMCTL, "--json", "list"], env=dict(d.env, PMD_BIN=str(wrapper)),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: mark.exists() and mark.read_text().strip(), what="pmctl's pmd to give up")
        assert mark.read_text().strip() == "75"
        assert client.poll() is None, client.communicate()
        # The winner comes up: the waiting pmctl uses it.
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
        d.start()
        out, err = client.communicate(timeout=30)
        assert client.returncode == 0, err
        assert json.loads(out) == []
    finally:
        if client.poll() is None:
            client.kill()
        d.stop()


# --- 14. a doubled SIGTERM --------------------------------------------------------

def test_a_sigterm_delivered_twice_at_once_still_stops_gracefully(pmd):
    pmd.start("[app:grace]\ncommand = sh -c 'trap \"sleep 0.3; echo bye; exit 0\" TERM; "
              "while :; do sleep 0.05; done'\n")
    pmd.wait_status("grace", "online")
    pmd.proc.send_signal(signal.SIGTERM)
    wait_until(lambda: "got SIGTERM" in pmd.stderr(), what="the first SIGTERM")
    pmd.proc.send_signal(signal.SIGTERM)      # as timeout(1) signals pid, then group
    assert pmd.proc.wait(timeout=20) == 0
    text = pmd.stderr()
    assert "got SIGTERM again at once: still stopping gracefully" in text
    assert "SIGKILL" not in text
    assert "exited with code 0" in text


def test_a_list_made_while_apps_come_and_go_names_each_worker_once(pmd):
    # The table is made a batch of rows per loop iteration; apps deleted
    # and added between two batches must not cut, repeat or mix its rows.
    with churning(pmd) as churned:
        # Pipelined: each reply whole, in order, and the ping after them.
        lines = raw(pmd, b'{"v":1,"cmd":"list"}\n' * 8 + b'{"v":1,"cmd":"ping"}\n',
                    count=9)
        while len(churned) < 3:
            lines += raw(pmd, b'{"v":1,"cmd":"list"}\n')
    assert json.loads(lines[8])["ok"] is True and "workers" not in json.loads(lines[8])
    for line in lines[:8] + lines[9:]:
        rows = json.loads(line)["workers"]
        seen = [(w["name"], w["instance"]) for w in rows]
        assert len(seen) == len(set(seen)), "a worker listed twice"
        for name in ("stay", "last"):
            assert sorted(i for n, i in seen if n == name) == list(range(300))
        names = [n for n, _ in seen]
        # Rows come app by app, in the order the apps were made.
        assert names.index("last") > max(i for i, n in enumerate(names) if n == "stay")


def test_a_members_watch_is_made_as_the_member(system_pmd, tmp_path):
    """A member's watch = true: the walk of / is capped and never holds
    pmd's loop, and a directory only root may read is not watched, so
    root's changes there do not restart the member's app."""
    d = system_pmd
    top = os.path.join(d.top, "app")
    os.makedirs(os.path.join(top, "secret"))
    os.chmod(top, 0o755)
    os.chmod(os.path.join(top, "secret"), 0o700)
    r = as_member(d, "start", "--name", "w", "--watch", "--watch_delay", "200ms", "--",
                  "sleep", "1000", cwd=top)
    assert r.returncode == 0, r.stderr
    d.wait_status("w", "online")
    wait_until(lambda: d.show("w")["watch"]["directories"] >= 1, what="the watch")
    with open(os.path.join(top, "secret", "root-only"), "w") as f:
        f.write("x")
    with open(os.path.join(top, "visible.txt"), "w") as f:
        f.write("x")
    wait_until(lambda: "watch: visible.txt changed" in d.stderr(), what="the restart")
    assert "secret" not in d.stderr()
    # The whole file system, as nobody: capped, and pmd answers all along.
    r = as_member(d, "start", "--name", "rootfs", "--watch", "--", "sleep", "1000", cwd="/")
    assert r.returncode == 0, r.stderr
    slowest = 0.0
    for _ in range(20):
        t = time.monotonic()
        d.ok("ping")
        slowest = max(slowest, time.monotonic() - t)
    assert slowest < 0.5, f"a ping took {slowest:.3f}s during the walk"
    wait_until(lambda: "rootfs: watch: more than 8192 directories" in d.stderr(), timeout=30,
               what="the cap")
    assert d.show("rootfs")["watch"]["directories"] <= 8192


def test_root_cannot_join_a_members_port_group(system_pmd):
    """A member's balanced listen: its SO_REUSEPORT sockets are the
    member's own, so a root process cannot join their group and take its
    connections, as the kernel would refuse had the member bound them."""
    from conftest import free_port
    d = system_pmd
    port = free_port()
    r = as_member(d, "start", "--name", "web", "-i", "2", "--listen",
                  f"tcp://127.0.0.1:{port}", "--", "sleep", "1000")
    assert r.returncode == 0, r.stderr
    d.wait_status("web", "online", count=2)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        with pytest.raises(OSError) as e:
            s.bind(("127.0.0.1", port))
        assert e.value.errno == 98      # EADDRINUSE
    finally:
        s.close()
    # The member's workers hold sockets of the member's uid.
    pid = d.workers("web")[0]["pid"]
    inodes = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    assert any(i.startswith("socket:") for i in inodes)
    uids = set()
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        f = line.split()
        if f[1].endswith(":%04X" % port) and f[3] == "0A":     # LISTEN
            uids.add(int(f[7]))
    assert uids == {65534}, uids


def test_a_member_may_do_what_pmd8_says_an_operator_does(system_pmd):
    """pmd(8): a member may send to, signal (SIGSTOP too) and delete root's
    apps, and stop pmd itself with kill."""
    d = system_pmd
    d.ok("start", "--name", "rootapp", "--", "sleep", "1000")
    pid = d.wait_status("rootapp", "online")[0]["pid"]
    assert as_member(d, "send", "rootapp", '{"hello":1}').returncode == 0
    assert as_member(d, "signal", "SIGSTOP", "rootapp").returncode == 0
    wait_until(lambda: open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "T",
               what="the worker stopped by SIGSTOP")
    assert as_member(d, "signal", "SIGCONT", "rootapp").returncode == 0
    # Its environment into root's workers (LD_PRELOAD...) would be root's
    # rights: refused.
    r = as_member(d, "restart", "rootapp", "--update-env")
    assert r.returncode == 1 and "--update-env: uid 65534 may not set the environment of " \
        "rootapp" in r.stderr
    r = as_member(d, "kill")
    assert r.returncode == 0, r.stderr
    assert d.proc.wait(timeout=30) == 0


def test_a_member_cannot_start_roots_app_through_after(system_pmd):
    """pmctl start of a member's app that runs after one of root's, which
    is stopped: pmd does not start root's app for the member."""
    d = system_pmd
    d.ok("start", "--name", "rootdb", "--", "sleep", "1000")
    d.ok("stop", "rootdb")
    conf = os.path.join(d.top, "mine.conf")
    with open(conf, "w") as f:
        f.write("[app:mine]\ncommand = sleep 1000\nafter = rootdb\n")
    os.chmod(conf, 0o644)
    r = as_member(d, "start", conf)
    assert r.returncode == 0, r.stderr
    assert d.show("mine")["status"] == "waiting"
    r = as_member(d, "start", "mine")
    assert r.returncode == 1 and "rootdb, which does not run, and only its owner may start it" \
        in r.stderr, r.stderr
    assert all(w["pid"] == 0 for w in d.workers("rootdb"))
    # Root starts it: the member's app follows on its own.
    d.ok("start", "rootdb")
    d.wait_status("mine", "online")


def test_only_the_owner_updates_pmd(system_pmd):
    """A member may not run a binary with pmd's rights; root's update keeps
    the group's socket, so the member goes on as before."""
    d = system_pmd
    r = as_member(d, "start", "--name", "mine", "--", "sleep", "1000")
    assert r.returncode == 0, r.stderr
    r = as_member(d, "update")
    assert r.returncode == 1 and "only pmd's owner may update it" in r.stderr, r.stderr
    pid = d.workers("mine")[0]["pid"]
    assert d.ok("update").stdout.startswith("pmd updated in place")
    r = as_member(d, "--json", "list")
    assert r.returncode == 0, r.stderr
    assert [w["pid"] for w in json.loads(r.stdout)] == [pid]
    st = os.stat(d.socket)
    assert st.st_gid == d.gid and st.st_mode & 0o777 == 0o660
