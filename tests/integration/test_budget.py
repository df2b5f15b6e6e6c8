"""pmd never locks its owner out: the fd budget refuses what does not fit,
pmctl gives up on a daemon that answers nothing, and durations are measured
on a clock that does not step.

Each test failed on the pmd before it: a start past the fd limit answered
rc 0 and then every pmctl hung; pmctl waited for ever; a clock stepped back
made pmd cast a negative uptime.
"""
import json
import os
import resource
import socket
import subprocess
import time

import pytest

from conftest import PMCTL, wait_until

FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


def fd_limit(n):
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))


def answers_quickly(pmd, *args):
    t = time.monotonic()
    r = pmd.ctl(*args, timeout=5)
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - t < 2, f"pmctl {args} took over 2s"
    return r


def test_a_start_past_the_fd_limit_is_refused_naming_the_limit(pmd):
    pmd.start(preexec=fd_limit(1024))
    r = pmd.ctl("start", "--name", "big", "-i", "600", "--", "sleep", "1000")
    assert r.returncode == 1
    assert 'start: 600 workers of "big" need 2402 fds (4 per worker: pidfd, message ' \
        "channel, 2 log pipes), but pmd's fd limit of 1024 leaves room for" in r.stderr
    assert "LimitNOFILE=" in r.stderr and "ulimit -n" in r.stderr and "ipc = false" in r.stderr
    assert pmd.workers() == []
    # The same with the largest count a start takes.
    r = pmd.ctl("start", "--name", "huge", "-i", "4096", "--", "sleep", "1000")
    assert r.returncode == 1 and "4096 workers" in r.stderr
    # What fits starts; then the budget shows it and a scale past it is refused.
    pmd.ok("start", "--name", "web", "-i", "100", "--", "sleep", "1000")
    fds = pmd.json("ping")["fds"]
    assert fds["limit"] == 1024 and fds["workers"] == 402
    assert fds["open"] >= 400 and fds["kept"] > fds["max_clients"] > 0
    for _ in range(3):
        answers_quickly(pmd, "ping")
        answers_quickly(pmd, "list")
    r = pmd.ctl("scale", "web", "600")
    assert r.returncode == 1 and "scale: 500 workers of \"web\" need 2000 fds" in r.stderr
    assert len(pmd.workers("web")) == 100
    # Cheaper workers fit where those did not.
    pmd.ok("start", "--name", "cheap", "-i", "300", "--ipc", "false", "--out_file",
           "/dev/null", "--err_file", "/dev/null", "--", "sleep", "1000")
    pmd.wait_status("cheap", "online", count=300)
    pmd.ok("delete", "all")
    pmd.ok("start", "--name", "again", "-i", "150", "--", "sleep", "1000")


def test_a_reload_needs_room_for_the_new_worker_beside_the_old(pmd, tmp_path):
    pmd.start(preexec=fd_limit(256))
    room = pmd.json("ping")["fds"]
    # A listen app's worker costs 5 (4 and its own socket), the app 2 (its
    # log files): as many as fit, then less than one worker is left.
    n = (room["limit"] - room["kept"] - 2) // 5
    port = __import__("conftest").free_port()
    pmd.ok("start", "--name", "web", "-i", str(n), "--listen", f"tcp://127.0.0.1:{port}",
           "--", "sleep", "1000")
    left = pmd.json("ping")["fds"]
    assert left["limit"] - left["kept"] - left["workers"] < 5
    r = pmd.ctl("reload", "web")
    assert r.returncode == 1 and "reload: 1 worker of \"web\" needs 5 fds" in r.stderr
    pmd.ok("ping")


def test_max_clients_past_the_fd_budget_is_lowered_with_a_warning(pmd):
    pmd.start("[daemon]\nmax_clients = 100000\n", preexec=fd_limit(512))
    fds = pmd.json("ping")["fds"]
    assert fds["max_clients"] < 256
    assert (f"max_clients = 100000: pmd's fd limit leaves room for {fds['max_clients']} "
            f"clients beside its workers; serving at most {fds['max_clients']}") in pmd.stderr()


def test_the_budget_is_in_metrics(pmd):
    port = __import__("conftest").free_port()
    pmd.start(f"[daemon]\nmetrics = tcp://127.0.0.1:{port}\n[app:a]\ncommand = sleep 1000\n"
              "instances = 3\n")
    pmd.wait_status("a", "online", count=3)
    import urllib.request
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    lines = dict(l.split(" ", 1) for l in text.splitlines() if l and not l.startswith("#")
                 and "{" not in l)
    assert int(lines["pmd_fds_budgeted"]) == 3 * 4 + 2
    assert int(lines["pmd_fds_kept"]) > 0 and int(lines["process_max_fds"]) > 0


# --- pmctl gives up -----------------------------------------------------------

@pytest.fixture
def deaf_socket(tmp_path):
    """A socket that takes connections into its backlog and never accepts."""
    path = str(tmp_path / "deaf.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.listen(16)
    yield path
    s.close()


@pytest.mark.parametrize("args", [("ping",), ("list",), ("stop", "web")])
def test_pmctl_gives_up_on_a_daemon_that_answers_nothing(deaf_socket, args):
    t = time.monotonic()
    r = subprocess.run([PMCTL, "-s", deaf_socket, "--timeout", "1s", *args],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 4, r
    assert r.stderr.startswith(f"pmctl: pmd did not answer within 1s on {deaf_socket}: ")
    assert "see its log" in r.stderr and "--timeout" in r.stderr
    assert time.monotonic() - t < 10


def test_pmctl_waits_ten_seconds_by_default(deaf_socket):
    t = time.monotonic()
    r = subprocess.run([PMCTL, "-s", deaf_socket, "list"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 4 and "within 10s" in r.stderr
    assert 9 < time.monotonic() - t < 20


def test_a_bad_timeout_is_a_usage_error(deaf_socket):
    for bad in ("0", "soon"):
        r = subprocess.run([PMCTL, "-s", deaf_socket, "--timeout", bad, "ping"],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 2 and r.stderr.startswith("pmctl: --timeout: ")


def test_a_command_that_waits_long_is_not_cut_by_the_answer_timeout(pmd, tmp_path):
    """--timeout bounds the answer; start waits for its workers beyond the
    default answer time only when told, and follow streams never time out."""
    pmd.start()
    # A worker that is never ready: start waits for its listen_timeout (4s),
    # and --timeout 1s gives up before that.
    t = time.monotonic()
    r = pmd.ctl("--timeout", "1s", "start", "--name", "slow", "--wait_ready",
                "--listen_timeout", "4s", "--", "sleep", "1000")
    assert r.returncode == 4 and "did not answer within 1s" in r.stderr, r
    assert time.monotonic() - t < 3.5
    # A follower outlives its timeout: the line comes 1.5s after the start.
    pmd.ok("start", "--name", "late", "--", "sh", "-c", "sleep 1.5; echo late line; "
           "exec sleep 1000")
    f = subprocess.Popen([PMCTL, "logs", "late", "--follow", "--lines", "0", "--timeout", "1s"],
                         env=pmd.env, stdout=subprocess.PIPE, text=True)
    try:
        line = f.stdout.readline()
        while line and "late line" not in line:
            line = f.stdout.readline()
        assert "late line" in line and f.poll() is None
    finally:
        f.kill()
        f.wait()


# --- durations on a clock that does not step ----------------------------------

@pytest.mark.skipif(not os.path.exists(FAKETIME), reason="libfaketime is not installed")
def test_a_stepped_clock_neither_resets_nor_trips_the_crash_brake(pmd, tmp_path):
    stamp = tmp_path / "faketime"
    stamp.write_text("+0\n")
    pmd.env.update(LD_PRELOAD=FAKETIME, FAKETIME_TIMESTAMP_FILE=str(stamp),
                   FAKETIME_NO_CACHE="1", FAKETIME_DONT_FAKE_MONOTONIC="1",
                   ASAN_OPTIONS=pmd.env["ASAN_OPTIONS"] + ":verify_asan_link_order=0")
    pmd.start("[app:crash]\ncommand = sh -c 'sleep 0.8; exit 1'\n"
              "min_uptime = 5s\nmax_restarts = 2\nrestart_delay = 0\n"
              "[app:steady]\ncommand = sh -c 'sleep 2; exit 1'\nmin_uptime = 500ms\n"
              "max_restarts = 1\nrestart_delay = 0\n")
    uptimes = []
    for step in ("+1h", "-1h", "+0"):
        # One step while a crash worker runs: its uptime stays what it ran.
        w = wait_until(lambda: [w for w in pmd.workers("crash") if w["pid"] > 0],
                       what="a crash worker")[0]
        stamp.write_text(step + "\n")
        assert pmd.workers("crash")[0]["uptime_ms"] < 5000
        wait_until(lambda: pmd.workers("crash")[0]["pid"] != w["pid"] or
                   pmd.workers("crash")[0]["status"] == "errored", what="its exit")
    # Three starts shorter than min_uptime: errored after 2 restarts, as
    # without the steps (a step forward made an exit look stable before).
    w = pmd.wait_status("crash", "errored", timeout=20)[0]
    assert w["restarts"] == 2
    exits = [l for l in pmd.stderr().splitlines() if "crash:0: pid" in l and " after " in l]
    assert len(exits) == 3
    for l in exits:
        assert int(l.rsplit(" after ", 1)[1].split("ms")[0]) < 5000, l
    # The steady app ran 2s each time, past its min_uptime: never errored.
    wait_until(lambda: pmd.workers("steady")[0]["restarts"] >= 2, timeout=20,
               what="steady to restart twice")
    assert pmd.workers("steady")[0]["status"] != "errored"
