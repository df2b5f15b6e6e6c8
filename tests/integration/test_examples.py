"""The examples under conf/ run as the README says."""
import os

from conftest import ROOT, wait_until


def test_example_conf_runs(pmd):
    pmd.start(open(os.path.join(ROOT, "conf", "example.conf")).read().replace(
        "command = sh worker.sh", f"command = sh {ROOT}/conf/worker.sh"))
    ws = pmd.wait_status("hello", "online", count=3)
    out = pmd.logs / "hello.out.log"
    wait_until(lambda: out.exists() and out.read_text().count("up; greeting: hello from pmd") == 3,
               what="three greetings")
    # The worker exits 0 on SIGTERM, within kill_timeout.
    pmd.ok("stop", "hello")
    assert out.read_text().count("got SIGTERM, bye") == 3
    assert all(w["status"] == "stopped" for w in pmd.workers("hello"))
    assert len(ws) == 3
