"""The socket a program gets through pmd-preload.so is of its own family.
Node's server.listen(PORT) binds [::] on a dual-stack socket (IPv4 and
IPv6); where the app's listen is tcp://0.0.0.0:PORT (as pmctl import
writes it), the first such bind makes the app's sockets [::]:PORT, so the
program gets an AF_INET6 socket that takes both, as its own would have.
pmd never widens an address narrower than 0.0.0.0, nor for a program
that binds IPv6 only.
"""
import http.client
import os
import shutil
import signal
import socket
import tempfile
import threading

import pytest

from conftest import NODE_APP, Hammer, free_port, log_lines, wait_until

# A server that reports its socket's family and an IPv6 option, as a
# program that sets IPv6 options after bind would read them.
V6_APP = """
import http.server, os, socket, sys
v6only = int(sys.argv[2])
# With a third argument, a file: IPv4 (0.0.0.0) until it exists.
v4 = len(sys.argv) > 3 and not os.path.exists(sys.argv[3])
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{os.getpid()}\\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
class S(http.server.HTTPServer):
    address_family = socket.AF_INET if v4 else socket.AF_INET6
    def server_bind(self):
        if not v4:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
        super().server_bind()
s = S(("0.0.0.0" if v4 else "::", int(sys.argv[1])), H)
fam = s.socket.getsockname()
try:
    tclass = s.socket.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS)
except OSError as e:
    tclass = e.strerror
print("bound", len(fam), fam[0], tclass, flush=True)
s.serve_forever()
"""


def ask(host, port):
    c = http.client.HTTPConnection(host, port, timeout=10)
    c.request("GET", "/")
    r = c.getresponse()
    assert r.status == 200
    pid = int(r.read())
    c.close()
    return pid


def reports(pmd, name, what="bound "):
    """The lines the app's workers printed that begin with what."""
    return [l for l in log_lines(pmd.logs / f"{name}.out.log") if l.startswith(what)]


@pytest.mark.parametrize("balance", ["balanced", "shared"])
def test_a_dual_stack_bind_gets_an_ipv6_socket_that_takes_both(pmd, tmp_path, balance):
    port = free_port()
    (tmp_path / "v6.py").write_text(V6_APP)
    pmd.start(f"[app:web]\ncommand = python3 v6.py {port} 0\ncwd = {tmp_path}\n"
              f"instances = 2\nlisten = tcp://0.0.0.0:{port}\nlisten_balance = {balance}\n")
    ws = pmd.wait_status("web", "online", count=2)
    got = wait_until(lambda: len(reports(pmd, "web")) == 2 and reports(pmd, "web"),
                     what="both workers' reports")
    # A 4-tuple address (AF_INET6), the wildcard, and IPv6 options work.
    assert all(l.split()[1:4] == ["4", "::", "0"] for l in got), got
    assert f"web: its program binds [::]:{port} (IPv4 and IPv6): " \
           f"tcp://0.0.0.0:{port} is now tcp://[::]:{port}" in pmd.stderr()
    # Both families reach the workers, and both instances serve.
    pids = {w["pid"] for w in ws}
    seen = set()
    wait_until(lambda: seen.update({ask("127.0.0.1", port), ask("::1", port)})
               or seen == pids, timeout=20, what="both instances on both families")
    # A worker killed comes back on the same kind of socket, and nothing
    # is widened twice.
    os.kill(ws[0]["pid"], signal.SIGKILL)
    wait_until(lambda: len(reports(pmd, "web")) == 3, what="the new worker's report")
    assert reports(pmd, "web")[-1].split()[1:4] == ["4", "::", "0"]
    assert pmd.stderr().count("is now tcp://[::]") == 1
    assert pmd.show("web")["listening"] == [f"tcp://[::]:{port}"]
    assert ask("127.0.0.1", port) and ask("::1", port)
    # pmd updated in place keeps the address so, and a new instance's
    # socket is made so too.
    pmd.ok("update")
    pmd.ok("scale", "web", "3")
    ws = pmd.wait_status("web", "online", count=3)
    wait_until(lambda: len(reports(pmd, "web")) == 4, what="the third instance's report")
    assert reports(pmd, "web")[-1].split()[1:4] == ["4", "::", "0"]
    pids, seen = {w["pid"] for w in ws}, set()
    wait_until(lambda: seen.update({ask("127.0.0.1", port), ask("::1", port)})
               or seen == pids, timeout=20, what="all three on both families")
    assert pmd.stderr().count("is now tcp://[::]") == 1


def test_an_instance_out_of_its_group_stays_out_when_the_address_widens(pmd, tmp_path):
    """Balanced: an instance stopped by the user has its sockets out of
    the group (connections go to the others). When a later worker's bind
    widens the address, that instance's new socket is out too: no
    connection waits in a queue nobody reads; it joins at its start."""
    port = free_port()
    flag = tmp_path / "v6"
    (tmp_path / "v6.py").write_text(V6_APP)
    pmd.start(f"[app:web]\ncommand = python3 v6.py {port} 0 {flag}\ncwd = {tmp_path}\n"
              f"instances = 2\nlisten = tcp://0.0.0.0:{port}\n")
    ws = pmd.wait_status("web", "online", count=2)
    wait_until(lambda: len(reports(pmd, "web")) == 2, what="both IPv4 workers")
    pmd.ok("stop", "web:1")
    wait_until(lambda: "web:1: no process: new connections go to the other instances"
               in pmd.stderr(), what="instance 1 out of the group")
    flag.write_text("")
    os.kill(ws[0]["pid"], signal.SIGKILL)
    wait_until(lambda: "is now tcp://[::]" in pmd.stderr(), what="the address widened")
    w0 = wait_until(lambda: [w["pid"] for w in pmd.workers("web")
                             if w["instance"] == 0 and w["status"] == "online"],
                    what="instance 0 back")[0]
    # Every connection, of either family, reaches instance 0 at once.
    for _ in range(20):
        assert ask("127.0.0.1", port) == w0
        assert ask("::1", port) == w0
    pmd.ok("restart", "web:1")
    pids = {w["pid"] for w in pmd.wait_status("web", "online", count=2)}
    seen = set()
    wait_until(lambda: seen.update({ask("127.0.0.1", port), ask("::1", port)})
               or seen == pids, timeout=20, what="both instances again")


def test_node_gets_ipv6_and_a_reload_drops_nothing(pmd, tmp_path):
    port = free_port()
    (tmp_path / "app.js").write_text(NODE_APP.replace(
        "res.end(`${process.pid}\\n`))",
        "res.end(`${process.pid}\\n`))\n    .on('listening', function () "
        "{ console.log('bound', JSON.stringify(this.address())); })"))
    pmd.start()
    pmd.ok("start", "--name", "web", "-i", "2", "--listen", f"tcp://0.0.0.0:{port}",
           "--", "node", str(tmp_path / "app.js"), env={"PORT": str(port)})
    pmd.wait_status("web", "online", count=2)
    got = wait_until(lambda: len(reports(pmd, "web")) == 2 and reports(pmd, "web"),
                     what="both workers' reports")
    assert all('"family":"IPv6"' in l and '"address":"::"' in l for l in got), got
    assert ask("::1", port) and ask("127.0.0.1", port)
    h = Hammer(port)
    try:
        pmd.ok("reload", "web")
        pmd.wait_status("web", "online", count=2)
    finally:
        h.finish()
    assert h.errors == [] and h.ok > 0
    assert ask("::1", port)


def test_narrower_addresses_and_ipv6_only_programs_are_not_widened(pmd, tmp_path):
    """listen = tcp://127.0.0.1:PORT stays loopback IPv4 though the
    program binds [::]; a program that binds IPv6 only (IPV6_V6ONLY on)
    gets pmd's IPv4 socket as before rather than a wider one."""
    lo, v6only = free_port(), free_port()
    (tmp_path / "v6.py").write_text(V6_APP)
    pmd.start(f"[app:lo]\ncommand = python3 v6.py {lo} 0\ncwd = {tmp_path}\n"
              f"listen = tcp://127.0.0.1:{lo}\n"
              f"[app:only]\ncommand = python3 v6.py {v6only} 1\ncwd = {tmp_path}\n"
              f"listen = tcp://0.0.0.0:{v6only}\n")
    pmd.wait_status("lo", "online")
    pmd.wait_status("only", "online")
    for name in ("lo", "only"):
        got = wait_until(lambda: reports(pmd, name), what=f"{name}'s report")
        assert got[0].split()[1:3] == ["2", "127.0.0.1" if name == "lo" else "0.0.0.0"], got
    assert "is now tcp://[::]" not in pmd.stderr()
    assert "listening" not in pmd.show("only")
    assert ask("127.0.0.1", lo) and ask("127.0.0.1", v6only)
    with pytest.raises(OSError):
        ask("::1", lo)


ASKER = """
import array, os, socket, sys, time
name, port = os.environ["PMD_LISTEN_SOCKET"], int(sys.argv[1])
def ask(n, url):
    s = socket.socket(socket.AF_UNIX)
    s.bind(f"\\0pmd-bind/{os.getpid()}/{n} {url}")
    s.settimeout(5)
    s.connect("\\0" + name[1:])
    fds = array.array("i")
    data, anc, _, _ = s.recvmsg(64, socket.CMSG_LEN(16 * fds.itemsize))
    for _, _, d in anc:
        fds.frombytes(d[:len(d) - len(d) % fds.itemsize])
    for f in fds:
        os.close(f)
    s.close()
    return data.decode().strip() or "nothing"
for n, url in enumerate(sys.argv[2:]):
    print("asked", url, "got", ask(n, url), flush=True)
time.sleep(1000)
"""


def test_a_worker_asking_for_what_it_cannot_have_gets_nothing(pmd, tmp_path):
    """Requests a worker makes by hand, not through the library: a port
    out of range or not the app's, a specific address, trailing bytes.
    Each gets no socket and changes nothing; the one well-formed request
    gets the app's socket, widened."""
    port, other = free_port(), free_port()
    bad = ["tcp://[::]:0", "tcp://[::]:70000", f"tcp://[::]:{port}x",
           f"tcp://127.0.0.1:{port}", f"tcp://[::]:{other}", "tcp://[::]:"]
    (tmp_path / "asker.py").write_text(ASKER)
    pmd.start(f"[app:web]\ncommand = python3 asker.py {port} "
              + " ".join(bad) + f" tcp://[::]:{port}\n"
              f"cwd = {tmp_path}\nlisten = tcp://0.0.0.0:{port}\n")
    want = len(bad) + 1
    got = wait_until(lambda: len(asked := reports(pmd, "web", "asked ")) == want and asked,
                     what="every answer")
    for line, url in zip(got, bad):
        assert line == f"asked {url} got nothing", line
    assert got[-1] == f"asked tcp://[::]:{port} got pmd 1 0", got[-1]
    assert pmd.stderr().count("is now tcp://[::]") == 1
    assert pmd.show("web")["listening"] == [f"tcp://[::]:{port}"]
    assert pmd.ok("ping").returncode == 0


def free_low_port():
    """A free port below 1024: only root may bind it."""
    for port in range(700, 1000):
        s = socket.socket()
        try:
            s.bind(("0.0.0.0", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    pytest.skip("no free port below 1024")


def test_the_widened_address_is_bound_as_the_config_asked(pmd):
    """A privileged port that root's config binds for an app that runs as
    nobody: the widened [::] socket is made by pmd as it made the first
    one, not as the worker (who could not bind port < 1024)."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    port = free_low_port()
    d = tempfile.mkdtemp(prefix="pmd-family-")
    try:
        os.chmod(d, 0o755)
        with open(os.path.join(d, "v6.py"), "w") as f:
            f.write(V6_APP)
        pmd.start(f"[app:web]\ncommand = python3 v6.py {port} 0\ncwd = {d}\n"
                  f"user = nobody\nlisten = tcp://0.0.0.0:{port}\n")
        pmd.wait_status("web", "online")
        got = wait_until(lambda: reports(pmd, "web"), what="the worker's report")
        assert got[0].split()[1:4] == ["4", "::", "0"], (got, pmd.stderr())
        assert ask("127.0.0.1", port) and ask("::1", port)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_an_address_that_cannot_widen_stays_and_is_not_tried_again(pmd, tmp_path):
    """Another process holds [::]:PORT for IPv6 alone, so pmd cannot bind
    it dual-stack: the workers get the IPv4 socket, serve, and the warning
    is said once, not at each restart of a crashing worker."""
    port = free_port()
    other = socket.socket(socket.AF_INET6)
    other.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    other.bind(("::", port))
    other.listen(1)
    try:
        (tmp_path / "v6.py").write_text(V6_APP)
        pmd.start(f"[app:web]\ncommand = python3 v6.py {port} 0\ncwd = {tmp_path}\n"
                  f"listen = tcp://0.0.0.0:{port}\n")
        for n in range(1, 4):
            w = pmd.wait_status("web", "online")[0]
            got = wait_until(lambda: len(reports(pmd, "web")) == n and reports(pmd, "web"),
                             what=f"report {n}")
            assert got[-1].split()[1:3] == ["2", "0.0.0.0"], got
            assert ask("127.0.0.1", port) == w["pid"]
            os.kill(w["pid"], signal.SIGKILL)
            wait_until(lambda: pmd.workers("web")[0]["pid"] != w["pid"],
                       what="the next worker")
        assert pmd.stderr().count(f"its program binds [::]:{port}; "
                                  f"tcp://0.0.0.0:{port} stays IPv4 only") == 1
        assert "is now tcp://[::]" not in pmd.stderr()
    finally:
        other.close()


def test_connections_waiting_at_the_start_are_served_not_reset(pmd, tmp_path):
    """A client that connects before any worker binds waits in pmd's
    queue; widening then would reset it, so the address stays IPv4 and
    the client gets its answer."""
    port = free_port()
    go = tmp_path / "go"
    (tmp_path / "v6.py").write_text(V6_APP)
    pmd.start(f"[app:web]\ncommand = sh -c 'while [ ! -e {go} ]; do sleep 0.02; done; "
              f"exec python3 v6.py {port} 0'\ncwd = {tmp_path}\n"
              f"listen = tcp://0.0.0.0:{port}\n")
    answers = []
    t = threading.Thread(target=lambda: answers.append(ask("127.0.0.1", port)))
    t.start()
    # The connection is in the kernel's queue: nobody accepts yet.
    wait_until(lambda: f":{port:04X} " in open("/proc/net/tcp").read()
               and any(l.split()[3] == "01" and f":{port:04X}" in l.split()[2]
                       for l in open("/proc/net/tcp").read().splitlines()[1:]),
               what="the client's connection to be established")
    go.write_text("")
    t.join(30)
    w = pmd.wait_status("web", "online")[0]
    assert answers == [w["pid"]]
    assert f"tcp://0.0.0.0:{port} stays IPv4 only: connections wait on it" in pmd.stderr()
    assert reports(pmd, "web")[0].split()[1:3] == ["2", "0.0.0.0"]
