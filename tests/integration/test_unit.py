"""The shipped systemd unit, hardened: it verifies, systemd-analyze rates
it better than the unsandboxed 9.6 UNSAFE, and the real servers of the
suite (Node, gunicorn, redis) run and serve under what its sandboxing
does, applied here without systemd: the capability bounding set, the
system call filter and architecture (seccomp, from systemd's own lists of
each @group), and read-only kernel tunables and cgroups with a hostname of
their own (mount and UTS namespaces)."""
import ctypes
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, free_port, wait_until, NODE_APP

UNIT_IN = os.path.join(ROOT, "systemd", "pmd.service.in")


def unit_settings():
    """The [Service] settings of the shipped unit, as {key: value}."""
    out = {}
    for line in open(UNIT_IN):
        m = re.match(r"^([A-Za-z]+)=(.*)$", line.strip())
        if m:
            out[m.group(1)] = m.group(2)
    return out


def install(tmp_path):
    prefix = tmp_path / "usr"
    r = subprocess.run(["make", "-s", "-C", ROOT, "install", f"PREFIX={prefix}",
                        f"SYSCONFDIR={tmp_path / 'etc'}"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return prefix / "lib/systemd/system/pmd.service"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_the_hardened_unit_verifies_and_rates_better(tmp_path):
    unit = install(tmp_path)
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "pmd.service" not in r.stderr, r.stderr
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", str(unit)],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    m = re.search(r"Overall exposure level for pmd.service: (\d+\.\d)", r.stdout)
    assert m, r.stdout + r.stderr
    assert float(m.group(1)) < 9.6
    # Every setting the unit documents is one systemd knows (verify
    # would have said otherwise) and is there.
    s = unit_settings()
    for key in ("ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
                "ProtectControlGroups", "ProtectHostname", "LockPersonality",
                "RestrictRealtime", "RestrictSUIDSGID"):
        assert s.get(key) == "yes", key
    assert s["SystemCallArchitectures"] == "native"


CAPS = {name: i for i, name in enumerate(
    "CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP "
    "LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER "
    "SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE "
    "SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP "
    "MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ".split())}


def group_syscalls(groups):
    """The system calls of systemd's @groups, from systemd itself."""
    r = subprocess.run(["systemd-analyze", "syscall-filter", *groups], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return {w for line in r.stdout.splitlines()
            if (w := line.strip()) and not w.startswith(("#", "@"))}


def sandbox(settings):
    """A preexec function that puts pmd where the unit would."""
    import seccomp
    libc = ctypes.CDLL(None, use_errno=True)
    denied = settings["SystemCallFilter"].lstrip("~").split()
    calls = group_syscalls(denied)
    drop = [CAPS[c[4:]] for c in settings["CapabilityBoundingSet"].lstrip("~").split()]

    def check(rc, what):
        if rc != 0:
            raise OSError(ctypes.get_errno(), what)

    def enter():
        CLONE_NEWNS, CLONE_NEWUTS = 0x00020000, 0x04000000
        MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18
        check(libc.unshare(CLONE_NEWNS | CLONE_NEWUTS), "unshare")
        check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount private")
        # ProtectKernelTunables, ProtectControlGroups: read-only.
        for path in (b"/proc/sys", b"/sys"):
            check(libc.mount(path, path, None, MS_BIND | MS_REC, None), "bind")
            check(libc.mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY, None),
                  "remount ro")
        # ProtectHostname: a hostname of its own.
        check(libc.sethostname(b"pmd-sandbox", 11), "sethostname")
        for cap in drop:
            check(libc.prctl(24, cap, 0, 0, 0), "PR_CAPBSET_DROP")   # PR_CAPBSET_DROP
        # SystemCallFilter=~@...: EPERM; SystemCallArchitectures=native:
        # a filter of the native architecture alone kills the others.
        f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        for call in sorted(calls):
            try:
                f.add_rule(seccomp.ERRNO(1), call)
            except (RuntimeError, ValueError):
                pass    # not a system call of this architecture
        f.load()
    return enter


def http_get(port, path="/"):
    import http.client
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", path)
        return c.getresponse().status == 200
    except OSError:
        return False


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("node") is None or
                    shutil.which("redis-server") is None or shutil.which("gunicorn") is None,
                    reason="needs root, node, redis and gunicorn")
def test_real_servers_run_in_the_units_sandbox(pmd, tmp_path):
    pytest.importorskip("seccomp")
    settings = unit_settings()
    (tmp_path / "app.js").write_text(NODE_APP)
    (tmp_path / "app.py").write_text(
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [])\n"
        "    return [b'ok\\n']\n")
    sock = tmp_path / "redis.sock"
    node_port, guni_port = free_port(), free_port()
    pmd.start(f"""
[app:node]
command = node app.js
instances = 2
listen = tcp://127.0.0.1:{node_port}
env.PORT = {node_port}
[app:gunicorn]
command = gunicorn --workers 2 app:app
listen = tcp://127.0.0.1:{guni_port}
wait_ready = true
[app:redis]
command = redis-server --port 0 --unixsocket {sock} --save "" --appendonly no
listen = unix:{sock}
""", preexec=sandbox(settings))
    pmd.wait_status("node", "online", count=2)
    pmd.wait_status("gunicorn", "online")
    pmd.wait_status("redis", "online")
    wait_until(lambda: http_get(node_port), what="node to serve")
    wait_until(lambda: http_get(guni_port), what="gunicorn to serve")
    wait_until(lambda: subprocess.run(["redis-cli", "-s", str(sock), "ping"],
                                      capture_output=True, text=True).stdout.strip() == "PONG",
               what="redis to answer")
    # The sandbox holds for the workers: no clock or boot capability, a
    # seccomp filter, kernel tunables read-only.
    pid = pmd.workers("node")[0]["pid"]
    with open(f"/proc/{pid}/status") as f:
        status = f.read()
    bnd = int(re.search(r"CapBnd:\s*([0-9a-f]+)", status).group(1), 16)
    assert not bnd & (1 << CAPS["SYS_TIME"]) and not bnd & (1 << CAPS["SYS_BOOT"])
    assert re.search(r"Seccomp:\s*2", status)
    with open(f"/proc/{pid}/mountinfo") as f:
        sysctl = [line.split() for line in f if line.split()[4] == "/proc/sys"]
    assert sysctl and sysctl[-1][5].startswith("ro")
    pmd.ok("reload", "node")
    wait_until(lambda: http_get(node_port), what="node to serve after a reload")
