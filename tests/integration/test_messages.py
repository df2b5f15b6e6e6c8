"""Talking to workers: the message channel (Node's process.send, a Python
worker on PMD_IPC_FD), pmctl send, broadcasts, custom metrics, the event
stream, hooks and the watchdog."""
import json
import os
import resource
import subprocess

from conftest import PMCTL, log_lines, marked_pids, pid_alive, wait_until

NODE_WORKER = """
let requests = 0;
process.on('message', (m) => {
  console.log('got ' + JSON.stringify(m));
  if (m && m.type === 'ping') process.send({type: 'pong', from: process.env.PMD_INSTANCE});
});
// The tutorials' exercise: each worker reports its request count.
setInterval(() => { requests += 3; process.send({type: 'metrics', data: {requests}}); }, 100);
console.log('connected ' + process.connected + ' ' + typeof process.send);
"""

PY_WORKER = """
import json, os, time
fd = int(os.environ["PMD_IPC_FD"])
n = 0
while True:
    n += 1
    os.write(fd, (json.dumps({"type": "metrics", "data": {"requests": n}}) + "\\n").encode())
    time.sleep(0.1)
"""


def metrics(pmd, name):
    return [w.get("metrics") for w in pmd.workers(name)]


def test_node_and_python_workers_talk_to_pmd(pmd, tmp_path):
    (tmp_path / "w.js").write_text(NODE_WORKER)
    (tmp_path / "w.py").write_text(PY_WORKER)
    pmd.start(f"""
[app:node]
command = node w.js
instances = 2
[app:py]
command = python3 w.py
""")
    pmd.wait_status("node", "online", count=2)
    out = pmd.logs / "node.out.log"
    wait_until(lambda: log_lines(out).count("connected true function") == 2,
               what="process.send in both Node workers")
    # Metrics per worker, in --json list and show, from both languages.
    wait_until(lambda: all(m and m["requests"] >= 6 for m in metrics(pmd, "node")),
               what="the Node workers' counts")
    wait_until(lambda: all(m and m["requests"] >= 2 for m in metrics(pmd, "py")),
               what="the Python worker's count")
    assert pmd.show("node")["workers"][0]["metrics"]["requests"] >= 6
    text = pmd.ok("show", "py").stdout
    assert "  metrics: requests=" in text
    # pmctl send: to an app, to one instance, to all.
    r = pmd.ok("send", "node", '{"type": "ping"}')
    assert r.stdout == "sent to 2 worker(s)\n"
    wait_until(lambda: log_lines(out).count('got {"type":"ping"}') == 2, what="the pings")
    assert pmd.ok("send", "node:1", '"just you"').stdout == "sent to 1 worker(s)\n"
    wait_until(lambda: 'got "just you"' in log_lines(out), what="one instance")
    assert json.loads(pmd.ok("--json", "send", "all", "{}").stdout)["delivered"] == 3
    # The answers are events, with the message as JSON.
    ev = json.loads(pmd.ok("--json", "events", "node", "--lines", "1000").stdout)["events"]
    pongs = [e for e in ev if e["type"] == "message" and e["message"].get("type") == "pong"]
    assert sorted(e["message"]["from"] for e in pongs) == ["0", "1"]
    assert all(e["app"] == "node" and e["pid"] > 0 for e in pongs)
    # Bad sends are named.
    r = pmd.ctl("send", "node", "{not json")
    assert r.returncode == 2 and "send: the message is not JSON" in r.stderr
    r = pmd.ctl("send", "nothere", "{}")
    assert r.returncode == 1 and 'no app named "nothere"' in r.stderr


def test_broadcast_reaches_the_other_workers(pmd, tmp_path):
    (tmp_path / "b.js").write_text("""
process.on('message', (m) => console.log('from ' + m.from + ' to ' + process.env.PMD_INSTANCE));
if (process.env.PMD_INSTANCE === '0')
  setTimeout(() => process.send({type: 'broadcast', from: 0}), 300);
setInterval(() => {}, 1000);
""")
    pmd.start(f"[app:b]\ncommand = node b.js\ninstances = 3\n")
    out = pmd.logs / "b.out.log"
    wait_until(lambda: sorted(log_lines(out)) == ["from 0 to 1", "from 0 to 2"],
               what="the broadcast at instances 1 and 2 only")


def test_pm2_wait_ready_with_process_send(pmd, tmp_path):
    (tmp_path / "r.js").write_text("setTimeout(() => process.send('ready'), 200);\n"
                                   "setInterval(() => {}, 1000);\n")
    pmd.start(f"[app:r]\ncommand = node r.js\nwait_ready = true\nlisten_timeout = 10s\n")
    pmd.wait_status("r", "online")
    assert "r:0: pid" in pmd.stderr() and "is ready (process.send)" in pmd.stderr()


def test_channel_off_and_node_internals(pmd, tmp_path):
    (tmp_path / "n.js").write_text("console.log(typeof process.send);\n"
                                   "setInterval(() => {}, 1000);\n")
    pmd.start(f"[app:n]\ncommand = node n.js\nipc = false\n")
    wait_until(lambda: log_lines(pmd.logs / "n.out.log") == ["undefined"], what="no channel")
    env = open(f"/proc/{pmd.workers('n')[0]['pid']}/environ", "rb").read()
    assert b"PMD_IPC_FD" not in env and b"NODE_CHANNEL_FD" not in env
    r = pmd.ctl("send", "n", "{}")
    assert r.returncode == 1 and "no message channel" in r.stderr


def test_bad_workers_cost_pmd_nothing(pmd, tmp_path):
    """One never reads, one writes garbage, an endless line and Node's
    internal messages: all counted or ignored, pmd stays small and
    answers, and good messages still come through."""
    (tmp_path / "bad.py").write_text("""
import os, sys, time
fd = int(os.environ["PMD_IPC_FD"])
os.write(fd, b"not json\\n" * 100)
os.write(fd, b'{"type": "metrics", "data": {"x": "text"}}\\n')
os.write(fd, b'{"cmd": "NODE_HANDLE", "type": "metrics"}\\n')
os.write(fd, b"x" * 200000 + b"\\n")
os.write(fd, b'{"type": "metrics", "data": {"good": 1}}\\n')
os.write(fd, b"y" * (8 * 1024 * 1024))
time.sleep(1000)
""")
    (tmp_path / "deaf.py").write_text("import time\ntime.sleep(1000)\n")
    pmd.start(f"""
[app:bad]
command = python3 bad.py
[app:deaf]
command = python3 deaf.py
""")
    pmd.wait_status("bad", "online")
    wait_until(lambda: metrics(pmd, "bad") == [{"good": 1}], what="the good message")
    w = pmd.show("bad")["workers"][0]
    wait_until(lambda: pmd.show("bad")["workers"][0].get("messages_dropped_bad", 0) >= 103,
               what="the bad lines counted")
    events = json.loads(pmd.ok("--json", "events", "bad").stdout)["events"]
    assert not any("NODE_" in json.dumps(e) for e in events)
    # A worker that never reads: what does not fit its queue is dropped.
    pmd.wait_status("deaf", "online")
    big = json.dumps({"pad": "z" * 10000})
    for _ in range(60):
        pmd.ctl("send", "deaf", big)
    assert pmd.show("deaf")["workers"][0].get("messages_dropped_unsent", 0) > 0
    rss_kib = int(next(l for l in open(f"/proc/{pmd.proc.pid}/status")
                       if l.startswith("VmRSS")).split()[1])
    assert rss_kib < 64 * 1024, rss_kib
    assert w["status"] == "online" and pmd.ok("ping")


def test_events_list_and_follow(pmd, tmp_path):
    pmd.start("[app:e]\ncommand = sleep 1000\nmin_uptime = 0\n")
    first = pmd.wait_status("e", "online")[0]["pid"]
    follower = subprocess.Popen([PMCTL, "--json", "events", "e", "--follow"], env=pmd.env,
                                stdout=subprocess.PIPE, text=True)
    try:
        # The kept ones first (the reply), then new ones as they happen.
        seen = json.loads(follower.stdout.readline())["events"]
        while not any(e["type"] == "online" for e in seen):
            seen.append(json.loads(follower.stdout.readline()))
        os.kill(first, 9)
        while not (seen[-1]["type"] == "online" and seen[-1]["pid"] != first):
            seen.append(json.loads(follower.stdout.readline()))
    finally:
        follower.terminate()
        follower.wait(10)
    types = [e["type"] for e in seen]
    assert types[:2] == ["started", "online"]
    assert types[2:] == ["exited", "restarted", "started", "online"], types
    assert seen[2]["pid"] == first and "killed by SIGKILL" in seen[2]["text"]
    assert seen[3]["pid"] == first
    # Text, and a reload's steps.
    pmd.ok("reload", "e")
    text = pmd.ok("events", "e").stdout
    assert "e:0 pid %d exited: was killed by SIGKILL" % first in text
    assert "e reload: done: 1 worker replaced" in text
    r = pmd.ctl("events", "nothere")
    assert r.returncode == 1 and 'no app named "nothere"' in r.stderr


def test_hooks_run_without_waiting_and_are_bounded(pmd, tmp_path):
    seen = tmp_path / "seen"
    seen.mkdir()
    pmd.start(f"""
[daemon]
hook_errored = sh -c 'echo "$PMD_APP $PMD_REASON" > {seen}/errored'
hook_timeout = 500ms

[app:crash]
command = sh -c 'exit 3'
max_restarts = 2
hook_exited = sh -c 'echo "$PMD_EVENT $PMD_APP $PMD_INSTANCE $PMD_PID $PMD_EXIT_CODE" >> {seen}/exited; echo said something'
""")
    pmd.wait_status("crash", "errored")
    wait_until(lambda: (seen / "errored").exists(), what="the daemon's hook_errored")
    assert (seen / "errored").read_text() == "crash too many unstable restarts (max_restarts)\n"
    wait_until(lambda: len((seen / "exited").read_text().splitlines()) == 3
               if (seen / "exited").exists() else False, what="three hook_exited")
    for line in (seen / "exited").read_text().splitlines():
        event, app, inst, pid, code = line.split()
        assert (event, app, inst, code) == ("exited", "crash", "0", "3") and int(pid) > 0
    assert "hook_exited of crash:0: said something" in pmd.stderr()
    # One that runs too long is killed, and pmd answered all along.
    pmd.ok("start", pmd.write_config("[app:slow]\ncommand = sleep 1000\n"
                                     "hook_online = sleep 60\n", "slow.conf"))
    wait_until(lambda: "hook_online of slow:0: still running after hook_timeout: killed"
               in pmd.stderr(), what="the slow hook killed")
    # At most 4 at once: the rest are skipped and counted.
    pmd.ok("scale", "slow", "8")
    pmd.wait_status("slow", "online", count=8)
    wait_until(lambda: "skipped: 4 hooks run already" in pmd.stderr(), what="a skipped hook")
    # A hook with a bad command is a config error naming the key.
    r = pmd.ctl("start", pmd.write_config("[app:x]\ncommand = true\nhook_exited = 'open\n",
                                          "bad.conf"))
    assert r.returncode == 1 and "hook_exited:" in r.stderr


def test_watchdog_restarts_a_hung_worker(pmd, tmp_path):
    (tmp_path / "pet.sh").write_text(
        "for i in 1 2 3 4 5 6 7 8 9 10; do systemd-notify WATCHDOG=1; sleep 0.1; done\n"
        "echo hanging; exec sleep 1000\n")
    pmd.start(f"""
[app:dog]
command = sh pet.sh
watchdog = 400ms
kill_timeout = 500ms
min_uptime = 0
""")
    first = pmd.wait_status("dog", "online")[0]["pid"]
    env = open(f"/proc/{first}/environ", "rb").read().split(b"\0")
    assert b"WATCHDOG_USEC=400000" in env and f"WATCHDOG_PID={first}".encode() in env
    # Fed for about a second: still the first process.
    wait_until(lambda: "hanging" in log_lines(pmd.logs / "dog.out.log"), what="the hang")
    assert pmd.workers("dog")[0]["pid"] == first
    wait_until(lambda: pmd.workers("dog")[0]["pid"] not in (0, first), what="the restart")
    w = pmd.show("dog")["workers"][0]
    assert w["last_exit"] == "was killed by SIGABRT" and w["last_exit_reason"] == "watchdog timeout"
    assert w["restarts"] == 1
    assert "dog:0: pid %d: watchdog timeout" % first in pmd.stderr()
    ev = json.loads(pmd.ok("--json", "events", "dog").stdout)["events"]
    assert [e["type"] for e in ev if e["pid"] == first][-3:] == ["watchdog", "exited", "restarted"]
    assert "(watchdog timeout)" in pmd.ok("show", "dog").stdout


def test_broadcasts_to_siblings_that_never_read_are_bounded_in_total(pmd, tmp_path):
    """One worker broadcasts 64 KiB messages to 199 siblings that never
    read: pmd keeps at most 16 MiB for all channels together and 4 KiB of
    a message in the event ring, and counts what it drops."""
    (tmp_path / "bcast.py").write_text(
        "import json, os, time\nfd = int(os.environ['PMD_IPC_FD'])\n"
        "msg = (json.dumps({'type': 'broadcast', 'data': 'x' * 65000}) + '\\n').encode()\n"
        "for i in range(600):\n    os.write(fd, msg)\n"
        "print('sent', flush=True)\ntime.sleep(1000)\n")
    pmd.env["ASAN_OPTIONS"] += ":quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
    pmd.start("[app:b]\ncommand = sh -c 'if [ \"$PMD_INSTANCE\" = 0 ]; then exec python3 "
              "bcast.py; else exec sleep 1000; fi'\ninstances = 200\nout_file = /dev/null\n"
              "err_file = /dev/null\n")
    pmd.wait_status("b", "online", count=200, timeout=30)
    wait_until(lambda: sum(w.get("messages_dropped_unsent", 0)
                           for w in pmd.show("b")["workers"]) >= 199 * 100,
               timeout=60, what="the broadcasts to be taken and dropped")
    rss = int(next(l for l in open(f"/proc/{pmd.proc.pid}/status")
                   if l.startswith("VmRSS")).split()[1])
    assert rss < 48 * 1024, f"pmd RSS {rss} KiB"
    events = [json.loads(l) for l in pmd.ok("--json", "events", "b", "--lines", "5").stdout.splitlines()]
    assert all(len(e.get("text", "")) <= 512 for e in events)


def test_a_hooks_escaped_children_do_not_hold_its_slot(pmd, tmp_path):
    """Hooks whose children leave their process group (setsid): they are
    killed when the hook exits, and said so; each hook's slot ends with
    it, so another app's hook still runs; a crash loop's skipped hooks are
    logged a few times, not per hook."""
    seen = tmp_path / "seen"
    pmd.start(f"""
[app:crash]
command = sh -c 'exit 1'
restart_delay = 0
min_uptime = 1s
max_restarts = 10
hook_exited = sh -c 'setsid sleep 300 </dev/null & exit 0'

[app:later]
command = sh -c 'exec sleep 1000'
hook_online = sh -c 'echo $PMD_APP > {seen}'
""")
    wait_until(lambda: pmd.workers("crash")[0]["status"] == "errored", timeout=30,
               what="the crash loop to end")
    wait_until(lambda: "hook_exited of crash:0: pmd: killed 1 process the hook left "
               "behind" in pmd.stderr(), what="the escaped child killed, and said so")
    pmd.ok("restart", "later")
    wait_until(lambda: seen.exists() and seen.read_text() == "later\n",
               what="the other app's hook to run")
    assert "still running after hook_timeout: killed" not in pmd.stderr()
    assert pmd.stderr().count("skipped:") <= 3
    # None of the escaped sleeps is left.
    assert not [p for p in marked_pids(pmd.marker)
                if open(f"/proc/{p}/cmdline", "rb").read() == b"sleep\x00300\x00"]
