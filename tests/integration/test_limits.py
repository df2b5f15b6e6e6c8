"""Per-app process settings: limit_*, nice, oom_score_adj, umask and
cpu_affinity, set in the worker before exec (read back from the worker's
/proc), shown by show, and each bad value a clear error, from a file or
from pmctl start alike."""
import contextlib
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile

import pytest

from conftest import PMD, wait_until

SLEEPER = f"{sys.executable} -c 'import time; time.sleep(1000)'"


def proc_limits(pid):
    """{name: (soft, hard)} from /proc/PID/limits, as strings."""
    out = {}
    with open(f"/proc/{pid}/limits") as f:
        next(f)
        for line in f:
            m = re.match(r"(.+?)\s{2,}(\S+)\s+(\S+)", line)
            out[m.group(1)] = (m.group(2), m.group(3))
    return out


def proc_status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return line.split(":", 1)[1].strip()


def test_process_settings_reach_the_worker(pmd):
    # Within pmd's own hard limits: root in a container may not raise them.
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    nproc_text = "infinity" if nproc == resource.RLIM_INFINITY else str(nproc)
    pmd.start(f"""
[app:api]
command = {SLEEPER}
limit_nofile = 4096:8192
limit_core = 0
limit_stack = 16M
limit_nproc = 1000:{nproc_text}
nice = 5
oom_score_adj = 500
umask = 0027
cpu_affinity = 0
""")
    pid = pmd.wait_status("api", "online")[0]["pid"]
    lim = proc_limits(pid)
    assert lim["Max open files"] == ("4096", "8192")
    assert lim["Max core file size"] == ("0", "0")
    assert lim["Max stack size"] == (str(16 << 20), str(16 << 20))
    assert lim["Max processes"] == ("1000", "unlimited" if nproc_text == "infinity" else nproc_text)
    assert int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[16]) == 5
    assert open(f"/proc/{pid}/oom_score_adj").read().strip() == "500"
    assert proc_status(pid, "Umask") == "0027"
    assert proc_status(pid, "Cpus_allowed_list") == "0"
    conf = pmd.show("api")["config"]
    assert (conf["limit_nofile"], conf["limit_core"], conf["limit_stack"]) == \
        ("4096:8192", "0", "16M")
    assert (conf["nice"], conf["oom_score_adj"], conf["umask"], conf["cpu_affinity"]) == \
        ("5", "500", "0027", "0")
    # Unset, a worker keeps pmd's: not shown as set.
    pmd.ok("start", "--name", "plain", "--", "sleep", "1000")
    assert pmd.show("plain")["config"]["nice"] is None


def test_an_ad_hoc_start_takes_the_same_keys(pmd):
    pmd.start()
    pmd.ok("start", "--name", "w", "--limit-nofile", "2048", "--nice", "3", "--",
           "sleep", "1000")
    pid = pmd.wait_status("w", "online")[0]["pid"]
    assert proc_limits(pid)["Max open files"] == ("2048", "2048")
    # It survives save and resurrect as it was given.
    pmd.ok("save")
    assert pmd.show("w")["config"]["limit_nofile"] == "2048"


BAD = [
    ("nice = 20", "nice: expected a whole number from -20 to 19, got \"20\""),
    ("nice = -21", "nice: expected a whole number from -20 to 19"),
    ("oom_score_adj = 1001", "oom_score_adj: expected a whole number from -1000 to 1000"),
    ("umask = 0999", "umask: expected an octal umask such as 0027, got \"0999\""),
    ("umask = rw", "umask: expected an octal umask"),
    ("limit_nofile = lots", "limit_nofile: expected N, SOFT:HARD or infinity, got \"lots\""),
    ("limit_nofile = 10:5", "limit_nofile: the soft limit is above the hard one"),
    ("limit_stack = 8Q", "limit_stack: expected N, SOFT:HARD or infinity (sizes such as 64M)"),
    ("cpu_affinity = 4096", "cpu_affinity: expected a list of CPUs such as 0-3,6"),
    ("cpu_affinity = 0-", "cpu_affinity: expected a list of CPUs"),
    (f"cpu_affinity = {os.cpu_count() + 3}", f"cpu_affinity: CPU {os.cpu_count() + 3}: this machine has CPUs 0 to"),
]


@pytest.mark.parametrize("line,message", BAD)
def test_a_bad_setting_is_a_config_error_naming_file_line_and_key(pmd, tmp_path, line, message):
    conf = pmd.write_config(f"[app:x]\ncommand = sleep 1000\n{line}\n")
    r = subprocess.run([PMD, "-t", "-c", str(conf)], capture_output=True, text=True,
                       env=pmd.env)
    assert r.returncode == 78
    assert f"{conf}:3: {message}" in r.stderr, r.stderr
    # From pmctl start, the same message, and pmd keeps running.
    if pmd.proc is None:
        pmd.start()
    key, value = (s.strip() for s in line.split("=", 1))
    r = pmd.ctl("start", "--name", "y", f"--{key}", value, "--", "sleep", "1000")
    assert r.returncode == 1 and message in r.stderr, r.stderr
    pmd.ok("ping")


def test_a_limit_pmd_cannot_grant_fails_the_start_naming_it(pmd):
    """Past fs.nr_open no one may go: with CAP_SYS_RESOURCE the worker's
    setrlimit fails and the start names the key, the error and pmd's
    limit; without it (any user, root in many containers) the start is
    refused before any process, naming the key and pmd's hard limit.
    Either way no worker runs, and pmd keeps running."""
    nr_open = int(open("/proc/sys/fs/nr_open").read())
    pmd.start()
    r = pmd.ctl("start", "--name", "big", "--limit-nofile", str(nr_open + 1), "--autorestart",
                "false", "--", "sleep", "1000")
    assert r.returncode == 1
    assert re.search(r"limit_nofile: cannot set \d+:\d+: Operation not permitted "
                     r"\(pmd has \d+:\d+\)", r.stderr) or \
        re.search(rf"limit_nofile: a hard limit of {nr_open + 1} is above pmd's own "
                  r"\(\d+\), which only root \(CAP_SYS_RESOURCE\) can raise", r.stderr), r.stderr
    assert all(w["pid"] == 0 for w in pmd.workers("big"))
    pmd.ok("ping")


AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
needs_nobody = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                                  reason="needs root and setpriv to run pmd as another user")


@contextlib.contextmanager
def nobody_config(text):
    """A config file nobody may read, in a directory of its own; its path."""
    d = tempfile.mkdtemp(prefix="pmd-limits-")
    try:
        os.chmod(d, 0o755)
        conf = os.path.join(d, "pmd.conf")
        with open(conf, "w") as f:
            f.write(text)
        os.chmod(conf, 0o644)
        yield conf
    finally:
        shutil.rmtree(d)


@needs_nobody
def test_an_unprivileged_pmd_refuses_a_hard_limit_above_its_own():
    """pmd as nobody, with a hard limit of 4096 open files: 8192 asked is
    an error naming the key and the limit pmd has, never a silent clamp."""
    with nobody_config("[app:x]\ncommand = sleep 1000\nlimit_nofile = 8192\n") as conf:
        r = subprocess.run(["prlimit", "--nofile=1024:4096", *AS_NOBODY, PMD, "-t", "-c", conf],
                           capture_output=True, text=True,
                           env={"PMD_HOME": os.path.dirname(conf), "PATH": os.environ["PATH"]})
        assert r.returncode == 78, r.stderr
        assert (f"{conf}:3: limit_nofile: a hard limit of 8192 is above pmd's own (4096), "
                "which only root (CAP_SYS_RESOURCE) can raise") in r.stderr, r.stderr


@needs_nobody
def test_a_setting_the_kernel_refuses_fails_the_worker_naming_the_key():
    """pmd as nobody: a lower oom_score_adj needs CAP_SYS_RESOURCE, so the
    worker's start fails in the child, before exec, and the log says which
    key and why; it is never run without the setting."""
    with nobody_config("[app:x]\ncommand = sleep 1000\noom_score_adj = -500\n"
                       "autorestart = false\n") as conf:
        home = os.path.join(os.path.dirname(conf), "home")
        os.mkdir(home)
        shutil.chown(home, "nobody", "nogroup")
        log = os.path.join(os.path.dirname(conf), "pmd.log")
        with open(log, "w") as out:
            proc = subprocess.Popen([*AS_NOBODY, PMD, "-c", conf], stdout=out, stderr=out,
                                    env={"PMD_HOME": home, "PATH": os.environ["PATH"]})
        try:
            wait_until(lambda: "x:0: pid" in open(log).read(), what="the worker's exit")
            text = open(log).read()
            assert "cannot start: oom_score_adj: /proc/self/oom_score_adj: Permission denied" \
                in text, text
        finally:
            proc.terminate()
            proc.wait(timeout=30)
