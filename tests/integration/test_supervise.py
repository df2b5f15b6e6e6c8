"""Supervision as a user sees it: instances, crashes, restarts, stops."""
import os
import signal
import stat

from conftest import log_lines, pid_alive, wait_until

SLEEPER = "sh -c 'echo \"$PMD_APP $PMD_INSTANCE $NODE_APP_INSTANCE $PMD_WORKER_ID $GREETING\"; exec sleep 1000'"


def test_instances_come_up_with_their_variables(pmd):
    pmd.start(f"""
[app:api]
command = {SLEEPER}
instances = 3
env.GREETING = hi
""")
    ws = pmd.wait_status("api", "online", count=3)
    assert sorted(w["instance"] for w in ws) == [0, 1, 2]
    pids = [w["pid"] for w in ws]
    assert len(set(pids)) == 3 and all(pid_alive(p) for p in pids)
    # Each worker leads its own process group.
    assert all(os.getpgid(p) == p for p in pids)
    out = pmd.logs / "api.out.log"
    lines = wait_until(lambda: len(log_lines(out)) == 3 and log_lines(out), what="3 greetings")
    seen = sorted(tuple(l.split()) for l in lines)
    ids = sorted(w["worker_id"] for w in ws)
    assert seen == [("api", str(i), str(i), str(ids[i]), "hi") for i in range(3)] or \
        sorted(s[:3] for s in seen) == [("api", str(i), str(i)) for i in range(3)]
    assert sorted(int(s[3]) for s in seen) == ids
    # The list table names every worker.
    table = pmd.ok("list").stdout
    assert table.count("online") == 3 and all(str(p) in table for p in pids)


def test_kill9_replaces_only_that_worker(pmd):
    pmd.start(f"[app:api]\ncommand = {SLEEPER}\ninstances = 3\n")
    before = {w["instance"]: w["pid"] for w in pmd.wait_status("api", "online", count=3)}
    os.kill(before[1], signal.SIGKILL)

    def replaced():
        ws = {w["instance"]: w for w in pmd.workers("api")}
        w = ws[1]
        return w["pid"] not in (0, before[1]) and w["status"] == "online" and ws
    after = wait_until(replaced, what="instance 1 to be replaced")
    assert after[0]["pid"] == before[0] and after[2]["pid"] == before[2]
    assert after[1]["restarts"] == 1 and after[0]["restarts"] == 0
    assert pid_alive(before[0]) and pid_alive(before[2])


def test_crash_loop_ends_errored_with_reason(pmd):
    pmd.start("""
[app:crashy]
command = sh -c 'echo "cannot bind port" >&2; exit 3'
max_restarts = 2
min_uptime = 5s
""")
    wait_until(lambda: pmd.workers("crashy")[0]["status"] == "errored", what="errored")
    app = pmd.show("crashy")
    w = app["workers"][0]
    assert app["status"] == "errored"
    assert w["reason"] == "too many unstable restarts (max_restarts)"
    assert w["exit_code"] == 3 and w["last_exit"] == "exited with code 3"
    assert w["restarts"] == 2
    assert "cannot bind port" in w["stderr_tail"]
    text = pmd.ok("show", "crashy").stdout
    assert "errored" in text and "exited with code 3" in text and "cannot bind port" in text
    # It stays errored: nothing restarts it on its own.
    assert pmd.workers("crashy")[0]["pid"] == 0
    # restart clears errored (and it crashes its way back there), and says
    # the restart did not take, with what the worker wrote.
    r = pmd.ctl("restart", "crashy")
    assert r.returncode == 1
    # (Caught at its first crash, or once it has given up again, as the
    # machine's load has it.)
    assert ("crashy:0 exited with code 3 after" in r.stderr and
            "within min_uptime (5000ms)" in r.stderr) or \
        "crashy:0 errored: too many unstable restarts (max_restarts); it exited " \
        "with code 3" in r.stderr, r.stderr
    assert "cannot bind port" in r.stderr
    wait_until(lambda: pmd.workers("crashy")[0]["status"] == "errored" and
               pmd.workers("crashy")[0]["restarts"] >= 3, what="errored again")


def test_stable_run_resets_the_unstable_count(pmd, tmp_path):
    count = tmp_path / "count"
    # Runs 1 and 2 crash at once; runs 0 and 3 on stay up.
    pmd.start(f"""
[app:flaky]
command = sh -c 'n=$(cat {count} 2>/dev/null || echo 0); echo $((n+1)) > {count}; if [ $n -ge 1 ] && [ $n -le 2 ]; then exit 1; fi; exec sleep 1000'
max_restarts = 2
min_uptime = 200ms
""")
    w = wait_until(lambda: (w := pmd.workers("flaky")[0])["uptime_ms"] >= 300 and w,
                   what="run 0 up for min_uptime")
    os.kill(w["pid"], signal.SIGKILL)
    # Two unstable starts in a row, then run 3 stays up.
    w = wait_until(lambda: (w := pmd.show("flaky")["workers"][0])["status"] == "online" and
                   count.read_text().strip() == "4" and w["uptime_ms"] >= 300 and w,
                   what="run 3 up for min_uptime")
    assert w["unstable_restarts"] == 2
    # Its exit after a stable run resets the count: no errored at 3 > max_restarts.
    os.kill(w["pid"], signal.SIGKILL)
    w = wait_until(lambda: (w := pmd.show("flaky")["workers"][0])["restarts"] == 4 and
                   w["status"] == "online" and w, what="run 4")
    assert w["status"] == "online" and w["unstable_restarts"] == 0


def test_stop_exit_codes(pmd, tmp_path):
    pmd.start("""
[app:done]
command = sh -c 'exit 0'
stop_exit_codes = 0
[app:fails]
command = sh -c 'exit 4'
stop_exit_codes = 4, 5
[app:other]
command = sh -c 'exit 2'
stop_exit_codes = 4
max_restarts = 1
min_uptime = 5s
[app:clean]
command = sh -c 'exit 0'
max_restarts = 1
min_uptime = 5s
""")
    for name in ("done", "fails"):
        wait_until(lambda: pmd.show(name)["workers"][0]["status"] == "stopped", what=name)
        w = pmd.show(name)["workers"][0]
        assert w["restarts"] == 0
        assert w["reason"] == "exit code listed in stop_exit_codes"
    # An exit code not listed is restarted; by default (as in PM2) even 0.
    for name in ("other", "clean"):
        wait_until(lambda: pmd.show(name)["workers"][0]["status"] == "errored", what=name)
        assert pmd.show(name)["workers"][0]["restarts"] == 1


def test_autorestart_off(pmd):
    pmd.start("[app:once]\ncommand = sh -c 'exit 1'\nautorestart = false\n")
    wait_until(lambda: pmd.show("once")["workers"][0]["status"] == "stopped", what="stopped")
    w = pmd.show("once")["workers"][0]
    assert w["restarts"] == 0 and w["reason"] == "exited and autorestart is off"


def test_restart_delay_and_backoff_are_visible(pmd):
    pmd.start("""
[app:slow]
command = sh -c 'exit 1'
restart_delay = 1h
""")
    w = wait_until(lambda: (w := pmd.show("slow")["workers"][0])["status"] == "waiting" and w,
                   what="waiting")
    assert 3500_000 < w["restart_in_ms"] <= 3600_000
    # stop cancels a pending restart at once.
    pmd.ok("stop", "slow")
    assert pmd.workers("slow")[0]["status"] == "stopped"


def test_kill_timeout_sigkills_the_whole_group(pmd, tmp_path):
    pids = tmp_path / "pids"
    # The worker and its child ignore SIGTERM (an ignored signal is inherited).
    pmd.start(f"""
[app:stubborn]
command = sh -c 'trap "" TERM; sleep 1000 & echo $$ $! > {pids}; wait'
kill_timeout = 300ms
""")
    pmd.wait_status("stubborn", "online")
    wait_until(lambda: pids.exists() and len(pids.read_text().split()) == 2, what="pids")
    parent, child = map(int, pids.read_text().split())
    assert pid_alive(parent) and pid_alive(child)
    r = pmd.ok("stop", "stubborn")  # returns once the worker is gone
    assert "stopped" in r.stdout
    wait_until(lambda: not pid_alive(parent) and not pid_alive(child), timeout=5,
               what="worker and child to die")
    assert "sending SIGKILL" in pmd.stderr()


def test_worker_children_die_with_it(pmd, tmp_path):
    pids = tmp_path / "pids"
    # The worker exits, leaving a child in its group: pmd cleans it up.
    pmd.start(f"""
[app:leaky]
command = sh -c 'sleep 1000 & echo $! > {pids}; exit 1'
autorestart = false
""")
    wait_until(lambda: pids.exists() and pids.read_text().strip(), what="child pid")
    child = int(pids.read_text())
    wait_until(lambda: not pid_alive(child), timeout=5, what="orphan to be killed")
    # It came back to pmd (subreaper) and pmd reaped it: no zombie is left.
    wait_until(lambda: not os.path.exists(f"/proc/{child}"), timeout=5,
               what="the orphan to be reaped")


def test_scale_up_and_down(pmd):
    pmd.start(f"[app:api]\ncommand = {SLEEPER}\ninstances = 2\n")
    before = {w["instance"]: w["pid"] for w in pmd.wait_status("api", "online", count=2)}
    pmd.ok("scale", "api", 4)
    ws = pmd.wait_status("api", "online", count=4)
    assert {w["instance"]: w["pid"] for w in ws if w["instance"] < 2} == before
    gone = [w["pid"] for w in ws if w["instance"] >= 1]
    r = pmd.ok("scale", "api", 1)
    ws = pmd.workers("api")
    assert [w["instance"] for w in ws] == [0] and ws[0]["pid"] == before[0]
    assert "api" in r.stdout
    wait_until(lambda: not any(pid_alive(p) for p in gone), what="scaled-down workers to exit")


def test_stop_start_restart_delete_one_instance(pmd):
    pmd.start(f"[app:api]\ncommand = {SLEEPER}\ninstances = 2\n")
    ws = pmd.wait_status("api", "online", count=2)
    pmd.ok("stop", "api:1")
    ws2 = pmd.workers("api")
    assert ws2[0]["pid"] == ws[0]["pid"] and ws2[1]["status"] == "stopped"
    assert not pid_alive(ws[1]["pid"])
    pmd.ok("start", "api")
    ws3 = pmd.wait_status("api", "online", count=2)
    assert ws3[0]["pid"] == ws[0]["pid"]
    pmd.ok("restart", "all")
    ws4 = pmd.wait_status("api", "online", count=2)
    assert not {w["pid"] for w in ws4} & {w["pid"] for w in ws3}
    assert all(w["restarts"] == 1 for w in ws4)
    pmd.ok("reset", "api")
    assert all(w["restarts"] == 0 for w in pmd.workers("api"))
    pmd.ok("delete", "api")
    assert pmd.workers() == []
    assert not any(pid_alive(w["pid"]) for w in ws4)
    # A configured app can be started again after delete.
    pmd.ok("start", "api")
    pmd.wait_status("api", "online", count=2)


def test_signal_reaches_the_worker(pmd, tmp_path):
    got = tmp_path / "got"
    pmd.start(f"""
[app:sig]
command = sh -c 'trap "echo usr1 > {got}" USR1; while :; do sleep 1 & wait $!; done'
""")
    pmd.wait_status("sig", "online")
    r = pmd.ok("signal", "SIGUSR1", "sig")
    assert "signalled 1" in r.stdout
    wait_until(lambda: got.exists() and got.read_text().strip() == "usr1", what="USR1 trap")
    r = pmd.ctl("signal", "SIGNOPE", "sig")
    assert r.returncode == 1 and "SIGNOPE" in r.stderr


def test_exec_failure_is_reported(pmd, tmp_path):
    pmd.start(f"""
[app:missing]
command = /nonexistent/bin/server --port 1
max_restarts = 1
[app:badcwd]
command = sleep 1000
cwd = {tmp_path}/no/such/dir
max_restarts = 0
""")
    for name, why in (("missing", "exec: No such file or directory"),
                      ("badcwd", "chdir: No such file or directory")):
        wait_until(lambda: pmd.show(name)["workers"][0]["status"] == "errored", what=name)
        w = pmd.show(name)["workers"][0]
        assert w["exec_error"] == why and w["exit_code"] == 127
        assert why in pmd.ok("show", name).stdout


def test_sigterm_stops_everything_and_exits_0(pmd, tmp_path):
    pmd.start(f"""
[app:a]
command = sh -c 'sleep 1000 & sleep 1000 & wait'
instances = 3
[app:b]
command = sh -c 'trap "" TERM; exec sleep 1000'
kill_timeout = 200ms
[app:escape]
command = sh -c 'setsid sleep 1000 & exec sleep 1000'
""")
    pmd.wait_status("a", "online", count=3)
    pmd.wait_status("b", "online")
    # pmd, 3 x (sh + 2 sleeps), b, escape's sleep and the one that left its group.
    wait_until(lambda: len(__import__("conftest").marked_pids(pmd.marker)) == 1 + 3 * 3 + 1 + 2,
               what="all worker processes")
    assert pmd.stop() == 0
    assert __import__("conftest").marked_pids(pmd.marker) == []
    assert not os.path.exists(pmd.socket)


def test_socket_is_private(pmd):
    pmd.start()
    mode = os.stat(pmd.socket).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600


def test_workers_get_the_usual_fd_limit(pmd, tmp_path):
    # pmd raises its own soft limit (two pipes per worker); workers do not.
    pmd.start("[app:lim]\ncommand = sh -c 'ulimit -n; exec sleep 1000'\n",
              preexec=lambda: __import__("resource").setrlimit(
                  __import__("resource").RLIMIT_NOFILE, (256, 4096)))
    out = pmd.logs / "lim.out.log"
    wait_until(lambda: log_lines(out), what="ulimit output")
    assert log_lines(out) == ["256"]
    with open(f"/proc/{pmd.proc.pid}/limits") as f:
        line = next(l for l in f if l.startswith("Max open files"))
    assert line.split()[3:5] == ["4096", "4096"]


def test_exit_when_failed_ends_pmd_once_every_app_gave_up(pmd):
    """[daemon] exit_when_failed: pmd exits 1 once every worker of every
    app is errored (an orchestrator then restarts it), not before."""
    pmd.start("[daemon]\nexit_when_failed = true\n"
              "[app:ok]\ncommand = sleep 1000\n"
              "[app:bad]\ncommand = sh -c 'exit 3'\nmax_restarts = 1\n")
    pmd.wait_status("bad", "errored")
    assert pmd.proc.poll() is None                  # ok still runs
    pmd.ok("stop", "ok")
    pmd.ctl("reset", "bad")                          # bad fails again...
    pmd.wait_status("bad", "errored")
    r = pmd.ctl("start", "--name", "worse", "--no-autorestart", "--", "false")
    assert r.returncode == 1 and "worse:0 exited with code 1" in r.stderr and \
        "was not restarted (autorestart = false)" in r.stderr and \
        "its stderr was empty" in r.stderr, r.stderr
    assert pmd.ok("ping") and pmd.proc.poll() is None  # stopped is not failed
    pmd.ok("delete", "ok")
    pmd.ok("delete", "worse")                        # now only bad is left
    wait_until(lambda: pmd.proc.poll() is not None, timeout=20, what="pmd to exit")
    assert pmd.stop() == 1
    assert "every app has given up (errored): exiting 1" in pmd.stderr()
