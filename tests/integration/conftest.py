"""Fixtures for black-box tests: a real pmd on a private PMD_HOME per test.

Every daemon gets a unique marker variable in its environment, which its
workers inherit; after the test, no process may still carry it. Tests never
sleep to wait: they poll with a deadline (wait_until).
"""
import contextlib
import fcntl
import http.client
import json
import os
import pty
import re
import select
import signal
import socket
import struct
import subprocess
import termios
import threading
import time
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN_DIR = os.environ.get("PMD_BIN_DIR", ROOT)
PMD = os.path.join(BIN_DIR, "pmd")
PMCTL = os.path.join(BIN_DIR, "pmctl")

# Leak checks on; a sanitizer report fails the test through the exit code
# and the log scan in Daemon.stop().
SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=86",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=87",
}


STAMP = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4} ")


def log_lines(path):
    """The lines of a log file, without pmd's timestamps (str, or [] if absent)."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        return [STAMP.sub(b"", l).decode(errors="replace") for l in f.read().splitlines()]


def wait_until(pred, timeout=10.0, interval=0.01, what="condition"):
    """Poll pred() until it returns a true value; fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@contextlib.contextmanager
def churning(pmd, extra=""):
    """pmd started (with extra config) and two steady apps of 300 workers,
    stay then last, while a thread starts and deletes a 40-worker app in a
    loop; yields the list of rounds done (one entry each)."""
    pmd.start(extra + "[app:stay]\ncommand = sleep 1000\ninstances = 300\n"
              "[app:last]\ncommand = sleep 1000\ninstances = 300\n")
    pmd.wait_status("stay", "online", count=300)
    pmd.wait_status("last", "online", count=300)
    stop = threading.Event()
    rounds = []

    def churn():
        while not stop.is_set():
            pmd.ok("start", "--name", "churn", "-i", "40", "--", "sleep", "1000")
            pmd.ok("delete", "churn")
            rounds.append(1)
    t = threading.Thread(target=churn)
    t.start()
    try:
        yield rounds
    finally:
        stop.set()
        t.join()


def npm_modules(dest, *specs):
    """Link dest/node_modules to the npm packages specs (socket.io@4, ...),
    installed once into a cache this suite makes under the system's temp
    directory (never the repository), from the npm registry."""
    import hashlib
    import tempfile
    key = hashlib.sha256(" ".join(sorted(specs)).encode()).hexdigest()[:16]
    cache = os.path.join(tempfile.gettempdir(), "pmd-test-npm", key)
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(cache, ".done")):
            with open(os.path.join(cache, "package.json"), "w") as f:
                f.write('{"private": true}\n')
            r = subprocess.run(["npm", "install", "--no-audit", "--no-fund",
                                "--loglevel=error", *specs], cwd=cache,
                               capture_output=True, text=True, timeout=300)
            assert r.returncode == 0, f"npm install {' '.join(specs)}:\n{r.stderr}"
            open(os.path.join(cache, ".done"), "w").close()
    os.symlink(os.path.join(cache, "node_modules"), os.path.join(dest, "node_modules"))


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def marked_pids(marker):
    """Pids of live processes whose environment holds marker."""
    found = []
    needle = f"PMD_TEST_MARK={marker}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0") and pid_alive(int(entry)):
                    found.append(int(entry))
        except OSError:
            pass
    return found


class Daemon:
    def __init__(self, tmp_path):
        self.dir = tmp_path
        self.home = tmp_path / "home"
        self.home.mkdir()
        self.marker = uuid.uuid4().hex
        self.env = dict(os.environ)
        self.env.update(SAN_ENV)
        self.env.pop("PMD_SOCKET", None)
        self.env.update(PMD_HOME=str(self.home), PMD_TEST_MARK=self.marker,
                        PMD_BIN=PMD, NO_COLOR="1")
        self.proc = None
        self.log_path = tmp_path / "pmd.stderr"
        self.socket = str(self.home / "pmd.sock")
        self.logs = self.home / "logs"

    def write_config(self, text, name="pmd.conf"):
        path = self.dir / name
        path.write_text(text)
        return path

    def start(self, config_text=None, args=(), wait=True, preexec=None, pass_fds=()):
        """Run pmd in the foreground on config_text (if any)."""
        cmd = [PMD]
        if config_text is not None:
            cmd += ["-c", str(self.write_config(config_text))]
        cmd += list(args)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=self.log,
                                     stderr=self.log, stdin=subprocess.DEVNULL,
                                     preexec_fn=preexec, pass_fds=pass_fds)
        if wait:
            wait_until(lambda: self.ctl("ping").returncode == 0 or self.proc.poll() is not None,
                       what="pmd to answer ping")
            assert self.proc.poll() is None, self.stderr()
        return self

    def stderr(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def ctl(self, *args, timeout=30, env=None, **kw):
        e = dict(self.env)
        e.update(env or {})
        return subprocess.run([PMCTL, *map(str, args)], env=e, capture_output=True,
                              text=True, timeout=timeout, **kw)

    def ok(self, *args, **kw):
        r = self.ctl(*args, **kw)
        assert r.returncode == 0, f"pmctl {' '.join(map(str, args))}: rc {r.returncode}\n{r.stdout}{r.stderr}"
        return r

    def json(self, *args):
        return json.loads(self.ok("--json", *args).stdout)

    def workers(self, name=None):
        return [w for w in self.json("list") if name is None or w["name"] == name]

    def show(self, name):
        return self.json("show", name)["app"]

    def wait_status(self, name, status, count=None, timeout=10):
        def check():
            ws = self.workers(name)
            return ws and all(w["status"] == status for w in ws) and \
                (count is None or len(ws) == count) and ws
        return wait_until(check, timeout, what=f"{name} to be {status}")

    def request(self, raw, read=True, count=None):
        """Send raw bytes on a new connection; return the reply lines (all
        until the daemon closes, or the first count of them)."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.socket)
        s.sendall(raw)
        data = b""
        if read:
            while count is None or data.count(b"\n") < count:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        s.close()
        return [json.loads(line) for line in data.splitlines()]

    def stop(self):
        """SIGTERM pmd; it must exit 0, clean under the sanitizers."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("pmd did not exit within 30s of SIGTERM")
        self.log.close()
        rc = self.proc.returncode
        self.proc = None
        text = self.stderr()
        assert "ERROR: AddressSanitizer" not in text, text
        assert "ERROR: LeakSanitizer" not in text, text
        assert "runtime error:" not in text, text
        return rc


@pytest.fixture
def pmd(tmp_path):
    d = Daemon(tmp_path)
    yield d
    failures = []
    try:
        rc = d.stop()
        if rc not in (None, 0):
            failures.append(f"pmd exited {rc}:\n{d.stderr()[-3000:]}")
    except AssertionError as e:
        failures.append(str(e))
    left = marked_pids(d.marker)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if left:
        failures.append(f"processes left behind: {left}")
    if failures:
        pytest.fail("\n".join(failures))


# Helpers that several test files share.

TESTSRV = os.path.join(ROOT, "build", "testsrv")

NODE_APP = """
const http = require('http');
http.createServer((req, res) => res.end(`${process.pid}\\n`))
    .listen(Number(process.env.PORT));
"""


def get_pid(port, conn=None):
    """One GET on a keep-alive conn (or a new one); the pid that answered,
    read at the end of the body (testsrv's, NODE_APP's)."""
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/")
    r = c.getresponse()
    body = r.read().decode()
    assert r.status == 200, body
    if conn is None or r.getheader("Connection") == "close":
        c.close()
    return int(re.search(r"(\d+)\)?\s*$", body).group(1))


def environ(pid):
    with open(f"/proc/{pid}/environ", "rb") as f:
        return dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)


def spread(pmd, port, name="web"):
    """Every instance answers on the one port."""
    want = {w["pid"] for w in pmd.workers(name)}
    seen = set()
    wait_until(lambda: seen.add(get_pid(port)) or seen == want, timeout=20,
               what="every instance to answer")
    return want


class Hammer:
    """Client threads sending requests on keep-alive connections."""

    def __init__(self, port, threads=4, get=get_pid):
        self.port = port
        self.get = get
        self.stop = threading.Event()
        self.ok = 0
        self.errors = []
        self.seen = set()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run) for _ in range(threads)]
        for t in self.threads:
            t.start()

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        n = 0
        while not self.stop.is_set():
            n += 1
            if n % 20 == 0:
                conn.close()  # a new connection now and then, as browsers do
            try:
                pid = self.get(self.port, conn)
                with self.lock:
                    self.ok += 1
                    self.seen.add(pid)
            except Exception as e:  # any failure at all counts
                with self.lock:
                    self.errors.append(repr(e))
                conn.close()
        conn.close()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(30)


ENTER = b"\x1b[?1049h"
LEAVE = b"\x1b[?25h\x1b[?1049l"


class Tty:
    """pmctl monit on a pseudo-terminal of rows x cols."""

    def __init__(self, pmd, *args, term="xterm", rows=20, cols=100):
        self.master, self.slave = pty.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.before = termios.tcgetattr(self.slave)
        env = dict(pmd.env, TERM=term)
        env.pop("NO_COLOR", None)
        self.proc = subprocess.Popen([PMCTL, "monit", "--interval", "200ms", *args],
                                     stdin=self.slave, stdout=self.slave, stderr=self.slave,
                                     env=env, start_new_session=True)
        self.out = b""

    def read(self):
        while select.select([self.master], [], [], 0)[0]:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.out += chunk
        return self.out

    def screen(self):
        """The last whole frame drawn."""
        frames = self.read().split(b"\x1b[H")
        return frames[-2] if len(frames) > 2 else b""

    def wait_screen(self, text, what):
        wait_until(lambda: text in self.screen(), what=what)

    def key(self, data):
        os.write(self.master, data)

    def finish(self, timeout=10):
        rc = self.proc.wait(timeout)
        self.read()
        return rc

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
        os.close(self.slave)
