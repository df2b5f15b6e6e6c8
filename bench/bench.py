#!/usr/bin/python3
"""make bench: pmd's performance targets, measured on this machine in one run.

The targets (the product's promises, with the floor the machine allows
printed beside a figure where there is one):
- pmd RSS <= 2 MiB managing 100 workers, <= 8 MiB managing 1,000;
- pmctl list <= 5 ms end to end with 100 workers (the floor: pmctl ping, a
  process and a round trip);
- a crashed worker (restart_delay 0) runs again within 3 ms of its death (the
  floor: a bare posix_spawn and waitpid loop, `respawn`);
- 200 workers all online <= 0.3 s after pmctl start (the floor: 200
  posix_spawn calls in a row);
- log capture with timestamps >= 70 % of the speed of `writer > file`;
- 0 failed requests under load during a rolling reload of a listen app;
- idle: no wake-ups at all unless a feature that needs a timer is set;
- clients that flood pmd and never read cost the others nothing noticeable;
- under a storm of SIGKILLs every worker comes back, with no zombie, and
  pmd's fds and memory stay flat;
- pmctl update pauses supervision <= 50 ms with 1,000 workers, fails no
  request, and pmd's memory does not grow across updates.

Each figure is printed beside its target. Nothing here is asserted: the
machine is shared and noisy, so read the figures (and ratios within one run),
not a pass/fail. Everything runs on a private PMD_HOME and is cleaned up.
"""
import json
import resource
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PMD = os.path.join(ROOT, "pmd")
PMCTL = os.path.join(ROOT, "pmctl")


def status_kib(pid, field):
    """A size from /proc/PID/status (VmRSS, VmHWM...), in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def rss_kib(pid):
    return status_kib(pid, "VmRSS")


def private_kib(pid):
    """Memory pmd alone holds: RSS less the pages it shares (libc's text...)."""
    total = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                total += int(line.split()[1])
    return total


def cpu_seconds(pid):
    """User plus system CPU time pmd has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_kib(pid):
    return status_kib(pid, "VmHWM")


def first_to_last(path, tail, timeout=300):
    """Seconds from the first byte in path to tail at its end (polled
    every half millisecond)."""
    deadline = time.monotonic() + timeout
    while not (os.path.exists(path) and os.path.getsize(path) > 0):
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        time.sleep(0.0005)
    t = time.perf_counter()
    while not ends_with(path, tail):
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        time.sleep(0.0005)
    return time.perf_counter() - t


def ends_with(path, tail):
    try:
        with open(path, "rb") as f:
            f.seek(-len(tail), os.SEEK_END)
            return f.read() == tail
    except OSError:  # not there yet, or between a rotation's rename and open
        return False


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def testsrv_app(name, port):
    """Two instances of the test server on a listen address, online at READY=1."""
    return (f"[app:{name}]\ncommand = {os.path.join(ROOT, 'build', 'testsrv')}\n"
            f"instances = 2\nlisten = tcp://127.0.0.1:{port}\n"
            f"wait_ready = true\nenv.TESTSRV_READY = 1\n")


def memory(pid):
    return f"{rss_kib(pid) / 1024:.2f} MiB ({private_kib(pid) / 1024:.2f} own)"


class Bench:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="pmd-bench-")
        self.env = dict(os.environ, PMD_HOME=os.path.join(self.tmp, "home"), NO_COLOR="1")
        self.env.pop("PMD_SOCKET", None)
        self.rows = []

    def ctl(self, *args, cwd=None):
        r = subprocess.run([PMCTL, *args], env=self.env, capture_output=True, text=True,
                           timeout=300, cwd=cwd)
        if r.returncode != 0:
            raise RuntimeError(f"pmctl {' '.join(args)}: {r.stderr}")
        return r.stdout

    def workers(self, name=None):
        return [w for w in json.loads(self.ctl("--json", "list")) if name in (None, w["name"])]

    def wait(self, pred, timeout=60):
        deadline = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > deadline:
                raise RuntimeError("timed out")
            time.sleep(0.01)

    def row(self, what, value, target):
        self.rows.append((what, value, target))
        print(f"  {what:<52} {value:>24}   target {target}", flush=True)

    def start(self):
        self.log = open(os.path.join(self.tmp, "pmd.log"), "w")
        os.makedirs(self.env["PMD_HOME"])
        self.pmd = subprocess.Popen([PMD], env=self.env, stderr=self.log, stdout=self.log)
        self.wait(lambda: subprocess.run([PMCTL, "ping"], env=self.env,
                                         capture_output=True).returncode == 0)

    def ctl_latency(self, n=50, cmd="list"):
        """Median ms of `pmctl CMD`, end to end (a process each time)."""
        if shutil.which("hyperfine"):
            out = os.path.join(self.tmp, "hf.json")
            subprocess.run(["hyperfine", "-N", "--warmup", "5", "--runs", str(n),
                            "--export-json", out, f"{PMCTL} {cmd}"], env=self.env,
                           capture_output=True, check=True)
            return statistics.median(json.load(open(out))["results"][0]["times"]) * 1000
        times = []
        for _ in range(n):
            t = time.perf_counter()
            subprocess.run([PMCTL, cmd], env=self.env, capture_output=True, check=True)
            times.append(time.perf_counter() - t)
        return statistics.median(times) * 1000

    def compile(self, name):
        exe = os.path.join(self.tmp, name)
        subprocess.run(["cc", "-O2", "-o", exe, os.path.join(ROOT, "bench", name + ".c")],
                       check=True)
        return exe

    def log_run(self, writer, size, keys):
        """Seconds from the first byte pmd wrote to the log to the last."""
        conf = os.path.join(self.tmp, "logbench.conf")
        with open(conf, "w") as f:
            f.write(f"[app:logbench]\ncommand = {writer} {size} 100\n"
                    f"autorestart = false\n{keys}")
        out = os.path.join(self.env["PMD_HOME"], "logs", "logbench.out.log")
        p = subprocess.Popen([PMCTL, "start", conf], env=self.env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        took = first_to_last(out, b" END\n" if "none" not in keys else b"\nEND\n")
        p.wait()
        self.ctl("delete", "logbench")
        for name in os.listdir(os.path.dirname(out)):
            if name.startswith("logbench."):
                os.unlink(os.path.join(os.path.dirname(out), name))
        return took

    def supervisord_run(self, writer, size):
        """Seconds from supervisord's first byte in the log to its last."""
        d = os.path.join(self.tmp, "supervisord")
        os.makedirs(d, exist_ok=True)
        out = os.path.join(d, "w.log")
        conf = os.path.join(d, "supervisord.conf")
        with open(conf, "w") as f:
            f.write(f"[supervisord]\nlogfile={d}/supervisord.log\npidfile={d}/pid\n"
                    f"nodaemon=true\n[program:w]\ncommand={writer} {size} 100\n"
                    f"autorestart=false\nstartsecs=0\nstdout_logfile={out}\n"
                    f"stdout_logfile_maxbytes=0\n")
        p = subprocess.Popen(["supervisord", "-c", conf], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            took = first_to_last(out, b"\nEND\n")
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=60)
        shutil.rmtree(d, ignore_errors=True)
        return took

    def log_throughput(self, size=200_000_000, runs=3):
        """Log capture against the writer writing to a file itself."""
        writer = self.compile("log-writer")
        pid = self.pmd.pid
        base = []
        for _ in range(runs):
            path = os.path.join(self.tmp, "direct.log")
            with open(path, "wb") as f:
                t = time.perf_counter()
                subprocess.run([writer, str(size), "100"], stdout=f, check=True)
                base.append(time.perf_counter() - t)
            os.unlink(path)
        b = statistics.median(base)
        mb = size / 1e6
        self.row(f"writer > file, {mb:.0f} MB of 100-byte lines (floor; median of {runs})",
                 f"{b:.2f} s  {mb / b:.0f} MB/s", "-")
        if shutil.which("supervisord"):
            sv = statistics.median(self.supervisord_run(writer, size) for _ in range(runs))
            self.row(f"supervisord 4.2 capture, {mb:.0f} MB, first byte to last",
                     f"{sv:.2f} s  {mb / sv:.0f} MB/s", "-")
        rss0 = rss_kib(pid)
        for what, keys in (("timestamps, rotation 10M x 5", ""),
                           ("timestamps, no rotation", "log_max_size = 0\n"),
                           ("no timestamps, no rotation",
                            "log_date_format = none\nlog_max_size = 0\n")):
            cpu0 = cpu_seconds(pid)
            took = statistics.median(self.log_run(writer, size, keys) for _ in range(runs))
            cpu = (cpu_seconds(pid) - cpu0) / runs
            goal = ">= 70 %" if keys == "" else "-"
            if "date_format = none" in keys and shutil.which("supervisord"):
                goal = f">= supervisord's {mb / sv:.0f} MB/s"
            self.row(f"pmd capture, {what}",
                     f"{took:.2f} s  {mb / took:.0f} MB/s  {b / took * 100:.0f} %", goal)
            self.row(f"  pmd CPU for {mb:.0f} MB", f"{cpu:.2f} s", "-")
        self.row(f"pmd RSS before / after {3 * runs} x {mb:.0f} MB, peak",
                 f"{rss0 / 1024:.2f} / {rss_kib(pid) / 1024:.2f} MiB, "
                 f"{peak_rss_kib(pid) / 1024:.2f}", "flat")

    def wrk_during(self, port, action, times=3, seconds=6, app=None):
        """wrk on 2 instances (the test server, or app) while `pmctl action
        web` runs; also the median time of the action."""
        conf = os.path.join(self.tmp, "cluster.conf")
        with open(conf, "w") as f:
            f.write(app or testsrv_app("web", port))
        self.ctl("start", conf)
        took = []
        wrk = subprocess.Popen(["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency",
                                f"http://127.0.0.1:{port}/"], stdout=subprocess.PIPE,
                               text=True)
        for _ in range(times):
            time.sleep(seconds / (times + 1))
            t = time.perf_counter()
            r = subprocess.run([PMCTL, action, "web"], env=self.env, capture_output=True,
                               text=True)
            took.append(time.perf_counter() - t)
            if r.returncode != 0:
                print(f"  pmctl {action} failed: {r.stderr.strip()}")
        out = wrk.communicate()[0]
        self.ctl("delete", "web")
        reqs = re.search(r"(\d+) requests in", out)
        errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                         r"timeout (\d+)", out)
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        lat = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out)
        errors = sum(map(int, errs.groups())) if errs else 0
        errors += int(non2xx.group(1)) if non2xx else 0
        detail = f"connect/read/write/timeout {'/'.join(errs.groups())}" if errs else "none"
        return (int(reqs.group(1)) if reqs else 0, errors, detail,
                lat.group(1) if lat else "?", statistics.median(took))

    def cluster(self):
        if not shutil.which("wrk"):
            self.row("wrk not installed", "-", "-")
            return
        port = free_port()
        for action, target in (("reload", "0"), ("restart", "-")):
            reqs, errors, detail, maxlat, took = self.wrk_during(port, action)
            self.row(f"wrk 6 s, 32 conns, 2 instances, 3 x pmctl {action}",
                     f"{reqs} reqs", "-")
            self.row(f"  failed requests ({detail})", f"{errors}", target)
            self.row("  max latency", maxlat, "-")
            self.row(f"  pmctl {action} (median)", f"{took * 1000:.0f} ms", "-")
        if not shutil.which("node"):
            self.row("node not installed", "-", "-")
            return
        # An unchanged Express-style app.listen(PORT) Node server: the
        # preload library hands it the socket, pmd-drain.js drains it.
        server = os.path.join(self.tmp, "server.js")
        shutil.copy(os.path.join(ROOT, "tests", "tools", "mini-express.js"), self.tmp)
        with open(server, "w") as f:
            f.write("const app = require('./mini-express')();\n"
                    "app.get('/', (req, res) => res.send('hello'));\n"
                    "app.listen(process.env.PORT);\n")
        app = (f"[app:web]\ncommand = node {server}\ninstances = 2\n"
               f"listen = tcp://0.0.0.0:{port}\nenv.PORT = {port}\n")
        reqs, errors, detail, maxlat, took = self.wrk_during(port, "reload", app=app)
        self.row("unchanged Node listen(PORT), wrk 6 s, 3 x pmctl reload", f"{reqs} reqs", "-")
        self.row(f"  failed requests ({detail})", f"{errors}", "0")
        self.row("  pmctl reload of 2 instances (median)", f"{took * 1000:.0f} ms",
                 "PM2: 1.3-1.5 s")
        # PM2's first command, PORT=P pmctl start app.js -i 4: no listen,
        # the instances share what they bind (listen_share).
        app = (f"[app:web]\ncommand = node {server}\ninstances = 4\n"
               f"env.PORT = {port}\n")
        reqs, errors, detail, maxlat, took = self.wrk_during(port, "reload", app=app)
        self.row("PORT=P start app.js -i 4 (no listen), wrk 6 s, 3 x pmctl reload",
                 f"{reqs} reqs", "-")
        self.row(f"  failed requests ({detail})", f"{errors}", "0")
        self.row("  pmctl reload of 4 instances (median)", f"{took * 1000:.0f} ms", "-")

    def restart_latency(self, n):
        """ms from SIGKILL to the replacement's first instruction, n times."""
        stamp = self.compile("stamp-worker")
        self.ctl("start", "--name", "stamp", "--", stamp)
        out = os.path.join(self.env["PMD_HOME"], "logs", "stamp.out.log")
        self.wait(lambda: os.path.exists(out) and open(out).read().count("\n") == 1)
        lat = []
        for i in range(n):
            self.wait(lambda: self.workers("stamp")[0]["status"] == "online")
            w = self.workers("stamp")[0]
            # Keep each run past min_uptime so none counts as unstable.
            time.sleep(max(0, 1.05 - w["uptime_ms"] / 1000))
            t = time.monotonic()
            os.kill(w["pid"], signal.SIGKILL)
            self.wait(lambda: open(out).read().count("\n") == i + 2)
            lat.append((float(open(out).read().split()[-1]) - t) * 1000)
        self.ctl("delete", "stamp")
        os.unlink(out)
        return lat

    def respawn_latency(self, n):
        """The same as restart_latency under a bare respawn loop (the
        floor): ms from SIGKILL to the new process's first instruction."""
        stamp, loop = self.compile("stamp-worker"), self.compile("respawn")
        out = os.path.join(self.tmp, "respawn.out")
        with open(out, "w") as f:
            p = subprocess.Popen([loop, stamp], stdout=f)

        def lines():
            with open(out) as f:
                return f.read().split()

        def child():
            with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
                pids = f.read().split()
            return int(pids[0]) if pids else None
        lat = []
        try:
            for i in range(n):
                self.wait(lambda: len(lines()) == i + 1 and child())
                pid = child()
                t = time.monotonic()
                os.kill(pid, signal.SIGKILL)
                self.wait(lambda: len(lines()) == i + 2)
                lat.append((float(lines()[-1]) - t) * 1000)
        finally:
            last = child()
            p.kill()
            p.wait()
            if last is not None:
                os.kill(last, signal.SIGKILL)
            os.unlink(out)
        return lat

    def idle_calls(self, seconds=10):
        """System calls pmd makes in `seconds` with nothing to do."""
        r = subprocess.run(["timeout", "-s", "INT", str(seconds), "strace", "-c", "-f", "-p",
                            str(self.pmd.pid)], capture_output=True, text=True)
        for line in r.stderr.splitlines():
            parts = line.split()
            if parts and parts[-1] == "total":
                return int(parts[3]) if len(parts) >= 5 else int(parts[2])
        return 0

    def scale(self, apps=10, each=1000):
        """apps x each workers of sleep: online time against a bare spawn
        loop, RSS, list, a restart while they run, idle system calls."""
        n = apps * each
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        t = time.perf_counter()
        loop = subprocess.Popen(["sh", "-c", f"i=0; while [ $i -lt {n} ]; do sleep 100000 & "
                                 "i=$((i+1)); done; wait"], start_new_session=True)
        self.wait(lambda: len(subprocess.run(["pgrep", "-g", str(loop.pid)],
                                             capture_output=True).stdout.split()) >= n + 1,
                  timeout=300)
        floor = time.perf_counter() - t
        os.killpg(loop.pid, signal.SIGKILL)
        loop.wait()
        # Four fds a worker by default (stdout, stderr, message channel,
        # pidfd). This keeps two (stderr, pidfd), or only the pidfd where
        # pmd cannot have 2 x n (it raises its limit to the hard one).
        files = ["--out-file", "/dev/null", "--no-ipc"]
        if hard < 2 * n + 500:
            files += ["--err-file", "/dev/null"]
        t = time.perf_counter()
        for i in range(apps):
            self.ctl("start", "--name", f"scale{i}", "-i", str(each), *files,
                     "--", "sleep", "100000")
        took = time.perf_counter() - t
        online = sum(w["status"] == "online" for w in self.workers())
        self.row(f"{n} sleep workers online ({online}), {apps} x pmctl start -i {each}",
                 f"{took:.2f} s", f"floor: bash spawn loop {floor:.2f} s")
        self.row(f"  ({' '.join(files)}: {2 if len(files) == 3 else 1} fd(s) each; "
                 f"nofile {soft}/{hard})", "", "-")
        self.row(f"pmd RSS (private part), {n} workers", memory(self.pmd.pid), "<= 30 MiB")
        self.row(f"pmctl list, {n} workers (median of 5)",
                 f"{self.median_ms([PMCTL, 'list'], 5):.1f} ms", "<= 250 ms")
        self.row(f"pmctl --json list, {n} workers (median of 5)",
                 f"{self.median_ms([PMCTL, '--json', 'list'], 5):.1f} ms", "-")
        lat = self.restart_latency(10)
        self.row(f"restart after SIGKILL with {n} running, median of 10",
                 f"{statistics.median(lat):.2f} ms", "within a few ms of unloaded")
        if shutil.which("strace"):
            calls = self.idle_calls()
            self.row(f"pmd system calls while idle, {n} workers, 10 s",
                     f"{calls} ({calls / 10:.1f}/s)", "0")
        for i in range(apps):
            self.ctl("delete", f"scale{i}")

    def conn_spread(self, port, conns=16):
        """Which instance each of conns keep-alive connections lands on,
        as the counts per instance, most first."""
        import http.client
        counts = {}
        cs = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(conns)]
        for c in cs:
            c.request("GET", "/")
            pid = c.getresponse().read().strip()
            counts[pid] = counts.get(pid, 0) + 1
        for c in cs:
            c.close()
        return "/".join(str(v) for v in sorted(counts.values(), reverse=True))

    def wrk_latency(self, port, seconds=4):
        out = subprocess.run(["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency",
                              f"http://127.0.0.1:{port}/"], capture_output=True,
                             text=True).stdout
        pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
        mx = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out)
        reqs = re.search(r"(\d+) requests in", out)
        return (f"{reqs.group(1) if reqs else '?'} reqs, p50 {pct.get('50', '?')} "
                f"p99 {pct.get('99', '?')} max {mx.group(1) if mx else '?'}")

    def balance(self):
        """Shared and balanced sockets: the spread of 16 keep-alive
        connections over 2 instances, and wrk's latency, before and after
        a reload."""
        if not shutil.which("wrk"):
            return
        log = os.path.join(self.env["PMD_HOME"], "logs", "bal.out.log")

        def served(total):
            # Each testsrv prints what it served when it exits.
            pat = r"served (\d+) connections, (\d+) requests"
            self.wait(lambda: os.path.exists(log) and
                      len(re.findall(pat, open(log).read())) >= total, timeout=30)
            got = re.findall(pat, open(log).read())[total - 2:total]
            conns = sorted((int(c) for c, _ in got), reverse=True)
            reqs = sorted((int(r) for _, r in got), reverse=True)
            return (f"{'/'.join(map(str, reqs))} reqs "
                    f"({reqs[-1] / max(reqs[0], 1) * 100:.0f} %), "
                    f"{'/'.join(map(str, conns))} conns")
        for m, mode in enumerate(("shared", "balanced")):
            port = free_port()
            conf = os.path.join(self.tmp, "balance.conf")
            with open(conf, "w") as f:
                f.write(f"[app:bal]\ncommand = {os.path.join(ROOT, 'build', 'testsrv')}\n"
                        f"instances = 2\nlisten = tcp://127.0.0.1:{port}\n"
                        f"wait_ready = true\nenv.TESTSRV_READY = 1\n"
                        f"listen_balance = {mode}\n")
            self.ctl("start", conf)
            for when in ("before", "after"):
                if when == "after":
                    self.ctl("reload", "bal")
                    self.row("  before: each worker served (16 conns, wrk)",
                             served(4 * m + 2), "even")
                self.row(f"listen_balance = {mode}, {when} a reload: 16 conns",
                         self.conn_spread(port), "8/8")
                self.row("  wrk 4 s, 16 conns", self.wrk_latency(port), "-")
            self.ctl("delete", "bal")
            self.row("  after: each worker served (16 conns, wrk)", served(4 * m + 4),
                     "even")

    def median_ms(self, cmd, n):
        times = []
        for _ in range(n):
            t = time.perf_counter()
            subprocess.run(cmd, env=self.env, capture_output=True, check=True)
            times.append(time.perf_counter() - t)
        return statistics.median(times) * 1000

    def ping_latency(self, n=300):
        """ms for a ping on a connection of its own (connect, ask, answer)."""
        sock = os.path.join(self.env["PMD_HOME"], "pmd.sock")
        times = []
        for _ in range(n):
            t = time.perf_counter()
            s = socket.socket(socket.AF_UNIX)
            s.connect(sock)
            s.sendall(b'{"v":1,"cmd":"ping"}\n')
            data = b""
            while not data.endswith(b"\n"):
                data += s.recv(4096)
            s.close()
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        return statistics.median(times), times[int(len(times) * 0.99) - 1]

    def flooding_clients(self, nclients=50):
        """Another client's ping and a restart, with and without 50 clients
        that pipeline `list` and never read a reply."""
        pid = self.pmd.pid
        self.ctl("start", "--name", "flood-target", "-i", "8", "--", "sleep", "100000")
        base_ping = self.ping_latency()
        base_restart = statistics.median(self.restart_latency(5))
        rss0 = rss_kib(pid)
        sock = os.path.join(self.env["PMD_HOME"], "pmd.sock")
        socks = []
        for _ in range(nclients):
            s = socket.socket(socket.AF_UNIX)
            s.connect(sock)
            s.setblocking(False)
            socks.append(s)
        chunk = b'{"v":1,"cmd":"list"}\n' * 3000
        stop = threading.Event()
        sent = [0]

        dropped = set()

        def flood():
            while not stop.is_set():
                for s in socks:
                    if s in dropped:
                        continue
                    try:
                        sent[0] += s.send(chunk)
                    except BlockingIOError:
                        pass
                    except OSError:
                        dropped.add(s)      # pmd dropped it: it never read
                time.sleep(0.005)
        t = threading.Thread(target=flood)
        t.start()
        try:
            time.sleep(1)
            ping = self.ping_latency()
            # Within pmd's 10 s stall limit, after which it drops them.
            restart = statistics.median(self.restart_latency(5))
            rss1 = rss_kib(pid)
            alive = nclients - len(dropped)
        finally:
            stop.set()
            t.join()
            for s in socks:
                s.close()
        self.ctl("delete", "flood-target")
        self.row("ping on its own connection, median / p99 (300)",
                 f"{base_ping[0]:.2f} / {base_ping[1]:.2f} ms", "-")
        self.row(f"  the same with {nclients} clients pipelining list, never reading",
                 f"{ping[0]:.2f} / {ping[1]:.2f} ms", "within a few ms")
        self.row("restart after SIGKILL, median of 5", f"{base_restart:.2f} ms", "-")
        self.row(f"  the same with {alive} flooding clients still connected",
                 f"{restart:.2f} ms", "within a few ms")
        self.row(f"  pmd RSS before / during the flood ({sent[0] / 1e6:.1f} MB sent to it)",
                 f"{rss0 / 1024:.2f} / {rss1 / 1024:.2f} MiB", "small")

    def soak(self, seconds=60, rate=50, instances=20):
        """SIGKILL random workers of a 20-instance app rate times a second,
        the crash brake off; then every instance must be online again, with
        no zombie and pmd's fds and memory as before."""
        import random
        pid = self.pmd.pid
        conf = os.path.join(self.tmp, "soak.conf")
        with open(conf, "w") as f:
            f.write(f"[app:soak]\ncommand = sleep 100000\ninstances = {instances}\n"
                    "min_uptime = 0\n")
        self.ctl("start", conf)
        fds0, rss0 = len(os.listdir(f"/proc/{pid}/fd")), rss_kib(pid)
        kills, t0 = 0, time.monotonic()
        while time.monotonic() - t0 < seconds:
            live = [w["pid"] for w in self.workers("soak") if w["pid"] > 0]
            if live:
                try:
                    os.kill(random.choice(live), signal.SIGKILL)
                    kills += 1
                except ProcessLookupError:
                    pass
            time.sleep(max(0, t0 + kills / rate - time.monotonic()))
        self.wait(lambda: sum(w["status"] == "online" for w in self.workers("soak")) ==
                  instances)
        restarts = sum(w["restarts"] for w in self.workers("soak"))
        zombies = 0
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                zombies += fields[0] == "Z" and int(fields[1]) == pid
        fds1, rss1 = len(os.listdir(f"/proc/{pid}/fd")), rss_kib(pid)
        self.ctl("delete", "soak")
        self.row(f"soak: {kills} SIGKILLs in {seconds} s ({kills / seconds:.0f}/s), "
                 f"{instances} instances", f"{restarts} restarts", "all back")
        self.row("  online afterwards / zombies", f"{instances}/{instances}, {zombies}", "all, 0")
        self.row("  pmd fds before / after", f"{fds0} / {fds1}", "equal")
        self.row("  pmd RSS before / after", f"{rss0 / 1024:.2f} / {rss1 / 1024:.2f} MiB",
                 "flat")

    def start_order(self):
        """200 apps from a file: each after the one before it (a chain of
        after), beside 200 independent apps; one pmctl start each. Late in
        the run: 400 apps leave pmd's heap larger for what comes after."""
        for kind, prefix in (("independent", "indep"), ("in a chain of after", "chain")):
            conf = os.path.join(self.tmp, f"apps-{prefix}.conf")
            with open(conf, "w") as f:
                for i in range(200):
                    f.write(f"[app:{prefix}{i}]\ncommand = sleep 100000\n")
                    if i > 0 and prefix == "chain":
                        f.write(f"after = {prefix}{i - 1}\n")
            t = time.perf_counter()
            self.ctl("start", conf)
            took = time.perf_counter() - t
            online = sum(w["status"] == "online" for w in self.workers()
                         if w["name"].startswith(prefix))
            self.row(f"200 apps {kind}, online after pmctl start FILE ({online})",
                     f"{took * 1000:.0f} ms", "-")
            for i in range(200):
                self.ctl("delete", f"{prefix}{i}")

    def http_api(self, n=1000):
        """The HTTP API: list of n workers beside pmctl --json list, pmd's
        RSS with the listener and a dashboard's traffic, idle calls."""
        import http.client
        port = free_port()
        conf = os.path.join(self.env["PMD_HOME"], "pmd.conf")
        with open(conf, "w") as f:
            f.write(f"[daemon]\nhttp = tcp://127.0.0.1:{port}\n")
        self.ctl("reload-config")
        token = open(os.path.join(self.env["PMD_HOME"], "http.token")).read().strip()
        auth = {"Authorization": f"Bearer {token}"}
        self.ctl("start", "--name", "api", "-i", str(n), "--out-file", "/dev/null",
                 "--no-ipc", "--", "sleep", "100000")

        def api_list():
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            c.request("POST", "/api/v1/list", body="{}", headers=auth)
            body = c.getresponse().read()
            c.close()
            return body

        def timed(fn, runs=10):
            ts = []
            for _ in range(runs):
                t = time.perf_counter()
                fn()
                ts.append((time.perf_counter() - t) * 1000)
            return statistics.median(ts)
        via_api = timed(api_list)
        via_ctl = timed(lambda: self.ctl("--json", "list"))
        self.row(f"API list, {n} workers (median of 10)", f"{via_api:.1f} ms",
                 f"within 2x of pmctl --json list: {via_ctl:.1f} ms")
        rss0 = rss_kib(self.pmd.pid)
        # A dashboard: the event and log streams open, list every 2 s.
        streams = []
        for cmd, body in (("events", '{"follow":true}'),
                          ("logs", '{"name":"api","lines":50,"follow":true}')):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            c.request("POST", f"/api/v1/{cmd}", body=body, headers=auth)
            streams.append((c, c.getresponse()))
        for _ in range(5):
            api_list()
            time.sleep(2)
        rss1 = rss_kib(self.pmd.pid)
        for c, _ in streams:
            c.close()
        self.row(f"pmd RSS, {n} workers: listener / one dashboard open (10 s)",
                 f"{rss0 / 1024:.2f} / {rss1 / 1024:.2f} MiB", "small")
        self.ctl("delete", "api")
        if shutil.which("strace"):
            calls = self.idle_calls()
            self.row("pmd system calls while idle, listener and no client, 10 s",
                     f"{calls} ({calls / 10:.1f}/s)", "0")
        os.unlink(conf)
        self.ctl("reload-config")

    def update_pause(self, n, runs=5):
        """pmctl update with n workers: the pause the new pmd reports, and
        the whole command (probe, exec, answer), medians of runs."""
        pauses, took = [], []
        for _ in range(runs):
            t = time.perf_counter()
            r = json.loads(self.ctl("--json", "update"))
            took.append((time.perf_counter() - t) * 1000)
            pauses.append(r["pause_ms"])
        return statistics.median(pauses), statistics.median(took)

    def update(self):
        """pmctl update: the pause with 10 and 1,000 workers, a worker
        killed during one, wrk across three, RSS across 100."""
        pid = self.pmd.pid
        self.ctl("start", "--name", "ten", "-i", "10", "--", "sleep", "100000")
        pause, took = self.update_pause(10)
        self.row("pmctl update, 10 workers: supervision paused (median of 5)",
                 f"{pause:.1f} ms", f"<= 50 ms (command {took:.0f} ms)")
        self.ctl("start", "--name", "many", "-i", "990", "--", "sleep", "100000")
        pause, took = self.update_pause(1000)
        self.row("pmctl update, 1000 workers: supervision paused (median of 5)",
                 f"{pause:.1f} ms", f"<= 50 ms (command {took:.0f} ms)")
        self.ctl("delete", "many")
        # A worker killed as the exec begins: back within the restart
        # time plus the pause.
        stamp = self.compile("stamp-worker")
        self.ctl("start", "--name", "stamp", "--", stamp)
        out = os.path.join(self.env["PMD_HOME"], "logs", "stamp.out.log")
        self.wait(lambda: os.path.exists(out) and open(out).read().count("\n") == 1)
        log = os.path.join(self.tmp, "pmd.log")
        lat, pauses = [], []
        for i in range(5):
            self.wait(lambda: self.workers("stamp")[0]["status"] == "online")
            w = self.workers("stamp")[0]
            time.sleep(max(0, 1.05 - w["uptime_ms"] / 1000))
            # The moment pmd logs the exec (a busy poll of the log's end).
            with open(log, "rb") as f:
                f.seek(0, 2)
                p = subprocess.Popen([PMCTL, "--json", "update"], env=self.env,
                                     stdout=subprocess.PIPE, text=True)
                buf = b""
                while b"update: executing" not in buf:
                    buf = buf[-64:] + f.read()
            t = time.monotonic()
            os.kill(w["pid"], signal.SIGKILL)
            pauses.append(json.loads(p.communicate()[0])["pause_ms"])
            self.wait(lambda: open(out).read().count("\n") == i + 2)
            lat.append((float(open(out).read().split()[-1]) - t) * 1000)
        self.row("worker SIGKILLed as pmd execs: back after (median of 5)",
                 f"{statistics.median(lat):.1f} ms",
                 f"restart time + pause ({statistics.median(pauses):.1f} ms)")
        self.ctl("delete", "stamp")
        os.unlink(out)
        # wrk across three updates of a listen app.
        if shutil.which("wrk"):
            port = free_port()
            conf = os.path.join(self.tmp, "upd.conf")
            with open(conf, "w") as f:
                f.write(testsrv_app("web", port))
            self.ctl("start", conf)
            pids = [w["pid"] for w in self.workers("web")]
            wrk = subprocess.Popen(["wrk", "-t2", "-c32", "-d6s", f"http://127.0.0.1:{port}/"],
                                   stdout=subprocess.PIPE, text=True)
            for _ in range(3):
                time.sleep(1.5)
                self.ctl("update")
            out = wrk.communicate()[0]
            reqs = re.search(r"(\d+) requests in", out)
            errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                             r"timeout (\d+)", out)
            non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            errors = (sum(map(int, errs.groups())) if errs else 0) + \
                (int(non2xx.group(1)) if non2xx else 0)
            same = pids == [w["pid"] for w in self.workers("web")]
            self.row(f"wrk 6 s, 32 conns, 3 x pmctl update ({reqs.group(1) if reqs else 0} reqs)",
                     f"{errors} failed", f"0 (same pids: {same})")
            self.ctl("delete", "web")
        rss0 = rss_kib(pid)
        for _ in range(100):
            self.ctl("update")
        rss1 = rss_kib(pid)
        self.row("pmd RSS, 10 workers, before / after 100 updates",
                 f"{rss0 / 1024:.2f} / {rss1 / 1024:.2f} MiB", "no growth")
        self.ctl("delete", "ten")

    def run(self):
        print(f"pmd bench on {os.cpu_count()} CPUs ({os.uname().release})")
        self.start()
        pid = self.pmd.pid
        self.row("pmd RSS (private part), no workers", memory(pid), "-")

        # 200 workers online after one pmctl start: until the last one is
        # online (a worker with no listen or wait_ready is online once it
        # runs: its start, read back from its uptime, so that nothing polls
        # while they start), and until pmctl start returns, which also
        # watches them for a crash at once (0.5 s, as for one worker).
        t = time.perf_counter()
        self.ctl("start", "--name", "burst", "-i", "200", "--", "sleep", "100000")
        took = time.perf_counter() - t
        ws = self.workers("burst")
        now = time.perf_counter()
        online = now - min(w["uptime_ms"] for w in ws) / 1000 - t
        assert sum(w["status"] == "online" for w in ws) == 200
        # The floor: 200 posix_spawn calls of the same program in a row
        # (each returns once its child has exec'd), nothing else.
        sleep = shutil.which("sleep")
        t = time.perf_counter()
        spawned = [os.posix_spawn(sleep, ["sleep", "100000"], os.environ)
                   for _ in range(200)]
        floor = time.perf_counter() - t
        for child in spawned:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
        self.row("200 workers all online after pmctl start (their start times)",
                 f"{online * 1000:.0f} ms",
                 f"<= 300 ms; floor: 200 x posix_spawn {floor * 1000:.0f} ms")
        self.row("  pmctl start returned (with the 0.5 s crash watch)",
                 f"{took * 1000:.0f} ms", "-")
        self.ctl("delete", "burst")

        # One worker: the start waits to see it does not crash at once
        # (0.5 s, or min_uptime if shorter), unless it proves itself.
        t = time.perf_counter()
        self.ctl("start", "--name", "one", "--", "sleep", "100000")
        self.row("pmctl start of 1 worker (watched 0.5 s for a crash)",
                 f"{(time.perf_counter() - t) * 1000:.0f} ms", "-")
        self.ctl("delete", "one")

        self.ctl("start", "--name", "sleepers", "-i", "100", "--", "sleep", "100000")
        self.row("pmd RSS (private part), 100 workers", memory(pid), "<= 2 MiB")
        self.row("pmctl list, 100 workers (median of 50)",
                 f"{self.ctl_latency():.2f} ms",
                 f"<= 5 ms; floor: pmctl ping {self.ctl_latency(cmd='ping'):.2f} ms")
        self.ctl("scale", "sleepers", "1000")
        self.row("pmd RSS (private part), 1000 workers", memory(pid), "<= 8 MiB")
        self.row("pmctl list, 1000 workers (median of 20)",
                 f"{self.ctl_latency(20):.2f} ms", "- (no target)")
        self.ctl("delete", "sleepers")

        lat = self.restart_latency(30)
        floor = statistics.median(self.respawn_latency(30))
        self.row("restart after SIGKILL, median of 30",
                 f"{statistics.median(lat):.2f} ms",
                 f"<= 3 ms; floor: bare respawn loop {floor:.2f} ms")
        self.row("restart after SIGKILL, worst of 30", f"{max(lat):.2f} ms", "-")

        # Idle: system calls pmd makes in 10 s with a worker and nothing to do.
        if shutil.which("strace"):
            self.ctl("start", "--name", "idle", "--", "sleep", "100000")
            # An app with watch = true waits on inotify: no wake-up either.
            watched = os.path.join(self.tmp, "watched")
            os.makedirs(os.path.join(watched, "src"))
            self.ctl("start", "--name", "watched", "--watch", "--", "sleep", "100000",
                     cwd=watched)
            r = subprocess.run(["timeout", "-s", "INT", "10", "strace", "-c", "-f", "-p",
                                str(pid)], capture_output=True, text=True)
            calls = 0
            for line in r.stderr.splitlines():
                parts = line.split()
                if parts and parts[-1] == "total":
                    calls = int(parts[3]) if len(parts) >= 5 else int(parts[2])
            self.row("pmd system calls while idle (2 apps, 1 watching), 10 s",
                     f"{calls} ({calls / 10:.1f}/s)", "0")
            self.ctl("delete", "idle")
            self.ctl("delete", "watched")

        self.cluster()
        self.balance()
        self.scale()
        self.flooding_clients()
        self.soak()

        self.start_order()
        self.http_api()
        self.update()

        # Last, as it leaves pmd's I/O buffers resident.
        self.log_throughput()

    def close(self):
        if getattr(self, "pmd", None) and self.pmd.poll() is None:
            self.pmd.send_signal(signal.SIGTERM)
            self.pmd.wait(timeout=60)
        shutil.rmtree(self.tmp, ignore_errors=True)


if __name__ == "__main__":
    b = Bench()
    try:
        b.run()
    finally:
        b.close()
    sys.exit(0)
