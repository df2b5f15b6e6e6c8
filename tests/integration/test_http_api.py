"""The control protocol over HTTP: POST /api/v1/COMMAND answers what the
control socket answers, from the same command table; streams are JSON
lines as they happen; every /api/ request needs the bearer token of
http.token (0600, made once); a non-loopback address keeps the API off
unless http_plain_api says otherwise; /metrics and /healthz stay open."""
import http.client
import json
import os
import re
import socket
import ssl
import stat
import subprocess
import time

from conftest import PMD, free_port, wait_until

APP = "[app:web]\ncommand = sleep 1000\ninstances = 2\n"


def call(port, path, body=None, token=None, method="POST", headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    c.request(method, path, body=None if body is None else json.dumps(body), headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, dict(r.getheaders()), data


def start(pmd, extra="", addr="127.0.0.1"):
    port = free_port()
    pmd.start(f"[daemon]\nhttp = tcp://{addr}:{port}\n{extra}{APP}")
    pmd.wait_status("web", "online", count=2)
    return port, (pmd.home / "http.token").read_text().strip()


def test_the_token_is_made_once_private_and_required(pmd):
    port, token = start(pmd)
    path = pmd.home / "http.token"
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    for t in (None, "0" * 64, token[:-1], token + "0"):
        status, headers, body = call(port, "/api/v1/list", {}, token=t)
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
        assert json.loads(body)["error"]["code"] == "EPERM"
    # Open as before: /metrics and /healthz need no token.
    assert call(port, "/healthz", method="GET")[0] == 200
    assert call(port, "/metrics", method="GET")[0] == 200
    # The same token after a restart of pmd.
    pmd.stop()
    port, again = start(pmd)
    assert again == token
    assert call(port, "/api/v1/list", {}, token=token)[0] == 200


def test_commands_answer_as_the_control_socket_does(pmd):
    port, token = start(pmd)
    status, headers, body = call(port, "/api/v1/list", {}, token=token)
    reply = json.loads(body)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert reply["ok"] and [w["name"] for w in reply["workers"]] == ["web", "web"]
    assert "Access-Control-Allow-Origin" not in headers
    # An error: the control socket's reply object, and a status that fits.
    status, _, body = call(port, "/api/v1/stop", {"target": "nope"}, token=token)
    ctl = json.loads(pmd.ctl("--json", "stop", "nope").stdout)
    assert status == 404 and json.loads(body) == ctl
    status, _, body = call(port, "/api/v1/frobnicate", {}, token=token)
    assert status == 404 and json.loads(body)["error"]["code"] == "ENOCMD"
    status, _, body = call(port, "/api/v1/restart", {"target": 5}, token=token)
    assert status == 400 and "target" in json.loads(body)["error"]["message"]
    # A command that waits for the workers answers once they have settled.
    pids = {w["pid"] for w in pmd.workers("web")}
    status, _, body = call(port, "/api/v1/restart", {"target": "web"}, token=token)
    assert status == 200 and json.loads(body)["ok"]
    assert not pids & {w["pid"] for w in pmd.workers("web")}
    assert all(w["status"] == "online" for w in pmd.workers("web"))


def test_bad_requests_get_clear_errors(pmd):
    port, token = start(pmd)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/api/v1/list", body=b"[1, 2", headers={"Authorization": f"Bearer {token}"})
    r = c.getresponse()
    assert r.status == 400 and "not a JSON object" in json.loads(r.read())["error"]["message"]
    c.close()
    status, _, body = call(port, "/api/v1/list", {"x": "y" * 70000}, token=token)
    assert status == 413 and json.loads(body)["error"]["code"] == "ETOOBIG"
    status, headers, _ = call(port, "/api/v1/list", token=token, method="GET")
    assert status == 405 and headers["Allow"] == "POST"
    # A browser's preflight from another site gets no CORS grant.
    status, headers, _ = call(port, "/api/v1/list", method="OPTIONS",
                              headers={"Origin": "https://evil.example",
                                       "Access-Control-Request-Method": "POST"})
    assert status == 401 and "Access-Control-Allow-Origin" not in headers
    pmd.ok("ping")


def test_the_command_list_is_the_command_table(pmd):
    port, token = start(pmd)
    status, _, body = call(port, "/api/v1/", token=token, method="GET")
    cmds = {c["name"]: c for c in json.loads(body)["commands"]}
    assert status == 200
    assert {"start", "stop", "restart", "reload", "list", "logs", "events", "scale"} <= set(cmds)
    assert "monit" not in cmds        # pmctl's own view
    fields = {f["name"]: f for f in cmds["scale"]["fields"]}
    assert fields["name"]["required"] and fields["name"]["type"] == "string"
    assert (fields["instances"]["min"], fields["instances"]["max"]) == (1, 4096)
    assert cmds["restart"]["waits"] is True


def test_events_follow_streams_json_lines(pmd):
    port, token = start(pmd)
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    body = b'{"follow": true}'
    s.sendall(b"POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
              token.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: " +
              str(len(body)).encode() + b"\r\n\r\n" + body)
    f = s.makefile("rb")
    assert f.readline().startswith(b"HTTP/1.1 200")
    head = b""
    while (line := f.readline()) != b"\r\n":
        head += line
    assert b"application/x-ndjson" in head
    pmd.ok("restart", "web:0")
    seen = []

    def restarted():
        size = f.readline()            # chunked: a size line, the data, CRLF
        data = f.read(int(size.strip(), 16) + 2) if size.strip() else b""
        for line in data.splitlines():
            if line.strip():
                seen.append(json.loads(line))
        return any(e.get("type") == "started" and e.get("instance") == 0
                   for e in seen if "type" in e and e is not seen[0])
    wait_until(restarted, timeout=20, what="a started event on the stream")
    s.close()
    pmd.ok("ping")


def test_a_public_address_keeps_the_api_off_unless_asked(pmd, tmp_path):
    port, token = start(pmd, addr="0.0.0.0")
    status, _, body = call(port, "/api/v1/list", {}, token=token)
    assert status == 403 and "http_plain_api" in json.loads(body)["error"]["message"]
    assert call(port, "/metrics", method="GET")[0] == 200
    pmd.stop()
    port, token = start(pmd, extra="http_plain_api = true\n", addr="0.0.0.0")
    assert call(port, "/api/v1/list", {}, token=token)[0] == 200


def test_a_token_file_made_readable_or_deleted_is_said(pmd):
    port, token = start(pmd)
    path = pmd.home / "http.token"
    os.chmod(path, 0o644)
    status, _, body = call(port, "/api/v1/list", {}, token=token)
    assert status == 401 and "readable by others (mode 0644)" in json.loads(body)["error"]["message"]
    assert "http.token is readable by others" in pmd.stderr()
    os.chmod(path, 0o600)
    assert call(port, "/api/v1/list", {}, token=token)[0] == 200
    os.unlink(path)
    assert call(port, "/api/v1/list", {}, token=token)[0] == 200
    assert "http.token is gone" in pmd.stderr()
    # At the next start: a world-readable token is refused, naming it.
    pmd.stop()
    path.write_text(token + "\n")
    os.chmod(path, 0o644)
    conf = pmd.write_config(f"[daemon]\nhttp = tcp://127.0.0.1:{free_port()}\n")
    r = subprocess.run([PMD, "-c", str(conf)], env=pmd.env, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 1 and "readable by others (mode 0644)" in r.stderr, r.stderr


def test_https_with_a_key_and_certificate_serves_the_api_anywhere(pmd, tmp_path):
    """http_tls_cert and http_tls_key: HTTPS, so the API is on even on an
    address that is not loopback; pmctl dashboard says https."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(tmp_path / "cert.pem")], check=True, capture_output=True)
    port = free_port()
    pmd.start(f"[daemon]\nhttp = tcp://0.0.0.0:{port}\nhttp_tls_cert = cert.pem\n"
              f"http_tls_key = key.pem\n{APP}")
    token = (pmd.home / "http.token").read_text().strip()
    ctx = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    ctx.check_hostname = False
    c = http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=ctx)
    c.request("POST", "/api/v1/list", body="{}", headers={"Authorization": f"Bearer {token}"})
    r = c.getresponse()
    assert r.status == 200 and json.loads(r.read())["ok"]
    c.close()
    assert pmd.ok("dashboard").stdout.startswith(f"https://0.0.0.0:{port}/#token=")
    # Half a pair is a clear error.
    conf = pmd.write_config(f"[daemon]\nhttp = tcp://127.0.0.1:{free_port()}\n"
                            "http_tls_cert = cert.pem\n", name="half.conf")
    r = subprocess.run([PMD, "-c", str(conf)], env=dict(pmd.env, PMD_HOME=str(tmp_path / "h2")),
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "http_tls_cert and http_tls_key go together" in r.stderr


def test_a_stream_outlives_the_plain_request_deadline_without_a_busy_loop(pmd):
    """Plain requests end 10 s after their accept; a stream does not, and
    pmd does not spin on the deadline it has passed (it once did)."""
    port, token = start(pmd)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/api/v1/events", body='{"follow": true}',
              headers={"Authorization": f"Bearer {token}"})
    r = c.getresponse()
    assert r.status == 200
    time.sleep(11)      # past the listener's 10 s deadline: time itself is the subject

    def ticks():
        return sum(int(x) for x in open(f"/proc/{pmd.proc.pid}/stat").read()
                   .rsplit(")", 1)[1].split()[11:13])
    before = ticks()
    pmd.ok("restart", "web:0")
    line = r.fp.readline()          # a chunk's size: the stream is alive
    assert line.strip() and int(line.strip(), 16) > 0
    time.sleep(1)
    assert ticks() - before < 8, "pmd spins"
    c.close()


def test_a_followed_log_streams_each_line_as_it_is_printed(pmd):
    port = free_port()
    pmd.start(f"[daemon]\nhttp = tcp://127.0.0.1:{port}\n[app:talk]\n"
              "command = sh -c 'echo up $PMD_WORKER_ID; exec sleep 1000'\n")
    pmd.wait_status("talk", "online")
    token = (pmd.home / "http.token").read_text().strip()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/api/v1/logs", body='{"name": "talk", "lines": 0, "follow": true}',
              headers={"Authorization": f"Bearer {token}"})
    r = c.getresponse()
    assert r.status == 200 and r.getheader("Content-Type") == "application/x-ndjson"
    first = json.loads(r.readline())
    assert first["ok"]
    pmd.ok("restart", "talk")
    wid = pmd.workers("talk")[0]["worker_id"]
    line = json.loads(r.readline())
    assert line["app"] == "talk" and line["line"].endswith(f"up {wid}"), line
    c.close()
