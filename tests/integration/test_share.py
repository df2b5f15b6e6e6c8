"""listen_share: PM2's cluster mode without listen. An app with several
instances whose workers bind an address themselves (`PORT=3000 pmctl start
app.js -i 4`) shares it as a listen app does: pmd binds it on the first
worker's bind, every instance gets it, a reload starts the new worker
first and fails no request. A single instance binds for itself as ever;
the key turns it off.
"""
import json
import os
import socket
import subprocess
import sys

from conftest import (NODE_APP, PMCTL, Hammer, environ, free_port, get_pid, log_lines,
                      npm_modules, spread, wait_until)

# A worker that reports how its binds went, in the order it made them.
BINDS = """
import json, os, socket, sys, time
port = int(sys.argv[1])
out = {}
a = socket.socket()
a.bind(("127.0.0.1", port)); a.listen()
out["first"] = "ok"
b = socket.socket()
try:
    b.bind(("127.0.0.1", port))
    out["again"] = "ok"
except OSError as e:
    out["again"] = e.errno
c = socket.socket()
c.bind(("127.0.0.1", 0))
out["ephemeral"] = c.getsockname()[1] != 0
with open(sys.argv[2] + "." + os.environ["PMD_INSTANCE"], "w") as f:
    json.dump(out, f)
while True:
    conn, _ = a.accept()
    conn.recv(4096)
    conn.sendall(b"HTTP/1.0 200 OK\\r\\n\\r\\n%d\\n" % os.getpid())
    conn.close()
"""


def node_web(pmd, tmp_path, port, keys):
    """pmd on one app, web: NODE_APP on port, with keys."""
    (tmp_path / "app.js").write_text(NODE_APP)
    pmd.start(f"[app:web]\ncommand = node app.js\ncwd = {tmp_path}\n"
              f"env.PORT = {port}\n" + keys)


def stable(pmd, name, count, seconds=2.0):
    """count online workers that stay up, unrestarted, past min_uptime."""
    pmd.wait_status(name, "online", count=count, timeout=20)
    wait_until(lambda: all(w["uptime_ms"] >= seconds * 1000 for w in pmd.workers(name)),
               timeout=20, what=f"{name} up {seconds}s")
    ws = pmd.workers(name)
    assert len(ws) == count and all(w["status"] == "online" and w["restarts"] == 0
                                    for w in ws), ws
    return ws


def test_pm2s_first_command_shares_the_port_and_reloads_without_a_loss(pmd, tmp_path):
    port = free_port()
    (tmp_path / "app.js").write_text(NODE_APP)
    pmd.start()
    pmd.ok("start", "app.js", "-i", "4", cwd=tmp_path, env={"PORT": str(port)})
    ws = stable(pmd, "app", 4)
    spread(pmd, port, "app")
    show = pmd.show("app")
    assert show["shared"] == [f"tcp://[::]:{port}"]
    assert show["config"]["listen_share"] == "true"
    assert f"app: its workers share tcp://[::]:{port}, as with listen" in pmd.stderr()
    text = pmd.ok("show", "app").stdout
    assert f"tcp://[::]:{port} (bound by its workers: listen_share)" in text
    assert environ(ws[0]["pid"])[b"PMD_LISTEN_SHARE"] == b"1"
    # A reload under load: new worker first, as for listen apps.
    h = Hammer(port)
    try:
        wait_until(lambda: h.ok > 50, what="traffic")
        before = {w["pid"] for w in ws}
        pmd.ok("reload", "app")
        wait_until(lambda: h.ok > 100, what="traffic after the reload")
    finally:
        h.finish()
    assert h.errors == [], h.errors[:5]
    after = {w["pid"] for w in pmd.workers("app")}
    assert not before & after and len(after) == 4
    assert "reload done: 4 workers replaced" in pmd.stderr()


def test_command_form_ini_and_ecosystem_fork_mode_share_too(pmd, tmp_path):
    p1, p2, p3 = free_port(), free_port(), free_port()
    (tmp_path / "app.js").write_text(NODE_APP)
    (tmp_path / "ecosystem.config.js").write_text(f"""
module.exports = {{ apps: [{{ name: 'eco', script: 'app.js', instances: 2,
  exec_mode: 'fork', env: {{ PORT: {p3} }} }}] }};
""")
    pmd.start(f"""
[app:ini]
command = node app.js
cwd = {tmp_path}
instances = 3
env.PORT = {p2}
""")
    pmd.ok("start", "--name", "py", "-i", "2", "--", sys.executable, "-m", "http.server",
           str(p1), "--bind", "127.0.0.1", cwd=tmp_path)
    pmd.ok("start", "ecosystem.config.js", cwd=tmp_path)
    stable(pmd, "py", 2)
    stable(pmd, "ini", 3)
    stable(pmd, "eco", 2)
    spread(pmd, p2, "ini")
    spread(pmd, p3, "eco")
    assert pmd.show("py")["shared"] == [f"tcp://127.0.0.1:{p1}"]


def test_only_the_first_address_is_shared_and_one_instance_binds_its_own(pmd, tmp_path):
    port, solo = free_port(), free_port()
    (tmp_path / "binds.py").write_text(BINDS)
    (tmp_path / "app.js").write_text(NODE_APP)
    pmd.start()
    pmd.ok("start", "--name", "b", "-i", "2", "--", sys.executable, "binds.py", port,
           tmp_path / "out", cwd=tmp_path)
    wait_until(lambda: all((tmp_path / f"out.{i}").exists() for i in (0, 1)),
               what="both workers to report")
    for i in (0, 1):
        got = json.loads((tmp_path / f"out.{i}").read_text())
        # The first bind is pmd's socket; a second bind of the same address
        # is the worker's own (the kernel refuses it); port 0 is left alone.
        assert got == {"first": "ok", "again": 98, "ephemeral": True}, got
    spread(pmd, port, "b")
    # One instance: no sharing, the worker binds the port itself.
    pmd.ok("start", "--name", "solo", "--", "node", "app.js", cwd=tmp_path,
           env={"PORT": str(solo)})
    w = stable(pmd, "solo", 1, seconds=1)[0]
    assert b"PMD_LISTEN_SHARE" not in environ(w["pid"])
    assert "shared" not in pmd.show("solo")
    assert get_pid(solo) == w["pid"]


def test_listen_share_false_keeps_each_instance_binding_for_itself(pmd, tmp_path):
    port = free_port()
    node_web(pmd, tmp_path, port, "instances = 2\nlisten_share = false\n"
             "max_restarts = 1\nmin_uptime = 5s\n")
    wait_until(lambda: any(w["status"] == "errored" for w in pmd.workers("web")),
               timeout=20, what="the second instance to give up")
    assert "EADDRINUSE" in "\n".join(log_lines(pmd.logs / "web.err.log"))


def test_a_bind_the_worker_may_not_make_is_refused_as_its_own_would_be(pmd, tmp_path):
    """Workers that run as another user: pmd binds what they ask for as
    that user, so a privileged port is refused with EACCES, and a port
    another process holds with EADDRINUSE; the worker's bind() says so."""
    held = free_port()
    other = socket.socket()
    other.bind(("127.0.0.1", held))
    other.listen()
    BIND = ("""
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError as e:
    print("bind failed:", e.errno, flush=True)
    sys.exit(3)
""")
    script = "/tmp/pmd-test-bind-%d.py" % os.getpid()
    with open(script, "w") as f:
        f.write(BIND)
    os.chmod(script, 0o644)
    pmd.start(f"""
[app:low]
command = {sys.executable} {script} 81
cwd = /
user = nobody
instances = 2
max_restarts = 0

[app:taken]
command = {sys.executable} {script} {held}
instances = 2
max_restarts = 0
""")
    try:
        wait_until(lambda: all(w["status"] == "errored" for w in pmd.workers("low") +
                               pmd.workers("taken")), timeout=20, what="both to give up")
    finally:
        other.close()
        os.unlink(script)
    assert "bind failed: 13" in "\n".join(log_lines(pmd.logs / "low.out.log"))
    assert "bind failed: 98" in "\n".join(log_lines(pmd.logs / "taken.out.log"))
    assert "low:" in pmd.stderr() and "binds tcp://127.0.0.1:81: listen " \
        "tcp://127.0.0.1:81: bind: Permission denied" in pmd.stderr()
    assert "shared" not in pmd.show("low")


OWN_HANDLER = """
const http = require('http');
const server = http.createServer((req, res) => res.end(`${process.pid}\\n`));
server.listen(Number(process.env.PORT));
// As NestJS's enableShutdownHooks() and many Express apps do: close the
// server on the stop signal and exit when it has closed.
for (const sig of ['SIGINT', 'SIGTERM'])
  process.on(sig, () => server.close(() => process.exit(0)));
"""


def test_an_app_with_its_own_stop_handler_reloads_without_a_loss(pmd, tmp_path):
    """pmd-drain.js leaves the exit to the app's own handler, but from the
    signal on the responses ask keep-alive clients to close and the app's
    server.close() does not cut idle connections under a request."""
    port = free_port()
    (tmp_path / "app.js").write_text(OWN_HANDLER)
    pmd.start()
    pmd.ok("start", "app.js", "-i", "2", cwd=tmp_path, env={"PORT": str(port)})
    stable(pmd, "app", 2, seconds=1)
    h = Hammer(port)
    try:
        wait_until(lambda: h.ok > 50, what="traffic")
        for _ in range(3):
            pmd.ok("reload", "app")
            n = h.ok
            wait_until(lambda: h.ok > n + 50, what="traffic after a reload")
    finally:
        h.finish()
    assert h.errors == [], (len(h.errors), h.errors[:5])
    # Each old worker exited by its own hand, not by SIGKILL.
    assert "SIGKILL" not in pmd.stderr()


SIO_SERVER = """
const http = require('http');
const { Server } = require('socket.io');
const server = http.createServer();
const io = new Server(server);
io.on('connection', (s) => s.on('hello', (m, ack) => ack(process.pid)));
server.listen(Number(process.env.PORT));
"""

# n clients with socket.io's default transports (long-polling, then the
# upgrade to a WebSocket), client i from 127.0.0.(1 + i % 12): each says
# hello before and after the upgrade and reports the pids that answered.
SIO_CLIENTS = """
const http = require('http');
const { io } = require('socket.io-client');
const [port, n] = [process.argv[2], Number(process.argv[3])];
const results = [];
function one(i) {
  return new Promise((resolve) => {
    const localAddress = `127.0.0.${1 + i % 12}`;
    const agent = new http.Agent({ localAddress, keepAlive: true });
    const s = io(`http://127.0.0.1:${port}`, { agent, localAddress, forceNew: true,
      reconnection: false, timeout: 10000 });
    const r = { i, source: localAddress, pids: [], error: null };
    const done = (err) => { r.error = err; s.close(); agent.destroy(); resolve(r); };
    s.on('connect_error', (e) => done(String(e)));
    s.on('connect', () => {
      s.emit('hello', 'polling', (pid) => {
        r.pids.push(pid);
        const after = () => s.emit('hello', 'websocket', (pid2) => {
          r.pids.push(pid2);
          r.transport = s.io.engine.transport.name;
          done(null);
        });
        if (s.io.engine.transport.name === 'websocket') after();
        else s.io.engine.once('upgrade', after);
      });
    });
    setTimeout(() => done('timed out'), 15000).unref();
  });
}
Promise.all([...Array(n).keys()].map(one)).then((rs) => {
  process.stdout.write(JSON.stringify(rs));
  process.exit(0);
});
"""


def test_socket_io_with_sticky_instances_connects_every_client(pmd, tmp_path):
    """socket.io's long-polling needs each client's requests on one
    instance: listen_balance = sticky gives it that, with 4 instances and
    no change to the app (socket.io and its client from npm)."""
    npm_modules(tmp_path, "socket.io@4", "socket.io-client@4")
    port = free_port()
    (tmp_path / "server.js").write_text(SIO_SERVER)
    (tmp_path / "clients.js").write_text(SIO_CLIENTS)
    pmd.start()
    pmd.ok("start", "server.js", "-i", "4", "--listen_balance", "sticky", cwd=tmp_path,
           env={"PORT": str(port)})
    stable(pmd, "server", 4, seconds=1)
    r = subprocess.run(["node", "clients.js", str(port), "24"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    results = json.loads(r.stdout)
    failed = [c for c in results if c["error"] or c.get("transport") != "websocket"]
    assert failed == [], failed[:3]
    by_source = {}
    for c in results:
        assert len(set(c["pids"])) == 1, c          # one instance, both transports
        by_source.setdefault(c["source"], set()).update(c["pids"])
    assert all(len(p) == 1 for p in by_source.values()), by_source
    served = set().union(*by_source.values())
    assert len(served) > 1, served
    assert served <= {w["pid"] for w in pmd.workers("server")}
    assert pmd.show("server")["config"]["listen_balance"] == "sticky"


def test_sticky_keeps_each_client_address_on_its_instance_across_a_reload(pmd, tmp_path):
    port = free_port()
    node_web(pmd, tmp_path, port, f"instances = 4\nlisten = tcp://127.0.0.1:{port}\n"
             "listen_balance = sticky\n")
    pmd.wait_status("web", "online", count=4)

    def who():
        seen = {}
        for src in range(1, 13):
            for _ in range(3):
                s = socket.create_connection(("127.0.0.1", port), timeout=10,
                                             source_address=(f"127.0.0.{src}", 0))
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                data = b""
                while chunk := s.recv(4096):
                    data += chunk
                s.close()
                seen.setdefault(src, set()).add(int(data.split(b"\r\n\r\n")[1]))
        assert all(len(p) == 1 for p in seen.values()), seen
        return seen

    before = who()
    assert len(set().union(*before.values())) > 1
    # A reload keeps each instance's socket in the group: with the new
    # pids in place of the old, every address reaches the same instance.
    old = {w["pid"]: w["instance"] for w in pmd.workers("web")}
    pmd.ok("reload", "web")
    new = {w["pid"]: w["instance"] for w in pmd.workers("web")}
    after = who()
    assert {s: old[p.pop()] for s, p in before.items()} == \
        {s: new[p.pop()] for s, p in after.items()}


def test_sticky_on_a_unix_socket_is_refused_naming_the_key(pmd, tmp_path):
    pmd.start()
    bad = pmd.write_config(f"""
[app:u]
command = sleep 100
listen = unix:{tmp_path}/u.sock
listen_balance = sticky
""", "bad.conf")
    r = pmd.ctl("start", bad)
    assert r.returncode != 0
    assert "listen_balance = sticky takes tcp:// addresses only" in r.stderr, r.stderr
    r = subprocess.run([os.path.join(os.path.dirname(PMCTL), "pmd"), "-t", "-c", str(bad)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 78 and f"{bad}:2: [app:u]: listen_balance = sticky" in r.stderr
    # Ad hoc, the start fails with the same words.
    r = pmd.ctl("start", "--name", "u2", "--listen", f"unix:{tmp_path}/u2.sock",
                "--listen_balance", "sticky", "--", "sleep", "100")
    assert r.returncode == 1 and "listen_balance = sticky takes tcp:// addresses" in r.stderr
