"""Cluster mode for unchanged apps: a worker's own bind() of its app's
listen address gets pmd's socket (pmd-preload.so), through wrappers too,
and the worker counts as online once it listens. Real servers: Node
(plain and under npm), Python's http.server, redis on a unix socket.
"""
import array
import http.client
import os
import socket
import subprocess

from conftest import (NODE_APP, ROOT, Hammer, environ, free_port, get_pid, log_lines, pid_alive,
                      spread, wait_until)

def test_unchanged_node_listen_port_shares_the_port(pmd, tmp_path):
    port = free_port()
    (tmp_path / "app.js").write_text(NODE_APP)
    pmd.start()
    # Node binds [::] (dual-stack) where pmd holds 0.0.0.0.
    pmd.ok("start", "--name", "web", "-i", "2", "--listen", f"tcp://0.0.0.0:{port}",
           "--", "node", str(tmp_path / "app.js"), env={"PORT": str(port)})
    ws = pmd.wait_status("web", "online", count=2)
    # Online because it listens: pmctl start returned once both did.
    for w in ws:
        assert f"web:{w['instance']}: pid {w['pid']} listens" in pmd.stderr()
    spread(pmd, port)
    env = environ(ws[0]["pid"])
    assert env[b"PMD_LISTEN"] == f"tcp://0.0.0.0:{port}".encode()
    assert env[b"LD_PRELOAD"].endswith(b"/pmd-preload.so")
    assert pmd.show("web")["workers"][0]["restarts"] == 0
    # A process outside the workers' sessions asks the handoff socket in
    # vain: no sockets, and the connection closes.
    name = env[b"PMD_LISTEN_SOCKET"].decode()
    assert name.startswith("@")
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect("\0" + name[1:])
    fds = array.array("i")
    data, anc, _, _ = s.recvmsg(64, socket.CMSG_LEN(16 * fds.itemsize))
    s.close()
    assert data == b"" and anc == []


def test_turned_off_the_app_binds_for_itself(pmd, tmp_path):
    """listen_preload = false: the worker's bind is its own, and finds the
    port taken (what the key is for: apps that must bind for themselves)."""
    port = free_port()
    (tmp_path / "app.js").write_text(NODE_APP)
    pmd.start(f"""
[app:web]
command = node app.js
cwd = {tmp_path}
listen = tcp://0.0.0.0:{port}
listen_preload = false
env.PORT = {port}
max_restarts = 1
min_uptime = 5s
""")
    pmd.wait_status("web", "errored")
    assert "EADDRINUSE" in "\n".join(log_lines(pmd.logs / "web.err.log"))
    assert pmd.show("web")["config"]["listen_preload"] == "false"


def test_through_npm_start(pmd, tmp_path):
    """npm runs sh, which runs node: the library comes along, and the
    sockets come from pmd, whatever fds the wrappers closed."""
    port = free_port()
    (tmp_path / "app.js").write_text(NODE_APP)
    (tmp_path / "package.json").write_text(
        '{"name": "app", "version": "1.0.0", "scripts": {"start": "node app.js"}}\n')
    pmd.start(f"""
[app:web]
command = npm start
cwd = {tmp_path}
instances = 2
listen = tcp://127.0.0.1:{port}
env.PORT = {port}
""")
    pmd.wait_status("web", "online", count=2)
    # The node processes answer: children of the workers (npm), in their
    # process groups.
    seen = set()
    wait_until(lambda: seen.add(get_pid(port)) or len(seen) == 2, timeout=20,
               what="both node processes to answer")
    for pid in seen:
        assert os.getpgid(pid) in {w["pid"] for w in pmd.workers("web")}


def test_python_http_server_two_instances(pmd, tmp_path):
    port = free_port()
    (tmp_path / "index.html").write_text("hello\n")
    pmd.start()
    pmd.ok("start", "--name", "web", "-i", "2", "--listen", f"tcp://127.0.0.1:{port}",
           "--", "python3", "-m", "http.server", str(port), "--bind", "127.0.0.1",
           cwd=tmp_path)
    ws = pmd.wait_status("web", "online", count=2)
    for _ in range(4):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/index.html")
        assert c.getresponse().read() == b"hello\n"
        c.close()
    # Each serves on pmd's socket (the one it also inherited as fd 3)
    # under its own fd, and neither was restarted.
    for w in ws:
        fds = f"/proc/{w['pid']}/fd"
        pmds = os.readlink(f"{fds}/3")
        assert any(os.readlink(f"{fds}/{fd}") == pmds for fd in os.listdir(fds)
                   if int(fd) > 3)
    assert all(w["restarts"] == 0 for w in pmd.workers("web"))


def test_addresses_pmd_does_not_hold_are_left_alone(pmd, tmp_path):
    """A worker binding another port binds it itself; outside pmd's
    workers the library is inert."""
    port, other = free_port(), free_port()
    (tmp_path / "two.js").write_text(f"""
const http = require('http');
http.createServer((q, r) => r.end('main\\n')).listen({port});
http.createServer((q, r) => r.end(`other ${{process.pid}}\\n`)).listen({other}, '127.0.0.1');
""")
    pmd.start(f"[app:two]\ncommand = node two.js\ncwd = {tmp_path}\n"
              f"listen = tcp://127.0.0.1:{port}\n")
    w = pmd.wait_status("two", "online")[0]
    assert get_pid(other) == w["pid"]
    env = environ(w["pid"])
    # Run by hand with the worker's variables, a program binds as ever:
    # pmd knows it for none of its workers.
    e = dict(os.environ)
    e.update({k.decode(): v.decode() for k, v in env.items()
              if k in (b"LD_PRELOAD", b"PMD_LISTEN", b"PMD_LISTEN_SOCKET")})
    r = subprocess.run(["python3", "-c", f"""
import socket
s = socket.socket()
try:
    s.bind(("127.0.0.1", {port}))
except OSError as e:
    print(e.errno)
"""], env=e, capture_output=True, text=True, timeout=30)
    assert r.stdout.strip() == "98"   # EADDRINUSE: not pmd's socket


def test_node_cluster_conf_reloads_under_load_without_a_failure(pmd):
    """conf/node-cluster.conf as shipped (another port): the instances
    share the port, and keep-alive clients see no failed request through
    reloads; each reload waits for the new workers to listen, not for
    min_uptime."""
    port = free_port()
    text = open(os.path.join(ROOT, "conf", "node-cluster.conf")).read()
    text = text.replace("node node-web.js", f"node {ROOT}/conf/node-web.js")
    pmd.start(text.replace("3000", str(port)).replace("instances = max", "instances = 2"))
    old = spread(pmd, port)
    h = Hammer(port)
    try:
        wait_until(lambda: h.ok > 50, what="traffic")
        for _ in range(2):
            pmd.ok("reload", "web")
        new = {w["pid"] for w in pmd.workers("web")}
        assert not new & old
        wait_until(lambda: new & h.seen, timeout=20, what="the new workers to answer")
        n = h.ok
        wait_until(lambda: h.ok > n + 50, what="more traffic")
    finally:
        h.finish()
    assert h.errors == []
    assert all(not pid_alive(p) for p in old)
    # Each new worker was online when it listened.
    assert all(f"pid {p} listens" in pmd.stderr() for p in new)


def redis_ping(path):
    r = subprocess.run(["redis-cli", "-s", str(path), "ping"], capture_output=True,
                       text=True, timeout=10)
    return r.stdout.strip() == "PONG"


def test_redis_on_a_unix_socket_reloads_in_both_orders(pmd, tmp_path):
    """redis unlinks its socket path before bind and at shutdown: the path
    is pmd's, so it survives the old redis in either order."""
    path = tmp_path / "redis.sock"
    conf = pmd.write_config(f"""
[app:redis]
command = redis-server --port 0 --unixsocket {path} --save "" --appendonly no
cwd = {tmp_path}
listen = unix:{path}
""")
    pmd.start(args=["-c", str(conf)], wait=True)
    pid = pmd.wait_status("redis", "online")[0]["pid"]
    wait_until(lambda: redis_ping(path), what="redis to answer")
    for order in ("start-first", "stop-first"):
        conf.write_text(conf.read_text() + f"reload_order = {order}\n")
        pmd.ok("reload", "redis")
        new = pmd.wait_status("redis", "online")[0]["pid"]
        assert new != pid and not pid_alive(pid)
        pid = new
        assert path.exists()
        wait_until(lambda: redis_ping(path), what=f"redis to answer after a {order} reload")
        conf.write_text(conf.read_text().replace(f"reload_order = {order}\n", ""))
    pmd.ok("delete", "redis")
    assert not path.exists()


WSGI = """
import os
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{os.getpid()}\\n".encode()]
"""
ASGI = """
import os
async def app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": f"{os.getpid()}\\n".encode()})
"""


def test_gunicorn_and_uvicorn_as_documented(pmd, tmp_path):
    """The commands pmd.conf(5) gives: gunicorn adopting LISTEN_FDS with
    wait_ready (its README.md form too), gunicorn and uvicorn binding their
    own port, uvicorn --fd 3. Each serves from its workers and reloads."""
    (tmp_path / "app.py").write_text(WSGI)
    (tmp_path / "asgi.py").write_text(ASGI)
    ports = [free_port() for _ in range(4)]
    pmd.start(f"""
[app:gfd]
command = gunicorn --workers 1 app:app
instances = 2
listen = tcp://127.0.0.1:{ports[0]}
wait_ready = true
[app:gbind]
command = gunicorn --workers 1 --bind 127.0.0.1:{ports[1]} app:app
instances = 2
listen = tcp://127.0.0.1:{ports[1]}
[app:ufd]
command = uvicorn --fd 3 asgi:app
listen = tcp://127.0.0.1:{ports[2]}
[app:uport]
command = uvicorn --host 127.0.0.1 --port {ports[3]} asgi:app
instances = 2
listen = tcp://127.0.0.1:{ports[3]}
""")   # cwd: the config's directory, tmp_path
    for name, port in zip(("gfd", "gbind", "ufd", "uport"), ports):
        pmd.wait_status(name, "online")
        get_pid(port)
        pmd.ok("reload", name)
        get_pid(port)
        assert all(w["restarts"] == 0 for w in pmd.workers(name)), name


def test_pmctl_man_page_example_shares_the_port(pmd, tmp_path):
    """pmctl(1)'s four http.servers, as shipped but for the port."""
    page = open(os.path.join(ROOT, "man", "pmctl.1")).read()
    line = next(l for l in page.splitlines() if "-i 4" in l and "http.server" in l)
    port = str(free_port())
    args = line.split()[2:]   # after "$ pmctl"
    args = [a.replace("8000", port) for a in args]
    pmd.start()
    pmd.ok(*args, cwd=tmp_path)
    pmd.wait_status("web", "online", count=4)
    pmd.ok("scale", "web", "2")
    pmd.wait_status("web", "online", count=2)
    c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
    c.request("GET", "/")
    assert c.getresponse().status == 200
    c.close()


def test_the_handed_socket_keeps_what_the_app_set_and_libc_answers(pmd, tmp_path):
    """Options the app set on its own socket before bind (TCP_NODELAY,
    SO_KEEPALIVE, keepalive timing) are on pmd's socket that replaces it,
    and a wrapped call given what libc takes (unlinkat of NULL) answers as
    libc does instead of crashing the app."""
    port = free_port()
    (tmp_path / "opts.py").write_text(f"""
import ctypes, errno, socket, time
s = socket.socket()
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 77)
s.bind(("127.0.0.1", {port}))
s.listen(16)
libc = ctypes.CDLL(None, use_errno=True)
r = libc.unlinkat(-100, None, 0)
print("options", s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY),
      s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
      s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
      "unlinkat", r, errno.errorcode.get(ctypes.get_errno()), flush=True)
time.sleep(1000)
""")
    pmd.start(f"[app:opts]\ncommand = python3 opts.py\ncwd = {tmp_path}\n"
              f"listen = tcp://127.0.0.1:{port}\n")
    w = pmd.wait_status("opts", "online")[0]
    assert environ(w["pid"]).get(b"LD_PRELOAD"), "the library is loaded"
    lines = wait_until(lambda: [l for l in log_lines(pmd.logs / "opts.out.log")
                                if l.startswith("options")], what="the worker's report")
    assert lines[0].split() == ["options", "1", "1", "77", "unlinkat", "-1", "EFAULT"]
    assert pmd.workers("opts")[0]["restarts"] == 0


def test_a_stranger_on_the_handoff_socket_gets_nothing(pmd, tmp_path):
    """The abstract handoff socket takes anyone's connect: a uid that runs
    no app with listen is closed at once with no socket, however many
    times it tries, and workers still get theirs meanwhile."""
    port = free_port()
    pmd.start(f"[app:web]\ncommand = python3 -m http.server {port} --bind 127.0.0.1\n"
              f"cwd = {tmp_path}\nlisten = tcp://127.0.0.1:{port}\n")
    w = pmd.wait_status("web", "online")[0]
    name = environ(w["pid"])[b"PMD_LISTEN_SOCKET"].decode()
    assert name.startswith("@")
    flood = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c",
         "import array, socket\n"
         "got = 0\n"
         "for i in range(1000):\n"
         "    s = socket.socket(socket.AF_UNIX)\n"
         f"    s.connect('\\0' + {name[1:]!r})\n"
         "    if i % 100 == 0:\n"
         "        s.settimeout(10)\n"
         "        msg, anc, flags, addr = s.recvmsg(64, socket.CMSG_SPACE(64))\n"
         "        got += len(anc) + len(msg)\n"
         "    s.close()\n"
         "print('got', got)\n"], capture_output=True, text=True, timeout=120)
    assert flood.stdout == "got 0\n", flood.stderr
    # A worker still gets its socket: a restart comes back online and serves.
    pmd.ok("restart", "web")
    new = pmd.wait_status("web", "online")[0]
    assert new["pid"] != w["pid"]
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/")
    assert c.getresponse().status == 200
