"""Cluster mode: shared listening sockets, readiness, rolling reload.

The workers are build/testsrv: an HTTP server on the sockets pmd passes,
answering its pid, draining on SIGTERM.
"""
import http.client
import os
import signal
import socket
import stat
import subprocess
import sys

from conftest import (PMCTL, TESTSRV, Hammer, free_port, log_lines, pid_alive,
                      wait_until)
from conftest import get_pid as get

def app(port, extra="", instances=2, ready="1"):
    return f"""
[app:web]
command = {TESTSRV}
instances = {instances}
listen = tcp://127.0.0.1:{port}
wait_ready = true
env.TESTSRV_READY = {ready}
{extra}"""


def pids(pmd, name="web"):
    return sorted(w["pid"] for w in pmd.workers(name))


def test_requests_spread_over_instances(pmd):
    port = free_port()
    pmd.start(app(port))
    before = pids(pmd)
    assert all(before)
    seen = set()
    wait_until(lambda: seen.add(get(port)) or seen == set(before), timeout=20,
               what="both instances to answer")
    # The protocol as systemd speaks it, and the worker's STATUS=.
    w = pmd.show("web")["workers"][0]
    assert w["status_text"] == "serving"
    environ = open(f"/proc/{before[0]}/environ", "rb").read().split(b"\0")
    assert f"LISTEN_PID={before[0]}".encode() in environ
    assert b"LISTEN_FDS=1" in environ and b"LISTEN_FDNAMES=web" in environ
    assert any(e.startswith(b"NOTIFY_SOCKET=@") for e in environ)


def test_reload_under_load_fails_no_request(pmd):
    port = free_port()
    pmd.start(app(port))
    old = pids(pmd)
    h = Hammer(port)
    try:
        wait_until(lambda: h.ok > 50, what="traffic")
        for _ in range(2):
            pmd.ok("reload", "web")
        new = pids(pmd)
        assert not set(new) & set(old)
        wait_until(lambda: set(new) <= h.seen, timeout=20, what="the new workers to answer")
        n = h.ok
        wait_until(lambda: h.ok > n + 50, what="more traffic")
    finally:
        h.finish()
    assert h.errors == []
    assert all(pid not in pids(pmd) for pid in old)
    assert all(w["status"] == "online" for w in pmd.workers("web"))


def test_broken_new_version_leaves_the_old_serving(pmd):
    port = free_port()
    conf = pmd.write_config(app(port))
    pmd.start(args=["-c", str(conf)])
    old = pids(pmd)

    # A version that exits at once.
    conf.write_text(app(port, "env.TESTSRV_EXIT = 3\n"))
    r = pmd.ctl("reload", "web")
    assert r.returncode == 1
    assert r.stderr == ("pmctl: reload web: instance 0: the new worker exited with "
                        "code 3 before it was online\n")
    assert pids(pmd) == old and get(port) in old

    # A version that never says READY=1.
    conf.write_text(app(port, "listen_timeout = 300ms\n", ready="never"))
    r = pmd.ctl("reload", "web")
    assert r.returncode == 1
    assert r.stderr == ("pmctl: reload web: instance 0: no READY=1 within "
                        "listen_timeout (300 ms)\n")
    assert pids(pmd) == old and get(port) in old
    # The app kept the config that works: a crash restarts the old version.
    os.kill(old[0], signal.SIGKILL)
    wait_until(lambda: len(set(pids(pmd)) - set(old)) == 1 and
               all(w["status"] == "online" for w in pmd.workers("web")),
               what="the restart")
    assert pmd.show("web")["env"]["TESTSRV_READY"] == "1"
    assert "no READY=1" in pmd.show("web")["last_reload_error"]

    # A second reload while one runs is refused.
    conf.write_text(app(port, "listen_timeout = 20s\n", ready="never"))
    began = pmd.stderr().count("web: reload: replacing")
    first = subprocess.Popen([PMCTL, "reload", "web"], env=pmd.env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    wait_until(lambda: pmd.stderr().count("web: reload: replacing") > began,
               what="the reload")
    r = pmd.ctl("reload", "all")
    assert r.returncode == 1
    assert r.stderr == 'pmctl: a reload of "web" is already running; wait for it to end\n'
    # Deleting the app ends it.
    pmd.ok("delete", "web")
    out, err = first.communicate(timeout=30)
    assert first.returncode == 1 and "app deleted" in err

    # The fixed version reloads.
    conf.write_text(app(port))
    pmd.ok("start", conf)
    pmd.ok("reload", "web")


def test_readiness_through_systemd_notify(pmd, tmp_path):
    go = tmp_path / "go"
    pmd.start(f"""
[app:slow]
command = sh -c 'while [ ! -e {go} ]; do sleep 0.01; done; systemd-notify --ready --status="warmed up"; exec sleep 1000'
wait_ready = true
""", wait=True)
    wait_until(lambda: pmd.workers("slow") and pmd.workers("slow")[0]["pid"], what="spawn")
    assert pmd.workers("slow")[0]["status"] == "starting"
    assert pmd.show("slow")["workers"][0]["waiting_for"] == "READY=1"
    go.write_text("")
    pmd.wait_status("slow", "online")
    assert pmd.show("slow")["workers"][0]["status_text"] == "warmed up"
    # pmctl start waits for the readiness.
    go.unlink()
    p = subprocess.Popen([PMCTL, "restart", "slow"], env=pmd.env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_until(lambda: "slow:0: started pid" in pmd.stderr().split("slow:0: pid")[-1],
               what="the new process")
    assert p.poll() is None
    go.write_text("")
    assert p.wait(timeout=10) == 0
    assert pmd.workers("slow")[0]["status"] == "online"


def test_not_ready_in_time_is_a_failed_start(pmd):
    pmd.start("""
[app:mute]
command = sleep 1000
wait_ready = true
listen_timeout = 200ms
max_restarts = 1
""")
    pmd.wait_status("mute", "errored", timeout=20)
    assert "errored: too many unstable restarts" in pmd.stderr()


def test_a_port_in_use_is_an_error_for_that_app_alone(pmd):
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    pmd.start(app(port) + """
[app:other]
command = sleep 1000
""")
    pmd.wait_status("other", "online")
    assert [w["status"] for w in pmd.workers("web")] == ["errored", "errored"]
    message = f"listen tcp://127.0.0.1:{port}: bind: Address already in use"
    assert f"web: {message}" in pmd.stderr()
    assert pmd.show("web")["listen_error"] == message
    # Errored by the restart table itself, with that reason.
    assert {w["reason"] for w in pmd.show("web")["workers"]} == {
        "its listen sockets could not be bound"}
    r = pmd.ctl("start", "web")
    assert r.returncode == 1 and r.stderr == f"pmctl: web: {message}\n"
    blocker.close()
    pmd.ok("start", "web")
    pmd.wait_status("web", "online", count=2)
    assert get(port) in pids(pmd)


def test_a_port_another_program_shares_is_in_use_too(pmd):
    """Balanced sockets (the default on tcp://) are SO_REUSEPORT, but a
    program that holds the port with SO_REUSEPORT itself does not get to
    share the app's connections: the port is in use, as for any other."""
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    try:
        pmd.start(app(port))
        pmd.wait_status("web", "errored", count=2)
        assert pmd.show("web")["listen_error"] == (
            f"listen tcp://127.0.0.1:{port}: bind: Address already in use")
    finally:
        blocker.close()
    pmd.ok("start", "web")
    ws = pmd.wait_status("web", "online", count=2)
    seen = set()
    wait_until(lambda: seen.add(get(port)) or len(seen) == 2, timeout=20,
               what="both instances to answer")
    assert seen == {w["pid"] for w in ws}
    # Balanced is the default on tcp://: a socket of its own per instance.
    assert len({os.readlink(f"/proc/{w['pid']}/fd/3") for w in ws}) == 2


def test_unix_socket_listener(pmd, tmp_path):
    path = tmp_path / "web.sock"
    # A stale socket file from a crash is replaced.
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()
    pmd.start(f"""
[app:web]
command = {TESTSRV}
listen = unix:{path}
listen_mode = 0600
""")
    pmd.wait_status("web", "online")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    class UnixConn(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.connect(str(path))
    c = UnixConn("localhost", timeout=10)
    assert get(0, c) == pids(pmd)[0]
    c.close()
    # Without wait_ready, a reload waits min_uptime for each new worker.
    pmd.ok("reload", "web")
    c = UnixConn("localhost", timeout=10)
    assert get(0, c) == pids(pmd)[0]
    c.close()
    pmd.ok("delete", "web")
    assert not path.exists()
    # A path that is not a socket is left alone, with a clear error.
    path.write_text("precious")
    r = pmd.ctl("start", pmd.write_config(
        f"[app:web]\ncommand = {TESTSRV}\nlisten = unix:{path}\n", "again.conf"))
    assert r.returncode == 1
    assert f"listen unix:{path}: the path exists and is not a socket" in r.stderr
    assert path.read_text() == "precious"


def test_sigusr2_reloads_every_app(pmd):
    port = free_port()
    pmd.start(app(port))
    old = pids(pmd)
    pmd.proc.send_signal(signal.SIGUSR2)
    wait_until(lambda: "web: reload done: 2 workers replaced" in pmd.stderr(), what="reload")
    assert not set(pids(pmd)) & set(old)


def test_workers_get_only_their_fds(pmd):
    """stdin, stdout, stderr and the listening sockets: nothing of pmd's,
    not even what pmd itself inherited."""
    port = free_port()
    r, w = os.pipe()
    try:
        pmd.start(f"""
[app:fds]
command = sh -c 'ls /proc/$$/fd; exec sleep 1000'
listen = tcp://127.0.0.1:{port}, tcp://127.0.0.1:{free_port()}
[app:plain]
command = sh -c 'ls /proc/$$/fd; exec sleep 1000'
[app:bare]
command = sh -c 'ls /proc/$$/fd; exec sleep 1000'
ipc = false
""", pass_fds=(r, w))
    finally:
        os.close(r)
        os.close(w)
    pmd.wait_status("fds", "online")
    pmd.wait_status("plain", "online")
    pmd.wait_status("bare", "online")
    wait_until(lambda: len(log_lines(pmd.logs / "fds.out.log")) >= 6, what="fds")
    wait_until(lambda: len(log_lines(pmd.logs / "plain.out.log")) >= 4, what="fds")
    wait_until(lambda: len(log_lines(pmd.logs / "bare.out.log")) >= 3, what="fds")
    # (ls prints them one per line into a pipe, in order.) The sockets,
    # then the message channel; none with ipc = false.
    assert log_lines(pmd.logs / "fds.out.log") == ["0", "1", "2", "3", "4", "5"]
    assert log_lines(pmd.logs / "plain.out.log") == ["0", "1", "2", "3"]
    assert log_lines(pmd.logs / "bare.out.log") == ["0", "1", "2"]


def test_reload_of_an_app_that_binds_its_own_port(pmd, tmp_path):
    """Without listen, a reload stops each old worker before its new one
    starts (the new one would find the port taken); start-first fails for
    such an app, says so in show and the log, and the old one serves on."""
    port = free_port()
    (tmp_path / "index.html").write_text("hello\n")
    # Through a wrapper that starts slowly, as a pyenv shim does. Such an
    # app binds without pmd, so pmd cannot see the bind: a new worker is
    # proven by staying up for min_uptime, which must outlast the start up
    # to the bind for start-first to fail there (5 s: not a race).
    shim = tmp_path / "slow-python"
    shim.write_text(f"#!/bin/sh\nsleep 0.6\nexec {sys.executable} \"$@\"\n")
    shim.chmod(0o755)
    pmd.start(f"[app:web]\ncommand = {shim} -m http.server {port} --bind 127.0.0.1\n"
              f"cwd = {tmp_path}\nmin_uptime = 5s\n")
    old = pmd.wait_status("web", "online")[0]["pid"]
    wait_until(lambda: http_ok(port), what="http.server to serve")
    pmd.ok("reload", "web")
    new = pmd.wait_status("web", "online")[0]["pid"]
    assert new != old and not pid_alive(old)
    wait_until(lambda: http_ok(port), what="the new worker to serve")
    assert "each stopped before its replacement starts" in pmd.stderr()
    assert pmd.show("web")["config"]["reload_order"] == "auto"
    # The other order, asked for, cannot work here: the reload fails,
    # visibly, and the app keeps running.
    conf = pmd.dir / "pmd.conf"
    conf.write_text(conf.read_text() + "reload_order = start-first\n")
    r = pmd.ctl("reload", "web")
    assert r.returncode == 1 and "reload web:" in r.stderr
    assert "reload failed" in pmd.stderr()
    assert "the new worker exited" in pmd.show("web")["last_reload_error"]
    assert pmd.workers("web")[0]["pid"] == new and http_ok(port)


def http_ok(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
            return b"hello" in data
    except OSError:
        return False


def test_listen_nodelay_reaches_the_workers_sockets(pmd):
    """listen_nodelay = true: the socket a worker inherits (and so every
    connection it accepts) has TCP_NODELAY; off by default."""
    probe = ("import socket; s = socket.socket(fileno=3); "
             "print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0, flush=True); "
             "s.detach(); import time; time.sleep(1000)")
    pmd.start(f"[app:fast]\ncommand = python3 -c '{probe}'\n"
              f"listen = tcp://127.0.0.1:{free_port()}\nlisten_nodelay = true\n"
              f"[app:plain]\ncommand = python3 -c '{probe}'\n"
              f"listen = tcp://127.0.0.1:{free_port()}\n")
    wait_until(lambda: log_lines(pmd.logs / "fast.out.log") == ["True"], what="fast's answer")
    wait_until(lambda: log_lines(pmd.logs / "plain.out.log") == ["False"], what="plain's")
    assert pmd.show("fast")["config"]["listen_nodelay"] == "true"


def test_no_worker_to_serve_means_refused_not_hanging(pmd):
    """When no worker of a listen app serves or is coming (stopped by the
    user, or all errored), connections are refused at once; a start binds
    the sockets again."""
    port = free_port()
    pmd.start(app(port) + f"""
[app:broken]
command = sh -c 'exit 3'
listen = tcp://127.0.0.1:{(bport := free_port())}
max_restarts = 1
""")
    pmd.wait_status("web", "online", count=2)
    assert get(port)

    def refused(p):
        try:
            socket.create_connection(("127.0.0.1", p), timeout=5).close()
            return False
        except ConnectionRefusedError:
            return True
    pmd.ok("stop", "web")
    assert wait_until(lambda: refused(port), what="web's port to refuse")
    assert "web: no worker serves or is starting" in pmd.stderr()
    pmd.ok("start", "web")
    pmd.wait_status("web", "online", count=2)
    assert get(port)
    # All errored: refused too, and a reset brings the socket back.
    pmd.wait_status("broken", "errored")
    assert wait_until(lambda: refused(bport), what="broken's port to refuse")
    pmd.ctl("reset", "broken")
    # Bound again for the new start, closed again once it gave up.
    wait_until(lambda: pmd.stderr().count("broken: no worker serves") == 2,
               what="the socket bound and closed again")
    assert refused(bport)


def test_balanced_instance_without_a_process_gets_no_connections(pmd, tmp_path):
    """listen_balance = balanced: an instance stopped, or waiting to
    restart after a crash, leaves the socket group, so new connections go
    to the instances that serve instead of hanging in a queue nobody
    reads; it is back in the group when it starts again."""
    port = free_port()
    pmd.start(app(port, "listen_balance = balanced\nrestart_delay = 60s\n"))
    ws = {w["instance"]: w["pid"] for w in pmd.wait_status("web", "online", count=2)}
    seen = set()
    wait_until(lambda: seen.add(get(port)) or len(seen) == 2, timeout=20,
               what="both instances to answer")

    def short_get():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            return get(port, c)
        finally:
            c.close()
    pmd.ok("stop", "web:1")
    wait_until(lambda: "web:1: no process" in pmd.stderr(), what="instance 1 out")
    assert [short_get() for _ in range(40)] == [ws[0]] * 40
    pmd.ok("restart", "web:1")
    ws = {w["instance"]: w["pid"] for w in pmd.wait_status("web", "online", count=2)}
    seen = set()
    wait_until(lambda: seen.add(get(port)) or len(seen) == 2, timeout=20,
               what="instance 1 back in the group")
    # A crash with a restart delay: out of the group while it waits.
    os.kill(ws[0], signal.SIGKILL)
    wait_until(lambda: pmd.workers("web")[0]["status"] == "waiting", what="instance 0 waits")
    wait_until(lambda: pmd.stderr().count("no process") == 2, what="instance 0 out")
    assert [short_get() for _ in range(40)] == [ws[1]] * 40


def test_balanced_sockets_one_per_instance(pmd, tmp_path):
    """listen_balance = balanced: each instance has its own SO_REUSEPORT
    socket, kept across its reloads; connections spread over all of them,
    none fails through a reload, and a scaled-away instance's socket
    closes without stranding new clients."""
    port = free_port()
    pmd.start(app(port, "listen_balance = balanced\n", instances=3))
    ws = pmd.wait_status("web", "online", count=3)

    def sock(pid):
        return os.readlink(f"/proc/{pid}/fd/3")
    before = {w["instance"]: sock(w["pid"]) for w in ws}
    assert len(set(before.values())) == 3
    seen = set()
    wait_until(lambda: seen.add(get(port)) or len(seen) == 3, timeout=20,
               what="every instance to answer")
    h = Hammer(port)
    try:
        wait_until(lambda: h.ok > 50, what="traffic")
        pmd.ok("reload", "web")
        n = h.ok
        wait_until(lambda: h.ok > n + 50, what="more traffic")
    finally:
        h.finish()
    assert h.errors == []
    after = {w["instance"]: sock(w["pid"]) for w in pmd.wait_status("web", "online", count=3)}
    assert after == before
    pmd.ok("scale", "web", "1")
    pmd.wait_status("web", "online", count=1)
    only = pmd.workers("web")[0]["pid"]
    assert all(get(port) == only for _ in range(30))
    # A unix address cannot be balanced: said, for that app alone.
    r = pmd.ctl("start", pmd.write_config(
        f"[app:u]\ncommand = {TESTSRV}\nlisten = unix:{tmp_path}/u.sock\n"
        "listen_balance = balanced\n", "u.conf"))
    assert r.returncode == 1 and "listen_balance = balanced takes tcp://" in r.stderr
