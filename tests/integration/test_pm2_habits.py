"""What a PM2 user does before writing any pmd config: a start that crash
loops says so, with the worker's own words; shutdown_with_message; a stop
that races a fresh start waits for the worker's handlers; wait_ready as
PM2 means it for ecosystem apps, and as systemd does for pmd's own.
"""
import json
import socket
import subprocess
import time

from conftest import PMCTL, free_port, log_lines, wait_until

CLEANUP = """
const fs = require('fs');
const mark = (how) => { fs.writeFileSync(process.env.MARK, how); process.exit(0); };
process.on('SIGINT', () => mark('SIGINT'));
process.on('message', (m) => { if (m === 'shutdown') mark('message'); });
console.log('up');
setInterval(() => {}, 1000);
"""


def test_a_start_that_crashes_says_how_with_the_end_of_stderr(pmd, tmp_path):
    (tmp_path / "crash.js").write_text(
        "console.error('loading config');\n"
        "setTimeout(() => { throw new Error(\"Cannot find module 'expresss'\"); }, 100);\n")
    pmd.start()
    r = pmd.ctl("start", "crash.js", cwd=tmp_path)
    assert r.returncode == 1
    assert "crash:0 exited with code 1 after" in r.stderr
    assert "within min_uptime (1000ms), and is being restarted (unstable start 1 of " \
        "max_restarts 16); its stderr ends:" in r.stderr
    assert "Error: Cannot find module 'expresss'" in r.stderr
    # pmd goes on as the keys say: it restarts the worker.
    wait_until(lambda: pmd.workers("crash")[0]["restarts"] >= 2, what="restarts")
    # Empty stderr is said to be empty.
    r = pmd.ctl("start", "--name", "quiet", "--", "sh", "-c", "sleep 0.1; exit 2")
    assert r.returncode == 1 and "quiet:0 exited with code 2" in r.stderr and \
        "its stderr was empty" in r.stderr, r.stderr
    # A job that is done is not a failed start.
    pmd.ok("start", "--name", "job", "--no-autorestart", "--", "true")
    # Well-behaved workers: 0, as soon as they are running.
    pmd.ok("start", "--name", "fine", "-i", "3", "--", "sleep", "1000")
    assert [w["status"] for w in pmd.workers("fine")] == ["online"] * 3


def test_a_port_taken_by_another_process_gets_a_hint(pmd, tmp_path):
    port = free_port()
    other = socket.socket()
    other.bind(("0.0.0.0", port))
    other.listen()
    try:
        (tmp_path / "app.js").write_text(
            "require('http').createServer((q, r) => r.end('x')).listen(Number(process.env.PORT));\n")
        pmd.start()
        r = pmd.ctl("start", "app.js", cwd=tmp_path, env={"PORT": str(port)})
        assert r.returncode == 1
        assert "EADDRINUSE" in r.stderr
        assert "The address is taken: if the app's instances each bind it, give the app " \
            "listen = tcp://HOST:PORT (or keep listen_share on)" in r.stderr
    finally:
        other.close()


def test_shutdown_with_message_and_sigint_cleanups_run_on_stop(pmd, tmp_path):
    (tmp_path / "app.js").write_text(CLEANUP)
    (tmp_path / "ecosystem.config.js").write_text(f"""
module.exports = {{ apps: [
  {{ name: 'sig', script: 'app.js', env: {{ MARK: '{tmp_path}/sig.mark' }} }},
  {{ name: 'msg', script: 'app.js', shutdown_with_message: true,
     env: {{ MARK: '{tmp_path}/msg.mark' }} }},
] }};
""")
    pmd.start()
    pmd.ok("start", "ecosystem.config.js", cwd=tmp_path)
    for name in ("sig", "msg"):
        wait_until(lambda: "up" in log_lines(pmd.logs / f"{name}.out.log"), what="node up")
    text = pmd.ok("show", "msg").stdout
    assert 'stops with                    the message "shutdown", then SIGINT after 1600ms, ' \
        "then SIGKILL after 1600ms (PM2's defaults, for an app from PM2's world)" in text
    assert "stops with                    SIGINT, then SIGKILL after 1600ms (PM2's " \
        "defaults" in pmd.ok("show", "sig").stdout
    assert pmd.show("msg")["config"]["shutdown_with_message"] == "true"
    pmd.ok("stop", "sig")
    pmd.ok("stop", "msg")
    assert (tmp_path / "sig.mark").read_text() == "SIGINT"
    assert (tmp_path / "msg.mark").read_text() == "message"
    # Not answered: the signal after kill_timeout.
    pmd.ok("start", "--name", "deaf", "--shutdown_with_message", "--kill_timeout", "300ms",
           "--kill_signal", "SIGINT", "--", "node", "-e",
           f"process.on('SIGINT', () => {{ require('fs').writeFileSync('{tmp_path}/deaf', "
           "'SIGINT'); process.exit(0); }); console.log('up'); setInterval(() => {}, 1000);")
    wait_until(lambda: "up" in log_lines(pmd.logs / "deaf.out.log"), what="node up")
    pmd.ok("stop", "deaf")
    assert (tmp_path / "deaf").read_text() == "SIGINT"
    assert 'still running kill_timeout after "shutdown": sending SIGINT' in pmd.stderr()
    # pmd's own apps keep SIGTERM and 5 s, and say so.
    pmd.ok("start", "--name", "own", "--", "sleep", "1000")
    assert "SIGTERM, then SIGKILL after 5s (pmd's defaults)" in pmd.ok("show", "own").stdout


def test_a_stop_that_races_a_restart_lets_the_new_worker_clean_up(pmd, tmp_path):
    # Loading takes a while (as require() of a framework does) before the
    # handler is there; each process leaves its own mark.
    (tmp_path / "app.js").write_text(
        "const t = Date.now(); while (Date.now() - t < 100) {}\n" +
        CLEANUP.replace("process.env.MARK", "process.env.MARK + process.pid"))
    pmd.start()
    pmd.ok("start", "app.js", cwd=tmp_path, env={"MARK": str(tmp_path / "mark.")})
    wait_until(lambda: "up" in log_lines(pmd.logs / "app.out.log"), what="node up")
    first = pmd.workers("app")[0]["pid"]
    for _ in range(3):
        restart = subprocess.Popen([PMCTL, "restart", "app"], env=pmd.env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        new = wait_until(lambda: (p := pmd.workers("app")[0]["pid"]) not in (0, first) and p,
                         what="the new worker")
        pmd.ok("stop", "app")
        restart.wait(30)
        # The new worker got its SIGINT once it could have a handler.
        assert (tmp_path / f"mark.{new}").read_text() == "SIGINT"
        pmd.ok("start", "app")
        first = pmd.workers("app")[0]["pid"]


def test_wait_ready_means_what_pm2_says_in_ecosystem_files_and_systemd_in_pmds(pmd, tmp_path):
    (tmp_path / "never.js").write_text("console.log('up'); setInterval(() => {}, 1000);\n")
    (tmp_path / "ecosystem.json").write_text(json.dumps({"apps": [
        {"name": "never", "script": "never.js", "wait_ready": True, "listen_timeout": 2000}]}))
    pmd.start()
    t = time.monotonic()
    pmd.ok("start", "ecosystem.json", cwd=tmp_path)
    took = time.monotonic() - t
    w = pmd.workers("never")[0]
    assert w["status"] == "online" and w["restarts"] == 0
    assert took < 20, took      # not 16 restarts of 2 s each
    assert "never:0: pid %d sent no ready within listen_timeout (2000ms): online anyway " \
        "(wait_ready with not_ready = online, as PM2 does)" % w["pid"] in pmd.stderr()
    events = pmd.ok("events", "never").stdout
    assert "not_ready" in events and "online anyway" in events
    assert pmd.show("never")["config"]["not_ready"] == "online"
    # pmd's own wait_ready: not ready in time is a failed start, named so.
    r = pmd.ctl("start", "--name", "strict", "--wait_ready", "--listen_timeout", "500ms",
                "--max_restarts", "1", "--", "sleep", "1000")
    assert r.returncode == 1
    assert "strict:0 errored: too many unstable restarts (max_restarts); it was killed " \
        "by SIGTERM (not ready" in r.stderr
    assert "not ready: no READY=1 within listen_timeout (500ms), and wait_ready says it " \
        "must be" in r.stderr, r.stderr
