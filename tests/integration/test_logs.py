"""Worker output: capture, timestamps, rotation, flush, reopen, logs --follow."""
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess

import pytest

from conftest import PMCTL, PMD, log_lines, wait_until

NO_STAMP = "log_date_format = none\n"


def on_tick(tick, action):
    """A command that runs the shell action each time the file tick
    appears (and removes it): a worker that writes when told."""
    return (f"sh -c 'while :; do if [ -e {tick} ]; then rm -f {tick}; {action}; fi; "
            "sleep 0.02; done'")


def tick_once(tick):
    """Tell an on_tick worker to act once; return once it has seen it."""
    tick.write_text("")
    wait_until(lambda: not tick.exists(), what="tick taken")


def test_lines_of_many_instances_are_complete_and_in_order(pmd):
    n = 5000
    pmd.start(f"""
[app:chatty]
command = sh -c 'i=0; while [ $i -lt {n} ]; do echo "$PMD_INSTANCE $i padding-padding-padding-padding"; i=$((i+1)); done; exec sleep 1000'
instances = 4
{NO_STAMP}""")
    out = pmd.logs / "chatty.out.log"
    wait_until(lambda: len(log_lines(out)) == 4 * n, timeout=60, what="all lines")
    seen = {i: [] for i in range(4)}
    for line in log_lines(out):
        inst, num, pad = line.split(" ")  # a mixed line would not split in three
        assert pad == "padding-padding-padding-padding"
        seen[int(inst)].append(int(num))
    assert all(seen[i] == list(range(n)) for i in range(4))


def test_a_100MB_burst_loses_nothing(pmd):
    n = 12_000_000  # seq 1..n is about 95 MB
    pmd.start(f"""
[app:burst]
command = sh -c 'seq 1 {n}; exec sleep 1000'
log_max_size = 0
{NO_STAMP}""")
    out = pmd.logs / "burst.out.log"
    size = sum((10 ** d - 10 ** (d - 1)) * (d + 1) for d in range(1, 8)) + (n - 9_999_999) * 9
    wait_until(lambda: out.exists() and out.stat().st_size >= size, timeout=120, interval=0.1,
               what="100 MB of output")
    assert out.stat().st_size == size
    with open(out, "rb") as f:
        f.seek(-18, os.SEEK_END)
        assert f.read().split(b"\n")[-2] == str(n).encode()
    # pmd's own memory did not follow the volume.
    with open(f"/proc/{pmd.proc.pid}/status") as f:
        rss = int(next(l for l in f if l.startswith("VmRSS")).split()[1])
    assert rss < 64 * 1024, f"pmd RSS {rss} KiB after 100 MB of output"


def test_timestamps(pmd):
    pmd.start("""
[app:stamped]
command = sh -c 'echo hello; exec sleep 1000'
[app:custom]
command = sh -c 'echo hello; exec sleep 1000'
log_date_format = [%H:%M:%S.%L]
[app:plain]
command = sh -c 'echo hello; exec sleep 1000'
log_date_format = none
""")
    def text(name):
        p = pmd.logs / f"{name}.out.log"
        return p.read_text() if p.exists() else ""
    wait_until(lambda: all(text(n) for n in ("stamped", "custom", "plain")), what="lines")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4} hello\n", text("stamped"))
    assert re.fullmatch(r"\[\d\d:\d\d:\d\d\.\d{3}\] hello\n", text("custom"))
    assert text("plain") == "hello\n"


def test_partial_long_and_binary_lines(pmd, tmp_path):
    go = tmp_path / "go"
    pmd.start(f"""
[app:odd]
command = sh -c 'printf "abc"; while [ ! -e {go} ]; do sleep 0.05; done; printf "def\\n"; head -c 150000 /dev/zero | tr "\\\\0" x; printf "\\n"; printf "\\377\\376bin\\001\\n"; printf "no newline at the end"'
autorestart = false
{NO_STAMP}
[app:split]
command = sh -c 'head -c 30000 /dev/zero | tr "\\\\0" y; while [ ! -e {go} ]; do sleep 0.05; done; exec python3 -c "import os, time; os.write(1, b\\"y\\" * 50000 + b\\"\\\\n\\"); time.sleep(1000)"'
{NO_STAMP}""")
    out = pmd.logs / "odd.out.log"
    wait_until(lambda: pmd.workers("odd")[0]["status"] == "online", what="online")
    assert not out.exists() or out.read_bytes() == b""  # "abc" waits for its line
    go.write_text("")
    wait_until(lambda: pmd.workers("odd")[0]["status"] == "stopped", what="exit")
    wait_until(lambda: out.read_bytes().endswith(b"no newline at the end\n"), what="last line")
    lines = out.read_bytes().split(b"\n")
    assert lines[0] == b"abcdef"
    # A line over 64 KiB is written in pieces of 64 KiB.
    assert [len(l) for l in lines[1:4]] == [65536, 65536, 150000 - 2 * 65536]
    assert lines[4] == b"\xff\xfebin\x01"  # bytes pass through untouched
    assert lines[5] == b"no newline at the end" and lines[6] == b""
    # The same when the long line comes in two writes, a partial first.
    split = pmd.logs / "split.out.log"
    wait_until(lambda: split.exists() and split.read_bytes().endswith(b"\n"), what="split")
    assert [len(l) for l in split.read_bytes().split(b"\n")] == [65536, 80000 - 65536, 0]


def test_rotation_boundaries_and_retention(pmd):
    # 40 lines of 100 bytes into files of at most 1 KiB, keeping 2 old ones.
    pmd.start(f"""
[app:rot]
command = sh -c 'i=100; while [ $i -lt 140 ]; do printf "%096d\\n" $i; i=$((i+1)); done; exec sleep 1000'
log_max_size = 1K
log_retain = 2
{NO_STAMP}""")
    base = pmd.logs / "rot.out.log"
    wait_until(lambda: base.exists() and log_lines(base)[-1:] == [f"{139:096d}"], what="all lines")
    files = [pmd.logs / "rot.out.log.2", pmd.logs / "rot.out.log.1", base]
    assert not (pmd.logs / "rot.out.log.3").exists()
    sizes = [f.stat().st_size for f in files]
    assert all(0 < s <= 1024 for s in sizes), sizes
    # Whole lines only, oldest dropped, nothing else lost or reordered.
    kept = [l for f in files for l in log_lines(f)]
    assert kept == [f"{i:096d}" for i in range(140 - len(kept), 140)]
    assert len(kept) == sum(sizes) // 97 and len(kept) >= 20


def test_flush_empties_files(pmd):
    pmd.start(f"""
[app:a]
command = sh -c 'printf "%0500d\\n" 1 2 3 4 5; echo err >&2; exec sleep 1000'
log_max_size = 1K
[app:b]
command = sh -c 'echo keep; exec sleep 1000'
""")
    a, b = pmd.logs / "a.out.log", pmd.logs / "b.out.log"
    wait_until(lambda: (pmd.logs / "a.out.log.1").exists() and log_lines(b), what="output")
    r = pmd.ok("flush", "a")
    assert r.stdout == "flushed 2 log file(s)\n"
    assert a.stat().st_size == 0 and (pmd.logs / "a.err.log").stat().st_size == 0
    assert not (pmd.logs / "a.out.log.1").exists()
    assert log_lines(b) == ["keep"]
    pmd.ok("flush")
    assert b.stat().st_size == 0
    assert pmd.ctl("flush", "nope").returncode == 1


def test_reopen_after_rename(pmd, tmp_path):
    tick = tmp_path / "tick"
    pmd.start(f"""
[app:r]
command = sh -c 'n=0; while :; do if [ -e {tick} ]; then rm -f {tick}; n=$((n+1)); echo line$n; fi; sleep 0.02; done'
{NO_STAMP}""")
    out = pmd.logs / "r.out.log"

    def say(k):
        tick.write_text("")
        wait_until(lambda: any(f"line{k}" in log_lines(p) for p in pmd.logs.iterdir()), what=f"line{k}")
    say(1)
    os.rename(out, pmd.logs / "r.out.log.old")          # logrotate, create mode
    say(2)
    assert log_lines(pmd.logs / "r.out.log.old") == ["line1", "line2"]
    assert pmd.ok("reopen-logs").stdout.startswith("reopened ")
    say(3)
    assert log_lines(out) == ["line3"]
    os.rename(out, pmd.logs / "r.out.log.old2")
    pmd.proc.send_signal(signal.SIGUSR1)                # the same, by signal
    wait_until(lambda: out.exists(), what="reopen on SIGUSR1")
    say(4)
    assert log_lines(out) == ["line4"]


def test_per_instance_files_and_dev_null(pmd, tmp_path):
    pmd.start(f"""
[app:each]
command = sh -c 'echo "i am $PMD_INSTANCE"; echo oops >&2; exec sleep 1000'
instances = 2
merge_logs = false
{NO_STAMP}
[app:custom]
command = sh -c 'echo custom; echo quiet >&2; exec sleep 1000'
out_file = {tmp_path}/custom.log
err_file = /dev/null
""")
    # Each stream is its own pipe: wait for every line asserted below.
    wait_until(lambda: all(log_lines(f) for f in (
        pmd.logs / "each-0.out.log", pmd.logs / "each-1.out.log",
        pmd.logs / "each-1.err.log", tmp_path / "custom.log")), what="output")
    assert log_lines(pmd.logs / "each-0.out.log") == ["i am 0"]
    assert log_lines(pmd.logs / "each-1.out.log") == ["i am 1"]
    assert log_lines(pmd.logs / "each-1.err.log") == ["oops"]
    assert not (pmd.logs / "each.out.log").exists()
    assert log_lines(tmp_path / "custom.log") == ["custom"]
    assert not (pmd.logs / "custom.err.log").exists()
    files = [f["file"] for f in pmd.show("custom")["log_files"]]
    assert files == [str(tmp_path / "custom.log"), "/dev/null"]
    r = pmd.ok("logs", "each", "--lines", "5")
    assert "each:0 | i am 0" in r.stdout and "each:1 | oops" in r.stdout


def test_unwritable_log_dir_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("")
    conf = tmp_path / "pmd.conf"
    conf.write_text(f"[daemon]\nlog_dir = {tmp_path}/file/logs\n")
    r = subprocess.run([PMD, "-c", str(conf)], capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, PMD_HOME=str(tmp_path / "home")))
    assert r.returncode == 1
    assert r.stderr == f"pmd: log_dir: {tmp_path}/file/logs: Not a directory\n"


def test_lost_lines_are_counted_and_marked(pmd, tmp_path):
    later = tmp_path / "later"
    tick = tmp_path / "tick"
    pmd.start(f"""
[app:lost]
command = sh -c 'n=0; while :; do if [ -e {tick} ]; then rm -f {tick}; n=$((n+1)); echo line$n; fi; sleep 0.02; done'
out_file = {later}/lost.log
{NO_STAMP}
[app:full]
command = sh -c 'echo 1; echo 2; echo 3; exec sleep 1000'
out_file = /dev/full
""")

    def say():
        tick_once(tick)
    say()
    say()
    wait_until(lambda: pmd.show("lost")["log_files"][0]["dropped_lines"] == 2, what="2 dropped")
    assert pmd.show("lost")["log_files"][0]["error"] == \
        f"{later}/lost.log: open: No such file or directory"
    assert "2 lines dropped" in pmd.ok("show", "lost").stdout
    # A full disk: counted, and pmd and the worker go on.
    wait_until(lambda: pmd.show("full")["log_files"][0]["dropped_lines"] == 3, what="ENOSPC")
    assert "No space left on device" in pmd.show("full")["log_files"][0]["error"]
    assert pmd.workers("full")[0]["status"] == "online"
    # The open is retried at most once a second: write until it works.
    later.mkdir()

    def written():
        say()
        return log_lines(later / "lost.log")
    lines = wait_until(written, interval=0.1, what="writing again")
    dropped = pmd.show("lost")["log_files"][0]["dropped_lines"]
    assert lines[0] == f"[pmd] {dropped} lines dropped: this file could not be written"
    assert lines[1] == f"line{dropped + 1}"


def read_until(proc, pred, timeout=10.0):
    """Read proc's stdout until pred(text so far) holds; return the text."""
    buf = b""
    fd = proc.stdout.fileno()
    def more():
        nonlocal buf
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            chunk = os.read(fd, 65536)
            assert chunk, f"pmctl ended (rc {proc.poll()}): {buf.decode(errors='replace')}"
            buf += chunk
        return pred(buf.decode(errors="replace"))
    wait_until(more, timeout, interval=0, what="follower output")
    return buf.decode(errors="replace")


def test_logs_shows_the_last_lines_of_one_or_all_apps(pmd):
    pmd.start("""
[app:web]
command = sh -c 'for i in 1 2 3 4 5; do echo web$i; done; echo bad >&2; exec sleep 1000'
[app:db]
command = sh -c 'echo db-up; exec sleep 1000'
""")
    wait_until(lambda: len(log_lines(pmd.logs / "web.out.log")) == 5 and
               log_lines(pmd.logs / "web.err.log") and log_lines(pmd.logs / "db.out.log"),
               what="output")
    out = pmd.ok("logs", "web", "--lines", "2").stdout.splitlines()
    # A file shared by the instances has no instance number; the lines
    # are shown as written, timestamps and all.
    assert [re.sub(r"\| \S+ ", "| ", l) for l in out if "|" in l] == \
        ["web | web4", "web | web5", "web | bad"]
    assert f"==> {pmd.logs}/web.out.log (last 2 lines) <==" in out
    out = pmd.ok("logs", "web", "--err").stdout
    assert "bad" in out and "web5" not in out
    out = pmd.ok("logs", "web", "--out").stdout
    assert "bad" not in out and "web1" in out
    out = pmd.ok("logs").stdout
    assert re.search(r"^db \| \S+ db-up$", out, re.M) and re.search(r"^web \| \S+ web5$", out, re.M)
    r = pmd.ctl("logs", "nosuch")
    assert r.returncode == 1 and 'no app or namespace named "nosuch"' in r.stderr
    r = pmd.ctl("logs", "web", "--lines", "many")
    assert r.returncode == 2 and "--lines" in r.stderr
    # The socket checks the fields too.
    reply = pmd.request(b'{"v":1,"cmd":"logs","lines":-1}\n', count=1)[0]
    assert reply["ok"] is False and 'field "lines"' in reply["error"]["message"]
    reply = pmd.request(b'{"v":1,"cmd":"logs","stream":"both"}\n', count=1)[0]
    assert reply["ok"] is False and 'field "stream"' in reply["error"]["message"]


def test_many_followers_see_new_lines(pmd, tmp_path):
    pmd.start("""
[app:web]
command = sh -c 'echo "up $$"; echo "warn $$" >&2; exec sleep 1000'
instances = 2
[app:other]
command = sh -c 'echo "other $$"; exec sleep 1000'
""")
    wait_until(lambda: len(log_lines(pmd.logs / "web.out.log")) == 2, what="first lines")
    followers = {
        "all": ["logs", "web", "--follow", "--lines", "1"],
        "err": ["logs", "web", "--follow", "--lines", "1", "--err"],
        "every": ["logs", "--follow", "--lines", "1"],
    }
    procs = {}
    try:
        for key, args in followers.items():
            procs[key] = subprocess.Popen([PMCTL, *args], env=pmd.env, stdout=subprocess.PIPE)
            # The first reply comes after pmd registered the follower.
            read_until(procs[key], lambda t: "<==" in t and t.endswith("\n") and "|" in t)
        pmd.ok("restart", "web")
        pids = [w["pid"] for w in pmd.workers("web")]
        texts = {k: read_until(p, lambda t: all(f" {pid}\n" in t for pid in pids))
                 for k, p in procs.items()}
        for pid in pids:
            assert f"up {pid}\n" in texts["all"] and f"warn {pid}\n" in texts["all"]
            assert f"warn {pid}\n" in texts["err"] and f"up {pid}\n" not in texts["err"]
        # Followed lines come from the pipes: they carry the instance.
        assert any(f"web:0 | up {pid}\n" in texts["all"] for pid in pids)
        assert any(f"web:1 | up {pid}\n" in texts["all"] for pid in pids)
        pmd.ok("restart", "other")
        pid = pmd.workers("other")[0]["pid"]
        read_until(procs["every"], lambda t: f"other:0 | other {pid}\n" in t)
        assert f"other {pid}" not in texts["all"]
    finally:
        for p in procs.values():
            p.kill()
            p.wait()
            p.stdout.close()
    # pmctl ends the stream with exit 3 when pmd goes away.
    p = subprocess.Popen([PMCTL, "logs", "web", "--follow", "--lines", "1"], env=pmd.env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    read_until(p, lambda t: "|" in t and t.endswith("\n"))
    pmd.stop()
    assert p.wait(timeout=10) == 3
    assert b"closed the log stream" in p.stderr.read()
    p.stdout.close()
    p.stderr.close()


def test_a_follower_that_stops_reading_is_dropped(pmd):
    pmd.start("""
[app:flood]
command = yes flood-flood-flood-flood-flood-flood-flood
log_max_size = 1M
log_retain = 1
""")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(pmd.socket)
    s.sendall(b'{"v":1,"cmd":"logs","name":"flood","lines":0,"follow":true}\n')
    try:
        wait_until(lambda: "does not keep up; dropped" in pmd.stderr(), timeout=30,
                   what="the stalled follower to be dropped")
        # pmd still answers, and the worker still writes.
        assert pmd.workers("flood")[0]["status"] == "online"
        size = lambda: pmd.show("flood")["log_files"][0]["size"]
        before = size()
        wait_until(lambda: size() != before, what="more output")
        # What was queued arrives, then the end of the stream.
        s.settimeout(10)
        while s.recv(1 << 20):
            pass
    finally:
        s.close()


def test_container_mode_sends_every_line_to_pmds_stdout(pmd):
    """pmd --container: every worker's stdout and stderr, ad-hoc apps too,
    on pmd's own stdout and stderr, each line after "app:instance | ";
    no log files; pmctl logs says where they went; follow still works;
    and pmd exits 1 once everything has given up."""
    pmd.start("[app:a]\ncommand = sh -c 'echo from-a; echo oops-a >&2; exec sleep 1000'\n"
              "instances = 2\nlog_date_format = none\n", args=["--container"])
    pmd.ok("start", "--name", "b", "--log-date-format", "none", "--", "sh", "-c",
           "echo from-b; exec sleep 1000")
    out = lambda: pmd.stderr()       # the fixture sends pmd's stdout there too
    wait_until(lambda: "a:0 | from-a" in out() and "a:1 | from-a" in out() and
               "a:0 | oops-a" in out() and "b:0 | from-b" in out(), what="the lines")
    assert not list(pmd.logs.glob("*.log"))
    r = pmd.ok("logs", "a")
    assert "container mode: the logs go to its stdout and stderr" in r.stderr
    pmd.ok("delete", "b")
    # Everything fails: in container mode that ends pmd (exit_when_failed).
    pmd.ctl("start", "--name", "c", "--max-restarts", "0", "--", "false")
    pmd.ok("delete", "a")
    wait_until(lambda: pmd.proc.poll() is not None, timeout=20, what="pmd to exit")
    assert pmd.stop() == 1


def test_pmd_as_pid_1_of_a_pid_namespace(pmd, tmp_path):
    """pmd --container as PID 1 (unshare --pid): orphans of its workers are
    reaped, and SIGTERM drains the workers and exits 0."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare")
    conf = pmd.write_config(
        "[app:parent]\n"
        f"command = sh -c '(setsid sh -c \"sleep 0.2; touch {tmp_path}/done\" &); "
        "echo spawned; exec sleep 1000'\n"
        "log_date_format = none\nkill_timeout = 5s\n")
    log = open(pmd.log_path, "ab")
    pmd.log = log
    pmd.proc = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", PMD,
                                 "--container", "-c", str(conf)], env=pmd.env,
                                stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    wait_until(lambda: pmd.ctl("ping").returncode == 0, what="pmd in the namespace")
    inner = json.loads(pmd.ok("--json", "ping").stdout)["pid"]
    assert inner == 1                                 # PID 1 where it runs
    host = int(open(f"/proc/{pmd.proc.pid}/task/{pmd.proc.pid}/children").read().split()[0])
    pmd.wait_status("parent", "online")
    wait_until(lambda: "parent:0 | spawned" in pmd.stderr(), what="the worker's line")

    def zombies():
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    f = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if f[0] == "Z" and int(f[1]) == host:
                    found.append(int(entry))
        return found
    # The orphan came to pmd and has exited: nothing of it is left.
    wait_until(lambda: (tmp_path / "done").exists() and not zombies(),
               what="the orphan to end, reaped")
    os.kill(host, signal.SIGTERM)
    assert pmd.proc.wait(timeout=20) == 0
    pmd.proc = None
    log.close()
    assert "killed by SIGTERM" in pmd.stderr() and "SIGKILL" not in pmd.stderr()


def test_container_json_lines(pmd, tmp_path):
    """container_format = json: each worker line is one JSON object with
    time, app, instance, stream and line, valid UTF-8 whatever it held."""
    script = tmp_path / "say.sh"
    script.write_bytes(b"printf 'say \\042hi\\042\\011\\377\\n'\n"
                       b"echo err-line >&2\nexec sleep 1000\n")
    pmd.start("[daemon]\ncontainer = true\ncontainer_format = json\n"
              f"[app:j]\ncommand = sh {script}\n")

    def objects():
        found = []
        for raw in open(pmd.log_path, "rb").read().splitlines():
            if raw.startswith(b"{"):
                found.append(json.loads(raw.decode("utf-8")))   # strict
        return found
    wait_until(lambda: len(objects()) >= 2, what="two JSON lines")
    by_stream = {o["stream"]: o for o in objects()}
    assert by_stream["out"]["line"] == 'say "hi"\t\ufffd'
    assert by_stream["err"]["line"] == "err-line"
    assert by_stream["out"]["app"] == "j" and by_stream["out"]["instance"] == 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", by_stream["out"]["time"])


def test_dev_null_streams_take_no_pipe(pmd):
    """out_file = /dev/null: the worker's stdout is /dev/null itself, so
    pmd spends no pipe (an fd) on it; stderr still comes to pmd."""
    pmd.start("[app:quiet]\ncommand = sh -c 'echo lost; echo kept >&2; exec sleep 1000'\n"
              "out_file = /dev/null\n")
    pid = pmd.wait_status("quiet", "online")[0]["pid"]
    assert os.readlink(f"/proc/{pid}/fd/1") == "/dev/null"
    assert os.readlink(f"/proc/{pid}/fd/2").startswith("pipe:")
    wait_until(lambda: log_lines(pmd.logs / "quiet.err.log") == ["kept"], what="stderr")


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts a small tmpfs")
def test_the_drop_marker_after_a_full_disk_is_a_line_of_its_own(pmd, tmp_path):
    """A disk that fills in the middle of a line: the line stays cut, and
    the marker that counts what was lost starts a line of its own."""
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32k", "tmpfs", str(disk)], check=True)
    try:
        (disk / "filler").write_bytes(b"f" * 16384)
        tick = tmp_path / "tick"
        writer = on_tick(tick, 'printf "%0999d\\n" 7')
        pmd.start(f"""
[app:big]
command = {writer}
out_file = {disk}/big.log
{NO_STAMP}
""")

        def say():
            tick_once(tick)
        wait_until(lambda: (say(), pmd.show("big")["log_files"][0]["dropped_lines"] > 0)[1],
                   timeout=30, what="the disk to fill")
        (disk / "filler").unlink()
        wait_until(lambda: (say(), b"[pmd] " in (disk / "big.log").read_bytes())[1],
                   what="the marker")
        data = (disk / "big.log").read_bytes()
        for line in data.splitlines():
            assert line.startswith(b"[pmd] ") or set(line) <= {ord("0"), ord("7")}, line[:80]
        assert b"\n[pmd] " in data and b"7[pmd]" not in data and b"0[pmd]" not in data
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
