"""pmd where pidfds are missing (valgrind, old kernels, seccomp profiles
that refuse pidfd_open or CLONE_PIDFD): it reaps by SIGCHLD and waitid
instead, says so once, and supervises the same. PMD_NO_PIDFD=1 takes that
path on any kernel."""
import os
import shutil
import signal
import subprocess

import pytest

from conftest import ROOT, SAN_ENV, marked_pids, pid_alive, wait_until


def zombies_of(pid):
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == pid:
            found.append(int(entry))
    return found


def test_without_pidfds_every_child_is_still_reaped(pmd, tmp_path):
    seen = tmp_path / "seen"
    pmd.env["PMD_NO_PIDFD"] = "1"
    pmd.start(f"""
[app:steady]
command = sleep 1000
instances = 3
hook_exited = sh -c 'echo $PMD_PID >> {seen}'

[app:crash]
command = sh -c 'exit 1'
max_restarts = 2
restart_delay = 0
""")
    assert "PMD_NO_PIDFD is set: children are reaped by SIGCHLD" in pmd.stderr()
    old = pmd.wait_status("steady", "online", count=3)[0]["pid"]
    os.kill(old, signal.SIGKILL)
    wait_until(lambda: pmd.workers("steady")[0]["pid"] not in (0, old) and
               pmd.workers("steady")[0]["status"] == "online", what="the restart")
    wait_until(lambda: seen.exists() and str(old) in seen.read_text(), what="the hook")
    w = pmd.wait_status("crash", "errored")[0]
    assert w["restarts"] == 2
    pmd.ok("save")
    pmd.ok("restart", "steady")
    pmd.wait_status("steady", "online", count=3)
    wait_until(lambda: zombies_of(pmd.proc.pid) == [], what="no zombie")
    pmd.ok("delete", "all")
    wait_until(lambda: zombies_of(pmd.proc.pid) == [] and
               [p for p in marked_pids(pmd.marker) if p != pmd.proc.pid] == [],
               what="every worker gone and reaped")


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_pmd_runs_under_valgrind(tmp_path):
    """valgrind has no pidfd_open and no CLONE_FILES: pmd starts, restarts
    a killed worker and stops cleanly under it, with no error reported."""
    home = tmp_path / "home"
    env = dict(os.environ, PMD_HOME=str(home), NO_COLOR="1")
    for k in SAN_ENV:
        env.pop(k, None)
    pmd = os.path.join(ROOT, "pmd")
    pmctl = os.path.join(ROOT, "pmctl")
    conf = tmp_path / "pmd.conf"
    conf.write_text("[app:w]\ncommand = sleep 1000\ninstances = 2\n")
    log = open(tmp_path / "vg.log", "wb")
    p = subprocess.Popen(["valgrind", "-q", "--error-exitcode=99", "--leak-check=no",
                          pmd, "-c", str(conf)], env=env, stdout=log, stderr=log,
                         stdin=subprocess.DEVNULL)
    try:
        def workers():
            r = subprocess.run([pmctl, "--json", "list"], env=env, capture_output=True,
                               text=True, timeout=30)
            import json
            return json.loads(r.stdout) if r.returncode == 0 else []
        # ping starts no daemon: list would start one beside valgrind's.
        wait_until(lambda: subprocess.run([pmctl, "ping"], env=env, capture_output=True,
                                          timeout=30).returncode == 0 or p.poll() is not None,
                   timeout=60, what="pmd under valgrind to answer")
        assert p.poll() is None, (tmp_path / "vg.log").read_text()
        ws = wait_until(lambda: [w for w in workers() if w["status"] == "online"][1:] and
                        workers(), timeout=60, what="pmd under valgrind")
        old = ws[0]["pid"]
        os.kill(old, signal.SIGKILL)
        wait_until(lambda: [w for w in workers() if w["instance"] == 0 and
                            w["pid"] not in (0, old) and w["status"] == "online"],
                   timeout=60, what="the restart under valgrind")
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=60) == 0, (tmp_path / "vg.log").read_text()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        log.close()
    text = (tmp_path / "vg.log").read_text()
    assert "pidfd_open: Function not implemented: children are reaped by SIGCHLD" in text
    assert "Unsupported clone() flags" not in text
