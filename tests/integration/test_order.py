"""Start order across apps (after): an app starts once every worker of the
apps it follows is online, waits visibly (list, show, events) while one
is not, starts as soon as it is; stop all, kill and pmd's shutdown bring a
stack down in reverse; a restart of one app ripples to no other; pmctl
start of a follower starts what it follows; a cycle, an unknown name, the
app itself or an empty list is a config error naming file, line and key."""
import re
import subprocess
import sys

import pytest

from conftest import PMD, wait_until

def write_gate(tmp_path):
    script = tmp_path / "gated.py"
    script.write_text("import os, sys, time\n"
                      "while not os.path.exists(sys.argv[1]):\n"
                      "    time.sleep(0.02)\n"
                      "os.write(int(os.environ['PMD_IPC_FD']), b'\"ready\"\\n')\n"
                      "time.sleep(1000)\n")
    return script


def stack(tmp_path, gate):
    script = write_gate(tmp_path)
    return f"""
[app:api]
command = sleep 1000
instances = 2
after = db, cache
[app:db]
command = {sys.executable} {script} {gate}
wait_ready = true
[app:cache]
command = sleep 1000
after = db
"""


def test_a_stack_starts_in_order_and_waits_visibly(pmd, tmp_path):
    gate = tmp_path / "db-ready"
    pmd.start(stack(tmp_path, gate))
    # db is starting (not ready): cache and api wait for it, and say so.
    wait_until(lambda: pmd.workers("db")[0]["status"] == "starting", what="db to start")
    assert [w["status"] for w in pmd.workers("api")] == ["waiting", "waiting"]
    assert pmd.workers("cache")[0]["pid"] == 0
    show = pmd.show("api")
    assert show["status"] == "waiting" and show["waiting_for"] == "db"
    assert all(w["waiting_for"] == "db" for w in show["workers"])
    r = pmd.ok("show", "api")
    assert "waiting (waiting for db: after)" in r.stdout
    events = pmd.ok("events").stdout
    assert re.search(r"api.*waiting for db", events), events
    gate.write_text("")
    pmd.wait_status("api", "online", count=2)
    pmd.wait_status("cache", "online")
    log = pmd.stderr()
    started = {n: log.index(f"{n}:0: started pid") for n in ("db", "cache", "api")}
    assert log.index("db:0: pid") < started["cache"] < started["api"]
    assert started["db"] < started["cache"]


def test_a_failed_dependency_holds_its_followers_until_it_is_online(pmd, tmp_path):
    gate = tmp_path / "db-ready"
    conf = pmd.write_config(stack(tmp_path, gate).replace(
        "wait_ready = true", "wait_ready = true\nmin_uptime = 5s\nmax_restarts = 0\n"
        "env.FAIL = 1"))
    # db exits at once (no such file as its script): errored, api waits.
    conf.write_text(conf.read_text().replace(str(tmp_path / "gated.py"), "/nonexistent.py"))
    pmd.start(args=["-c", str(conf)])
    pmd.wait_status("db", "errored")
    wait_until(lambda: pmd.show("api")["status"] == "waiting", what="api to wait")
    assert all(w["pid"] == 0 for w in pmd.workers("api"))
    # Fixed and started: its followers start as soon as it is online.
    conf.write_text(conf.read_text().replace("/nonexistent.py", str(tmp_path / "gated.py")))
    pmd.ok("reload-config")
    gate.write_text("")
    pmd.ok("start", "db")
    pmd.wait_status("api", "online", count=2)
    pmd.wait_status("cache", "online")


def stops(log):
    """The apps whose workers ended, in the order the log says."""
    return [m.group(1) for m in re.finditer(r"(\w+):\d: pid \d+ was killed by", log)]


def stack_online(pmd, tmp_path):
    gate = tmp_path / "db-ready"
    gate.write_text("")
    pmd.start(stack(tmp_path, gate))
    pmd.wait_status("api", "online", count=2)


def test_stop_all_and_shutdown_come_down_in_reverse(pmd, tmp_path):
    stack_online(pmd, tmp_path)
    pmd.ok("stop", "all")
    ends = stops(pmd.stderr())
    last_api = max(i for i, n in enumerate(ends) if n == "api")
    assert last_api < ends.index("cache") < ends.index("db"), ends
    pmd.ok("start", "all")
    pmd.wait_status("api", "online", count=2)
    # A restart of db ripples to no other app.
    pids = [w["pid"] for w in pmd.workers("api")]
    pmd.ok("restart", "db")
    assert [w["pid"] for w in pmd.workers("api")] == pids
    mark = len(pmd.stderr())
    # pmd's own shutdown: followers first too.
    assert pmd.stop() == 0
    ends = stops(pmd.stderr()[mark:])
    assert ends.index("db") > max(i for i, n in enumerate(ends) if n == "api"), ends


def test_starting_a_follower_starts_what_it_follows(pmd, tmp_path):
    stack_online(pmd, tmp_path)
    pmd.ok("stop", "all")
    pmd.ok("start", "api")
    pmd.wait_status("db", "online")
    pmd.wait_status("cache", "online")
    pmd.wait_status("api", "online", count=2)


BAD = [
    ("[app:a]\ncommand = sleep 1\nafter = b\n[app:b]\ncommand = sleep 1\nafter = a\n", 3,
     "after: [app:a] comes back to itself through the apps it follows (a cycle)"),
    ("[app:a]\ncommand = sleep 1\nafter = nope\n", 3, "after: \"nope\" is no app"),
    ("[app:a]\ncommand = sleep 1\nafter = a\n", 3, "after: [app:a] cannot run after itself"),
    ("[app:a]\ncommand = sleep 1\nafter =\n", 3, "after: item 1 is empty"),
    ("[app:a]\ncommand = sleep 1\nafter = b,,c\n[app:b]\ncommand = sleep 1\n", 3,
     "after: item 2 is empty"),
]


@pytest.mark.parametrize("text,line,message", BAD)
def test_a_bad_after_is_a_config_error(pmd, text, line, message):
    conf = pmd.write_config(text)
    r = subprocess.run([PMD, "-t", "-c", str(conf)], capture_output=True, text=True,
                       env=pmd.env)
    assert r.returncode == 78 and f"{conf}:{line}: {message}" in r.stderr, r.stderr


def test_an_ad_hoc_after_names_an_app(pmd):
    pmd.start()
    r = pmd.ctl("start", "--name", "w", "--after", "nope", "--", "sleep", "1000")
    assert r.returncode == 1 and 'after: "nope" is no app' in r.stderr, r.stderr
    r = pmd.ctl("start", "--name", "w", "--after", "w", "--", "sleep", "1000")
    assert r.returncode == 1 and "after: [app:w] cannot run after itself" in r.stderr, r.stderr
    pmd.ok("start", "--name", "db", "--", "sleep", "1000")
    pmd.ok("start", "--name", "w", "--after", "db", "--", "sleep", "1000")
    pmd.wait_status("w", "online")
    # Running apps count in a cycle too.
    pmd.ok("delete", "db")
    r = pmd.ctl("start", "--name", "db", "--after", "w", "--", "sleep", "1000")
    assert r.returncode == 1 and "after: [app:db] comes back to itself" in r.stderr, r.stderr


def test_an_ecosystem_file_takes_after_as_a_pmd_key(pmd, tmp_path):
    """PM2 has no start order; pmd's after key in an app object works, as
    a string or an array."""
    (tmp_path / "ecosystem.config.js").write_text("""module.exports = { apps: [
  { name: 'api', script: 'sleep', args: '1000', after: ['db'] },
  { name: 'db', script: 'sleep', args: '1000', after: 'cache' },
  { name: 'cache', script: 'sleep', args: '1000' },
] };
""")
    pmd.start()
    pmd.ok("start", "ecosystem.config.js", cwd=tmp_path)
    for name in ("api", "db", "cache"):
        pmd.wait_status(name, "online")
    assert pmd.show("api")["config"]["after"] == "db"
    assert pmd.show("db")["config"]["after"] == "cache"
    log = pmd.stderr()
    assert log.index("cache:0: started") < log.index("db:0: started") < log.index("api:0: started")
