"""What workers use: memory and CPU as pmctl shows them, max_memory_restart,
and cron_restart as pmctl show tells it."""
import re

from conftest import TESTSRV, free_port, log_lines, wait_until
from conftest import get_pid as get

HOG = 'python3 -c "import time; b = b\'x\' * ({mb} << 20); print(\'ready\', flush=True); time.sleep(1000)"'


def test_memory_of_a_worker_is_its_rss(pmd):
    pmd.start(f"[app:hog]\ncommand = {HOG.format(mb=50)}\n[app:small]\ncommand = sleep 1000\n")
    wait_until(lambda: log_lines(pmd.logs / "hog.out.log"), what="the 50 MB to be written")
    hog = pmd.workers("hog")[0]
    small = pmd.workers("small")[0]
    assert 50 << 20 <= hog["memory"] <= 75 << 20, hog
    assert small["memory"] < 10 << 20, small
    assert re.search(r"hog\s+\d+\s+0\s+\d+\s+online.*\s(5\d|6\d|7\d)\.\dM\s*$",
                     pmd.ok("list").stdout, re.M), pmd.ok("list").stdout
    assert pmd.show("hog")["workers"][0]["memory"] >= 50 << 20


def test_max_memory_restart_restarts_a_worker_over_the_limit(pmd):
    pmd.start(f"""
[app:hog]
command = {HOG.format(mb=40)}
max_memory_restart = 20M
memory_check_interval = 200ms
[app:fine]
command = {HOG.format(mb=1)}
max_memory_restart = 20M
memory_check_interval = 200ms
""")
    first = pmd.workers("hog")[0]["pid"]
    wait_until(lambda: pmd.workers("hog")[0]["restarts"] >= 1, what="a restart of hog")
    assert pmd.workers("hog")[0]["pid"] != first
    assert re.search(rf"hog:0: pid {first} uses \d+\.\dM, over max_memory_restart \(20\.0M\)",
                     pmd.stderr())
    assert pmd.workers("fine")[0]["restarts"] == 0
    assert pmd.show("hog")["config"]["max_memory_restart"] == "20M"


def test_max_memory_restart_replaces_a_listen_worker_first(pmd):
    port = free_port()
    pmd.start(f"""
[app:web]
command = {TESTSRV}
instances = 2
listen = tcp://127.0.0.1:{port}
wait_ready = true
env.TESTSRV_READY = 1
env.TESTSRV_BALLAST_MB = 30
max_memory_restart = 20M
memory_check_interval = 200ms
""")
    pmd.wait_status("web", "online", count=2)
    # The new worker is online before the old one is stopped: the old one
    # was started first (the first two may be replaced before a sample of
    # the list could see them, so the log says which they were).
    wait_until(lambda: re.search(r"web:\d: pid \d+ replaces pid (\d+)", pmd.stderr()),
               what="a replacement")
    m = re.search(r"web:\d: pid (\d+) replaces pid (\d+)", pmd.stderr())
    new, replaced = int(m.group(1)), int(m.group(2))
    started = [int(p) for p in re.findall(r"web:\d: started pid (\d+)", pmd.stderr())]
    assert replaced in started and new in started
    assert started.index(replaced) < started.index(new)
    assert get(port)


def test_cron_restart_is_shown_with_its_next_time(pmd):
    pmd.start("[app:nightly]\ncommand = sleep 1000\ncron_restart = 30 3 * * *\n")
    app = pmd.show("nightly")
    assert app["config"]["cron_restart"] == "30 3 * * *"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d 03:30 \S+", app["next_cron_restart"])
    assert "next_cron_restart" in pmd.ok("show", "nightly").stdout
