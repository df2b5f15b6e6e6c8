"""The examples under conf/ run as the README says."""
import http.client
import os
import re
import socket
import shutil

from conftest import ROOT, free_port, log_lines, wait_until


def test_example_conf_runs(pmd):
    # As it is, beside a copy of its worker (which the test then edits).
    worker = pmd.dir / "worker.sh"
    shutil.copy(os.path.join(ROOT, "conf", "worker.sh"), worker)
    pmd.start(open(os.path.join(ROOT, "conf", "example.conf")).read())
    ws = pmd.wait_status("hello", "online", count=3)
    out = pmd.logs / "hello.out.log"
    wait_until(lambda: sum("up; greeting: hello from pmd" in l for l in log_lines(out)) == 3,
               what="three greetings")
    # Saving worker.sh replaces the workers (watch_paths), one at a time.
    old = {w["pid"] for w in ws}
    worker.write_text(worker.read_text() + "# edited\n")
    wait_until(lambda: "hello: reload done: 3 workers replaced" in pmd.stderr(),
               what="the reload after the edit")
    assert "hello: watch: worker.sh changed" in pmd.stderr()
    ws = pmd.wait_status("hello", "online", count=3)
    assert not {w["pid"] for w in ws} & old
    # The worker exits 0 on SIGTERM, within kill_timeout: the three the
    # reload replaced, then the three stopped now.
    pmd.ok("stop", "hello")
    assert sum(l.endswith("got SIGTERM, bye") for l in log_lines(out)) == 6
    assert all(w["status"] == "stopped" for w in pmd.workers("hello"))
    assert len(ws) == 3


def test_cluster_conf_runs_and_reloads(pmd):
    port = free_port()
    text = open(os.path.join(ROOT, "conf", "cluster.conf")).read()
    pmd.start(text.replace("python3 hello-web.py", f"python3 {ROOT}/conf/hello-web.py")
              .replace("127.0.0.1:8000", f"127.0.0.1:{port}"))
    old = {w["pid"] for w in pmd.wait_status("web", "online", count=2)}

    def hello():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/")
        body = c.getresponse().read().decode()
        c.close()
        return body
    assert hello().startswith("hello from worker ")
    pmd.ok("reload", "web")
    new = {w["pid"] for w in pmd.workers("web")}
    assert not new & old
    assert int(hello().split("pid ")[1].rstrip(")\n")) in new


def test_system_pmd_conf_reads_apps_d(pmd, tmp_path):
    """conf/pmd.conf, installed as /etc/pmd/pmd.conf: apps.d/*.conf, and
    reload-config when a file is added there."""
    etc = tmp_path / "etc"
    (etc / "apps.d").mkdir(parents=True)
    conf = etc / "pmd.conf"
    conf.write_text(open(os.path.join(ROOT, "conf", "pmd.conf")).read())
    pmd.start(args=["-c", conf])
    assert pmd.workers() == []
    (etc / "apps.d" / "hello.conf").write_text(
        f"[app:hello]\ncommand = sh {ROOT}/conf/worker.sh\ninstances = 2\n")
    assert pmd.json("reload-config")["added"] == ["hello"]
    assert pmd.wait_status("hello", "online", count=2)


def test_readme_adhoc_http_server_runs_as_shipped(pmd, tmp_path):
    """The README's `pmctl start --name web -- python3 -m http.server 8000`
    (on a free port here, the rest as shipped) comes up and serves."""
    line = next(l for l in open(os.path.join(ROOT, "README.md"))
                if "pmctl start --name web --" in l)
    args = line.split("./pmctl ", 1)[1].split("#")[0].split()
    port = str(free_port())
    args = [port if a == "8000" else a for a in args]
    pmd.start()
    pmd.ok(*args, cwd=tmp_path)
    pmd.wait_status("web", "online")

    def serves():
        try:
            with socket.create_connection(("127.0.0.1", int(port)), timeout=2) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                return re.match(rb"HTTP/1\.0 200", s.recv(64))
        except OSError:
            return False
    wait_until(serves, what="http.server to serve")
