"""make deb: the package builds clean under lintian, installs without
starting anything, upgrades a running system pmd in place (pmctl update
from its postinst: no worker restarted) and stops pmd when removed."""
import json
import os
import shutil
import signal
import subprocess

import pytest

from conftest import ROOT, log_lines, marked_pids, pid_alive, wait_until

SOCK = "/run/pmd/pmd.sock"


def build(tmp_path, version):
    # As the README says: make deb (here in a temporary folder).
    r = subprocess.run(["make", "-s", "deb"], cwd=ROOT, capture_output=True, text=True,
                       env=dict(os.environ, VERSION=version, DEB_DIR=str(tmp_path / version)),
                       timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    # lintian ran (--fail-on error,warning) and said nothing.
    assert "lintian is not installed" not in r.stderr
    assert r.stderr.strip() == "", r.stderr
    return r.stdout.strip().splitlines()[-1]


def ctl(*args):
    return subprocess.run(["/usr/bin/pmctl", "-s", SOCK, *args], capture_output=True, text=True,
                          timeout=60)


@pytest.fixture
def machine(tmp_path):
    """The real machine's /usr, /etc/pmd and /run/pmd, as a package has
    them: only where nothing of pmd is installed, and cleaned up after."""
    if os.geteuid() != 0:
        pytest.skip("installs a package: needs root")
    for tool in ("dpkg-deb", "lintian", "dpkg-shlibdeps"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (scripts/deps.sh test)")
    if subprocess.run(["dpkg", "-s", "pmd"], capture_output=True).returncode == 0 or \
            os.path.exists("/etc/pmd") or os.path.exists(SOCK) or os.path.exists("/usr/bin/pmd"):
        pytest.skip("pmd is installed on this machine already")
    marker = "deb-" + os.urandom(8).hex()
    yield marker
    subprocess.run(["dpkg", "--purge", "pmd"], capture_output=True)
    for pid in marked_pids(marker):
        os.kill(pid, signal.SIGKILL)
    shutil.rmtree("/etc/pmd", ignore_errors=True)
    shutil.rmtree("/run/pmd", ignore_errors=True)


def test_package_installs_upgrades_in_place_and_removes(machine, tmp_path):
    old = build(tmp_path, "0.1.0+deb1")
    new = build(tmp_path, "0.1.0+deb2")
    contents = subprocess.run(["dpkg-deb", "-c", old], capture_output=True, text=True).stdout
    for path in ("./usr/bin/pmd", "./usr/bin/pmctl", "./usr/lib/pmd/pmd-preload.so",
                 "./usr/lib/pmd/pmd-drain.js", "./lib/systemd/system/pmd.service",
                 "./usr/share/man/man8/pmd.8.gz", "./usr/share/man/man1/pmctl.1.gz",
                 "./usr/share/man/man5/pmd.conf.5.gz",
                 "./usr/share/bash-completion/completions/pmctl", "./etc/pmd/pmd.conf"):
        assert path in contents, path
    # sudo apt install ./build/pmd_*.deb, as the README shows.
    r = subprocess.run(["apt-get", "install", "-y", old], capture_output=True,
                       text=True, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    assert r.returncode == 0, r.stdout + r.stderr
    # Installing starts nothing.
    assert not os.path.exists(SOCK)
    # A system pmd with a logger and a sleeper, as systemd would run it.
    (tmp_path / "n.sh").write_text("i=0; while :; do echo \"n $i\"; i=$((i+1)); sleep 0.01; done\n")
    conf = tmp_path / "pmd.conf"
    conf.write_text(f"[daemon]\nlog_dir = {tmp_path}/logs\ndump_file = {tmp_path}/dump.json\n"
                    f"[app:numbers]\ncommand = sh {tmp_path}/n.sh\n"
                    f"[app:sleeper]\ncommand = sleep 100000\ninstances = 2\n")
    log = open(tmp_path / "pmd.log", "wb")
    pmd = subprocess.Popen(["/usr/bin/pmd", "--system", "-c", str(conf)], stdout=log, stderr=log,
                           env=dict(os.environ, PMD_TEST_MARK=machine))
    try:
        wait_until(lambda: ctl("ping").returncode == 0, what="the system pmd")
        wait_until(lambda: len(json.loads(ctl("--json", "list").stdout)) == 3 and all(
            w["status"] == "online" for w in json.loads(ctl("--json", "list").stdout)),
            what="its workers")
        before = {(w["name"], w["instance"]): w["pid"] for w in json.loads(ctl("--json", "list").stdout)}
        assert json.loads(ctl("--json", "ping").stdout)["version"] == "0.1.0+deb1"
        r = subprocess.run(["dpkg", "--force-confold", "-i", new], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "updating the running pmd in place" in r.stdout, r.stdout
        assert "pmd updated in place: 0.1.0+deb1 -> 0.1.0+deb2" in r.stdout, r.stdout
        ping = json.loads(ctl("--json", "ping").stdout)
        assert ping["version"] == "0.1.0+deb2" and ping["pid"] == pmd.pid
        # The process runs the new file, not the replaced one.
        assert os.readlink(f"/proc/{pmd.pid}/exe") == "/usr/bin/pmd"
        rows = json.loads(ctl("--json", "list").stdout)
        assert {(w["name"], w["instance"]): w["pid"] for w in rows} == before
        assert all(w["restarts"] == 0 for w in rows)
        lines = log_lines(tmp_path / "logs" / "numbers.out.log")
        n = len(lines)
        wait_until(lambda: len(log_lines(tmp_path / "logs" / "numbers.out.log")) > n + 10,
                   what="the logger after the upgrade")
        lines = log_lines(tmp_path / "logs" / "numbers.out.log")
        assert lines == [f"n {i}" for i in range(len(lines))]
        # Removing the package stops pmd and its workers.
        r = subprocess.run(["dpkg", "-r", "pmd"], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        assert pmd.wait(timeout=30) == 0
        assert not any(pid_alive(p) for p in before.values())
        assert not os.path.exists("/usr/bin/pmd")
    finally:
        if pmd.poll() is None:
            pmd.kill()
            pmd.wait()
        log.close()
