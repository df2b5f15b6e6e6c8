"""[daemon] metrics: /metrics in the Prometheus text format (checked by
promtool), /healthz for probes, served from pmd's loop without letting a
slow or malformed client cost the others."""
import http.client
import json
import os
import re
import socket
import subprocess
import time

from conftest import churning, free_port, wait_until


def get(port, path, method="GET"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, path)
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    return r.status, r.getheader("Content-Type"), body


def value(text, name, **labels):
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    m = re.search(r"^%s\{%s\} (\S+)$" % (re.escape(name), re.escape(want)), text, re.M)
    return float(m.group(1)) if m else None


def test_metrics_and_healthz(pmd, tmp_path):
    port = free_port()
    (tmp_path / "count.py").write_text(
        'import json, os, time\nfd = int(os.environ["PMD_IPC_FD"])\n'
        'os.write(fd, b\'{"type": "metrics", "data": {"requests": 42}}\\n\')\n'
        'time.sleep(1000)\n')
    pmd.start(f"""
[daemon]
metrics = tcp://127.0.0.1:{port}

[app:web]
command = python3 count.py
instances = 2

[app:bad]
command = sh -c 'exit 1'
max_restarts = 1
""")
    pmd.wait_status("web", "online", count=2)
    pmd.wait_status("bad", "errored")
    status, ctype, body = get(port, "/healthz")
    assert status == 503 and ctype == "application/json"
    assert json.loads(body) == {"missing": [{"app": "bad", "instance": 0,
                                             "status": "errored"}], "status": "unhealthy"}
    wait_until(lambda: value(get(port, "/metrics")[2], "pmd_worker_custom", app="web",
                             worker="0", metric="requests") == 42, what="the custom metric")
    pmd.ok("reload", "web")
    status, ctype, text = get(port, "/metrics")
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert value(text, "pmd_worker_up", app="web", worker="1") == 1
    assert value(text, "pmd_worker_up", app="bad", worker="0") == 0
    assert value(text, "pmd_worker_state", app="bad", worker="0", state="errored") == 1
    assert value(text, "pmd_worker_restarts_total", app="bad", worker="0") == 1
    assert value(text, "pmd_app_instances_wanted", app="web") == 2
    assert value(text, "pmd_app_instances_online", app="web") == 2
    assert value(text, "pmd_app_reloads_total", app="web") == 1
    assert value(text, "pmd_app_reloads_failed_total", app="web") == 0
    assert value(text, "pmd_worker_memory_bytes", app="web", worker="0") > 0
    assert value(text, "pmd_worker_cpu_seconds_total", app="web", worker="0") >= 0
    assert value(text, "pmd_app_log_lines_dropped_total", app="web") == 0
    assert re.search(r"^process_open_fds \d+$", text, re.M)
    assert re.search(r"^process_resident_memory_bytes \d+$", text, re.M)
    # Healthy once the app that failed is stopped by the user.
    pmd.ok("stop", "bad")
    status, _, body = get(port, "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"
    assert get(port, "/metrics", "POST")[0] == 405
    assert get(port, "/nothing")[0] == 404


def test_metrics_on_a_unix_socket(pmd, tmp_path):
    path = tmp_path / "metrics.sock"
    pmd.start(f"[daemon]\nmetrics = unix:{path}\n[app:a]\ncommand = sleep 1000\n")
    pmd.wait_status("a", "online")
    r = subprocess.run(["curl", "-s", "--unix-socket", str(path), "http://pmd/healthz"],
                       capture_output=True, text=True, timeout=30)
    assert json.loads(r.stdout)["status"] == "ok"


def healthy(port):
    try:
        return get(port, "/healthz")[0] == 200
    except OSError:     # refused while the others still held their places
        return False


def test_bad_metrics_clients_and_configs(pmd, tmp_path):
    port = free_port()
    pmd.start(f"[daemon]\nmetrics = tcp://127.0.0.1:{port}\n"
              f"[app:a]\ncommand = sleep 1000\nmin_uptime = 0\n")
    pid = pmd.wait_status("a", "online")[0]["pid"]
    # Garbage, an endless header, and clients that say nothing.
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /metrics HTTP/9.9\r\n\r\n")
    assert s.recv(100).startswith(b"HTTP/1.1 505")
    s.close()
    garbage = socket.create_connection(("127.0.0.1", port))
    garbage.sendall(b"\x00\x01garbage\r\n\r\n")
    s = socket.create_connection(("127.0.0.1", port))
    try:
        s.sendall(b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 200000 + b"\r\n\r\n")
    except OSError:
        pass    # closed on us: as good as an error reply
    s.close()
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(30)]
    try:
        # Supervision and the control socket do not wait for them.
        os.kill(pid, 9)
        wait_until(lambda: pmd.workers("a")[0]["pid"] not in (0, pid), what="the restart")
        assert pmd.ok("ping")
    finally:
        for s in idle + [garbage]:
            s.close()
    wait_until(lambda: healthy(port), what="metrics to serve again")
    rss = int(next(l for l in open(f"/proc/{pmd.proc.pid}/status")
                   if l.startswith("VmRSS")).split()[1])
    assert rss < 64 * 1024
    # Bad values name the key; a taken address stops pmd with the reason.
    r = pmd.ctl("start", pmd.write_config("[daemon]\nmetrics = http://x\n", "bad.conf"))
    bad = subprocess.run([pmd.proc.args[0], "-c", str(pmd.dir / "bad.conf")], env=pmd.env,
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 78 and "bad.conf:2: metrics:" in bad.stderr
    other = dict(pmd.env, PMD_HOME=str(tmp_path / "other"))
    taken = pmd.write_config(f"[daemon]\nmetrics = tcp://127.0.0.1:{port}\n", "taken.conf")
    r = subprocess.run([pmd.proc.args[0], "-c", str(taken)], env=other, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and "listen tcp://127.0.0.1:%d" % port in r.stderr


def test_a_scrape_made_while_apps_come_and_go_is_whole(pmd):
    """/metrics is made a batch of workers at a time while pmd goes on
    supervising: apps started and deleted between batches never cut a
    family in two or name a worker twice, and the text stays valid."""
    port = free_port()
    texts = []
    with churning(pmd, extra=f"[daemon]\nmetrics = tcp://127.0.0.1:{port}\n") as churned:
        while len(churned) < 3 or len(texts) < 3:
            status, _, text = get(port, "/metrics")
            assert status == 200
            texts.append(text)
    for text in texts:
        r = subprocess.run(["promtool", "check", "metrics"], input=text,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        for family in ("pmd_worker_up", "pmd_worker_restarts_total",
                       "pmd_worker_memory_bytes", "pmd_worker_start_time_seconds"):
            seen = re.findall(r'^%s\{app="(\w+)",worker="(\d+)"\}' % family, text, re.M)
            assert len(seen) == len(set(seen)), f"{family}: a worker twice"
            for app in ("stay", "last"):
                assert sorted(int(i) for a, i in seen if a == app) == list(range(300)), family
            # One group a family, in app order.
            lines = [i for i, line in enumerate(text.splitlines())
                     if line.startswith(family + "{")]
            assert lines == list(range(lines[0], lines[0] + len(lines))), family
        states = re.findall(r'^pmd_worker_state\{app="stay",worker="(\d+)",state="online"\} 1$',
                            text, re.M)
        assert sorted(map(int, states)) == list(range(300))


def test_a_hostile_metric_name_never_blanks_the_scrape(pmd, tmp_path):
    """Invalid UTF-8, control characters, a NUL and an infinite value in a
    worker's metrics are dropped where they come in (and counted); the
    scrape stays valid for promtool, every other app's metrics in it."""
    port = free_port()
    (tmp_path / "evil.py").write_text(
        'import os, time\nfd = int(os.environ["PMD_IPC_FD"])\n'
        'for m in (b\'{"type":"metrics","data":{"bad\\xff":2}}\',\n'
        '          b\'{"type":"metrics","data":{"cr\\\\r":2}}\',\n'
        '          b\'{"type":"metrics","data":{"nul\\\\u0000x":2}}\',\n'
        '          b\'{"type":"metrics","data":{"big":1e999}}\',\n'
        '          b\'{"type":"metrics","data":{"q\\\\"uote\\\\\\\\":3}}\'):\n'
        '    os.write(fd, m + b"\\n")\n'
        'time.sleep(1000)\n')
    (tmp_path / "good.py").write_text(
        'import os, time\nfd = int(os.environ["PMD_IPC_FD"])\n'
        'os.write(fd, b\'{"type":"metrics","data":{"requests":7}}\\n\')\ntime.sleep(1000)\n')
    pmd.start(f"[daemon]\nmetrics = tcp://127.0.0.1:{port}\n"
              "[app:evil]\ncommand = python3 evil.py\n[app:good]\ncommand = python3 good.py\n")
    pmd.wait_status("evil", "online")
    wait_until(lambda: value(get(port, "/metrics")[2], "pmd_worker_messages_dropped_total",
                             app="evil", worker="0", reason="bad") == 4,
               what="four bad metrics messages counted")
    text = get(port, "/metrics")[2]
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    wait_until(lambda: value(get(port, "/metrics")[2], "pmd_worker_custom", app="good",
                             worker="0", metric="requests") == 7, what="the good app's metric")
    assert value(text, "pmd_worker_custom", app="evil", worker="0",
                 metric='q\\"uote\\\\') == 3
    w = pmd.show("evil")["workers"][0]
    assert w["messages_dropped_bad"] == 4 and w["metrics"] == {'q"uote\\': 3}


def test_slow_clients_never_lock_a_scraper_out(pmd):
    """16 connections that trickle a header line every 2 s hold no slot
    for long: a scrape made meanwhile is served at once, and each trickler
    is closed within the request deadline (10 s from its accept)."""
    port = free_port()
    pmd.start(f"[daemon]\nmetrics = tcp://127.0.0.1:{port}\n[app:a]\ncommand = sleep 1000\n")
    slow = []
    for _ in range(16):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        slow.append(s)
    t0 = time.monotonic()
    for _ in range(3):
        status, _, text = get(port, "/metrics")
        assert status == 200 and "pmd_worker_up" in text
    closed = 0
    deadline = time.monotonic() + 20
    while closed < len(slow) and time.monotonic() < deadline:
        for s in slow:
            if s.fileno() == -1:
                continue
            try:
                s.sendall(b"X-Trickle: 1\r\n")
                s.settimeout(0.05)
                if s.recv(100) == b"":
                    s.close()
                    closed += 1
            except socket.timeout:
                pass
            except OSError:
                s.close()
                closed += 1
    assert closed == len(slow), "tricklers kept their connections"
    assert time.monotonic() - t0 < 15
    assert "MHD_OPTION_EXTERNAL_LOGGER is not the first option" not in pmd.stderr()
