"""The examples under conf/ run as the README says."""
import os

from conftest import ROOT, log_lines, wait_until


def test_example_conf_runs(pmd):
    pmd.start(open(os.path.join(ROOT, "conf", "example.conf")).read().replace(
        "command = sh worker.sh", f"command = sh {ROOT}/conf/worker.sh"))
    ws = pmd.wait_status("hello", "online", count=3)
    out = pmd.logs / "hello.out.log"
    wait_until(lambda: sum("up; greeting: hello from pmd" in l for l in log_lines(out)) == 3,
               what="three greetings")
    # The worker exits 0 on SIGTERM, within kill_timeout.
    pmd.ok("stop", "hello")
    assert sum(l.endswith("got SIGTERM, bye") for l in log_lines(out)) == 3
    assert all(w["status"] == "stopped" for w in pmd.workers("hello"))
    assert len(ws) == 3
