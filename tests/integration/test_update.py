"""pmctl update: pmd executes a new binary in its own process and keeps
every worker, pipe, socket, message channel and client; a binary that
cannot take over leaves the old pmd running as it was."""
import json
import os
import re
import signal
import socket
import subprocess

from conftest import NODE_APP, PMCTL, PMD, free_port, log_lines, pid_alive, wait_until

NUMBERED = """
import sys, time
i = 0
while True:
    print(f"n {i}", flush=True)
    i += 1
    time.sleep(0.003)
"""

ECHO = """
process.on('message', (m) => process.send({type: 'echo', got: m}));
setInterval(() => {}, 1000);
"""

# A wrapper around pmd that passes the probe and then misbehaves as told.
FAULT = """#!/bin/sh
case "$*" in *--update-check*) exec {pmd} "$@" ;; esac
PMD_UPDATE_FAULT={fault} exec {pmd} "$@"
"""


def config(tmp_path, port):
    (tmp_path / "app.js").write_text(NODE_APP)
    (tmp_path / "n.py").write_text(NUMBERED)
    (tmp_path / "echo.js").write_text(ECHO)
    return f"""
[app:web]
command = node app.js
instances = 2
listen = tcp://127.0.0.1:{port}
env.PORT = {port}
[app:numbers]
command = python3 n.py
[app:echo]
command = node echo.js
"""


def nofile(pid):
    with open(f"/proc/{pid}/limits") as f:
        return [l for l in f if l.startswith("Max open files")]


def snapshot(pmd):
    return {(w["name"], w["instance"]): (w["pid"], w["restarts"]) for w in pmd.workers()}


def numbers_unbroken(pmd):
    """The numbered lines so far: none missing, none twice, none split."""
    lines = log_lines(pmd.logs / "numbers.out.log")
    nums = [int(l[2:]) for l in lines if re.fullmatch(r"n \d+", l)]
    assert len(nums) == len(lines), [l for l in lines if not re.fullmatch(r"n \d+", l)][:5]
    assert nums == list(range(len(nums))), "a gap or a duplicate"
    return len(nums)


def echoes(pmd):
    ev = json.loads(pmd.ok("--json", "events", "echo", "--lines", "1000").stdout)["events"]
    return [e["message"]["got"] for e in ev if e["type"] == "message"]


def wrk(port, seconds):
    return subprocess.Popen(["wrk", "-t2", "-c16", f"-d{seconds}s", f"http://127.0.0.1:{port}/"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def failed_requests(out):
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(map(int, m.groups()))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errors += int(m.group(1))
    return errors


def test_three_updates_under_load_keep_everything(pmd, tmp_path):
    port = free_port()
    pmd.start(config(tmp_path, port))
    for name, n in (("web", 2), ("numbers", 1), ("echo", 1)):
        pmd.wait_status(name, "online", count=n)
    before = snapshot(pmd)
    pid = pmd.proc.pid
    pmd.ok("send", "echo", '"before"')
    wait_until(lambda: "before" in echoes(pmd), what="the echo before")
    wait_until(lambda: numbers_unbroken(pmd) > 20, what="numbered lines")
    load = wrk(port, 6)
    try:
        wait_until(lambda: True, timeout=0.5)
        for i in range(3):
            r = pmd.ok("update")
            assert re.match(r"pmd updated in place: \S+ -> \S+, pid %d, 4 workers kept, "
                            r"supervision paused [\d.]+ ms\n" % pid, r.stdout), r.stdout
            assert pmd.proc.poll() is None
    finally:
        out = load.communicate(timeout=60)[0]
    assert "requests in" in out, out
    assert failed_requests(out) == 0, out
    # Same pmd, same workers, no restart.
    assert pmd.json("ping")["pid"] == pid
    assert snapshot(pmd) == before
    # Messages still flow, both ways.
    pmd.ok("send", "echo", '"after"')
    wait_until(lambda: "after" in echoes(pmd), what="the echo after")
    assert echoes(pmd).count("before") == 1
    # The log goes on unbroken: no line lost, none twice, none split.
    n = numbers_unbroken(pmd)
    wait_until(lambda: numbers_unbroken(pmd) > n + 50, what="more numbered lines")
    # A crash after the update is handled as before, the new process
    # with the limits the old pmd gave its workers.
    limits = nofile(before[("web", 0)][0])
    os.kill(before[("web", 0)][0], signal.SIGKILL)
    wait_until(lambda: snapshot(pmd)[("web", 0)][1] == 1, what="the restart")
    pmd.wait_status("web", "online", count=2)
    assert nofile(snapshot(pmd)[("web", 0)][0]) == limits
    ev = json.loads(pmd.ok("--json", "events", "--lines", "1000").stdout)["events"]
    assert sum(e["type"] == "updated" for e in ev) == 3
    assert "took over from pmd" in pmd.stderr()


def test_broken_binaries_change_nothing(pmd, tmp_path):
    port = free_port()
    pmd.start(config(tmp_path, port))
    pmd.wait_status("web", "online", count=2)
    pmd.wait_status("echo", "online", count=1)
    before = snapshot(pmd)
    exits1 = tmp_path / "exits1"
    exits1.write_text("#!/bin/sh\nexit 1\n")
    exits1.chmod(0o755)
    plain = tmp_path / "plain.txt"
    plain.write_text("not a program\n")
    plain.chmod(0o755)
    noexec = tmp_path / "noexec"
    noexec.write_bytes(open(PMD, "rb").read(64))
    arm = tmp_path / "arm"
    hdr = bytearray(open(PMD, "rb").read(64))
    hdr[18:20] = (183).to_bytes(2, "little")  # EM_AARCH64
    arm.write_bytes(bytes(hdr))
    arm.chmod(0o755)
    cases = [
        (exits1, "--update-check exited with code 1; pmd 0.1.0 runs on, nothing changed"),
        (tmp_path / "missing", "missing: No such file or directory"),
        (noexec, "noexec: not an executable file"),
        (plain, "plain.txt: not an ELF executable or a script"),
        (arm, "built for another machine (ELF machine 183"),
    ]
    for binary, message in cases:
        r = pmd.ctl("update", "--binary", binary)
        assert r.returncode in (1, 2), r
        assert message in r.stderr, r.stderr
    assert pmd.ctl("update", "--binary").returncode == 2
    # A new pmd that cannot take over hands back to the old one.
    for fault, message in (("truncate", "not JSON (cut short?)"),
                           ("crash", "crashed while taking over, signal 06"),
                           ("refuse", "PMD_UPDATE_FAULT=refuse")):
        w = tmp_path / f"fault-{fault}"
        w.write_text(FAULT.format(pmd=PMD, fault=fault))
        w.chmod(0o755)
        r = pmd.ctl("update", "--binary", w)
        assert r.returncode == 1, r
        assert f"the new pmd could not take over: {message}" in r.stderr, r.stderr
        assert "runs on with every worker" in r.stderr
    assert snapshot(pmd) == before
    pmd.ok("send", "echo", '"still"')
    wait_until(lambda: "still" in echoes(pmd), what="the echo after the failures")
    ev = json.loads(pmd.ok("--json", "events", "--lines", "1000").stdout)["events"]
    assert sum(e["type"] == "update_failed" for e in ev) == 3
    # And a good update still works after all that.
    assert pmd.ok("update").stdout.startswith("pmd updated in place")
    assert snapshot(pmd) == before


def test_update_refusals(pmd, tmp_path):
    pmd.start()
    # Only an absolute path reaches pmd (pmctl makes one), and a string.
    r = pmd.request(b'{"v":1,"cmd":"update","binary":"pmd"}\n', count=1)
    assert r[0]["error"]["code"] == "EARGS" and "absolute path" in r[0]["error"]["message"]
    r = pmd.request(b'{"v":1,"cmd":"update","binary":7}\n', count=1)
    assert r[0]["error"]["code"] == "EARGS"
    r = pmd.ctl("update", "--bin", "x")
    assert r.returncode == 2 and "usage: update [--binary PATH]" in r.stderr
    # Two at once: the second is refused while the first's probe runs.
    slow = tmp_path / "slowprobe"
    slow.write_text(f"#!/bin/sh\ncase \"$*\" in *--update-check*) sleep 1 ;; esac\n"
                    f"exec {PMD} \"$@\"\n")
    slow.chmod(0o755)
    first = subprocess.Popen([PMCTL, "update", "--binary", str(slow)], env=pmd.env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: "update: checking" in pmd.stderr(), what="the first update's probe")
    r = pmd.ctl("update")
    assert r.returncode == 1 and "an update is running already" in r.stderr, r.stderr
    out, err = first.communicate(timeout=30)
    assert first.returncode == 0 and "pmd updated in place" in out, err
    # An app being deleted: refused until it has stopped.
    pmd.ok("start", "--name", "slow", "--kill-timeout", "20s", "--", "sh", "-c",
           "trap '' TERM; while :; do sleep 0.05; done")
    pmd.wait_status("slow", "online")
    pid = pmd.workers("slow")[0]["pid"]
    deleting = subprocess.Popen([PMCTL, "delete", "slow"], env=pmd.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_until(lambda: pmd.workers("slow") and pmd.workers("slow")[0]["status"] == "stopping",
               what="the stop")
    r = pmd.ctl("update")
    assert r.returncode == 1 and '"slow" is being deleted' in r.stderr, r.stderr
    os.kill(pid, signal.SIGKILL)
    deleting.communicate(timeout=30)
    assert pmd.ok("update").stdout.startswith("pmd updated in place")


def test_followers_go_on_with_the_new_pmd(pmd, tmp_path):
    """logs --follow and events --follow are carried: no line missed."""
    (tmp_path / "n.py").write_text(NUMBERED)
    pmd.start("[app:numbers]\ncommand = python3 n.py\n")
    pmd.wait_status("numbers", "online")
    logs = subprocess.Popen([PMCTL, "logs", "numbers", "--follow", "--lines", "0"],
                            env=pmd.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    events = subprocess.Popen([PMCTL, "events", "--follow", "--lines", "0"],
                              env=pmd.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: numbers_unbroken(pmd) > 10, what="lines")
        pmd.ok("update")
        pmd.ok("update")
        n = numbers_unbroken(pmd)
        wait_until(lambda: numbers_unbroken(pmd) > n + 20, what="lines after the updates")
        pmd.ok("restart", "numbers")
        pmd.wait_status("numbers", "online")
    finally:
        pmd.ok("kill")
        out_logs = logs.communicate(timeout=20)[0]
        out_events = events.communicate(timeout=20)[0]
    shown = [l.split("| ", 1)[1] for l in out_logs.splitlines() if "| " in l]
    nums = [int(l[2:]) for l in shown]
    # The first worker's lines, from before the updates to after: none missed.
    drop = [i for i in range(1, len(nums)) if nums[i] < nums[i - 1]]
    first = nums[:drop[0]] if drop else nums
    assert len(first) > 30
    assert first == list(range(first[0], first[0] + len(first)))
    assert out_events.count(" updated: pmd ") == 2, out_events
    assert "stopped" in out_events, out_events


def test_a_new_pmd_killed_while_taking_over_leaves_nothing_running(pmd, tmp_path):
    """SIGKILL cannot be caught: the workers are then those of any killed
    pmd, and the next pmd ends them before it starts."""
    (tmp_path / "n.py").write_text(NUMBERED)
    conf = "[app:numbers]\ncommand = python3 n.py\n[app:sleeper]\ncommand = sleep 1000\n"
    pmd.start(conf)
    pmd.wait_status("numbers", "online")
    pmd.wait_status("sleeper", "online")
    pids = [w["pid"] for w in pmd.workers()]
    sleeper = pmd.workers("sleeper")[0]["pid"]
    w = tmp_path / "killed"
    w.write_text(FAULT.format(pmd=PMD, fault="kill"))
    w.chmod(0o755)
    r = pmd.ctl("update", "--binary", w)
    assert r.returncode != 0
    assert pmd.proc.wait(timeout=10) == -signal.SIGKILL
    pmd.log.close()
    pmd.proc = None
    assert pid_alive(sleeper)                   # an orphan, for now
    pmd.start(conf)                              # the next pmd ends them first
    wait_until(lambda: not any(pid_alive(p) for p in pids), what="the orphans' end")
    assert "left by a pmd that did not stop its workers" in pmd.stderr()
    ws = pmd.wait_status("numbers", "online")
    assert ws[0]["pid"] not in pids


def test_systemd_sees_the_update_as_a_reload(pmd, tmp_path):
    """Type=notify: RELOADING=1 before the exec, READY=1 once the new pmd
    has taken over; on the way back too."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(15)
    pmd.env["NOTIFY_SOCKET"] = str(tmp_path / "notify")
    pmd.start("[app:a]\ncommand = sleep 1000\n", wait=False)
    assert sock.recv(4096) == b"READY=1"
    pmd.wait_status("a", "online")
    pmd.ok("update")
    assert sock.recv(4096).decode().startswith("RELOADING=1\nMONOTONIC_USEC=")
    assert sock.recv(4096) == b"READY=1"
    w = tmp_path / "refuse"
    w.write_text(FAULT.format(pmd=PMD, fault="refuse"))
    w.chmod(0o755)
    assert pmd.ctl("update", "--binary", w).returncode == 1
    assert sock.recv(4096).decode().startswith("RELOADING=1\nMONOTONIC_USEC=")
    assert sock.recv(4096) == b"READY=1"
    pmd.proc.send_signal(signal.SIGTERM)
    assert sock.recv(4096) == b"STOPPING=1"


def test_a_hook_running_through_an_update_is_taken_over(pmd, tmp_path):
    """A hook still running when pmd updates goes on under the new pmd:
    what it prints afterwards, even a line begun before, is logged, its
    exit is reaped and reported, and its slot is free again."""
    go = tmp_path / "go"
    (tmp_path / "hook.sh").write_text(
        f"#!/bin/sh\necho started\nprintf 'begun '\n"
        f"while [ ! -e {go} ]; do sleep 0.02; done\necho ended\nexit 3\n")
    (tmp_path / "hook.sh").chmod(0o755)
    pmd.start(f"[app:crash]\ncommand = sh -c 'exit 1'\ncwd = {tmp_path}\n"
              f"autorestart = false\nhook_exited = {tmp_path}/hook.sh\n")
    wait_until(lambda: "hook_exited of crash:0: started" in pmd.stderr(),
               what="the hook to run")
    pid = pmd.proc.pid
    assert pmd.ok("update").stdout.startswith("pmd updated in place")
    assert pmd.proc.pid == pid and pmd.proc.poll() is None
    go.write_text("")
    wait_until(lambda: "hook_exited of crash:0: exited with code 3" in pmd.stderr(),
               what="the hook's exit, under the new pmd")
    assert "hook_exited of crash:0: begun ended" in pmd.stderr()
    # No process is left of it, and the next hook runs.
    go.unlink()
    pmd.ctl("restart", "crash")     # it exits at once again: rc 1, said
    wait_until(lambda: pmd.stderr().count("hook_exited of crash:0: started") == 2,
               what="the next hook")
    go.write_text("")
    wait_until(lambda: pmd.stderr().count("exited with code 3") == 2, what="its exit")
