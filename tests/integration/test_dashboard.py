"""The dashboard page in a real browser (Debian's chromium, headless,
driven over the DevTools protocol on a pipe): it shows every worker with
its state, keeps the token out of the address bar, picks an app from the
keyboard and follows its log, restarts it with a confirmation, fits a
phone's width, and says so when pmd is unreachable or the token wrong."""
import json
import os
import select
import shutil
import signal
import subprocess
import time

import pytest

from conftest import free_port, wait_until

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium")

APP = ("[app:web]\ncommand = sh -c 'echo hello from $PMD_INSTANCE; exec sleep 1000'\n"
       "instances = 2\n[app:jobs]\ncommand = sleep 1000\n")


def session_alive(sid):
    """Whether a process of session sid is left."""
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and os.getsid(int(entry)) == sid:
                return True
        except OSError:
            pass
    return False


class Browser:
    """chromium --remote-debugging-pipe: JSON messages, NUL-ended, on fds
    3 (to it) and 4 (from it)."""

    def __init__(self, width=390, height=844):
        to_r, self.to_w = os.pipe()
        self.from_r, from_w = os.pipe()
        self.dir = __import__("tempfile").mkdtemp(prefix="pmd-chromium-")
        self.proc = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{to_r} 4>&{from_w}', CHROMIUM,
             "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={self.dir}", "--remote-debugging-pipe",
             f"--window-size={width},{height}", "about:blank"],
            pass_fds=(to_r, from_w), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        os.close(to_r)
        os.close(from_w)
        self.buf = b""
        self.id = 0
        self.session = None
        self.dialogs = []

    def send(self, method, **params):
        self.id += 1
        msg = {"id": self.id, "method": method, "params": params}
        if self.session is not None and not method.startswith("Target."):
            msg["sessionId"] = self.session
        os.write(self.to_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            while b"\0" not in self.buf:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.from_r], [], [], left)[0]:
                    raise AssertionError(f"no answer to {method} in 30 s")
                chunk = os.read(self.from_r, 65536)
                if not chunk:
                    raise AssertionError("chromium went away")
                self.buf += chunk
            raw, self.buf = self.buf.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("method") == "Page.javascriptDialogOpening":
                # A dialog would hold the page: noted, and dismissed.
                self.dialogs.append(reply["params"]["message"])
                os.write(self.to_w, json.dumps({
                    "id": 0, "method": "Page.handleJavaScriptDialog",
                    "params": {"accept": True},
                    "sessionId": self.session}).encode() + b"\0")
                continue
            if reply.get("id") == self.id:
                assert "error" not in reply, reply
                return reply["result"]
        raise AssertionError(f"no answer to {method}")

    def open(self, url):
        target = self.send("Target.createTarget", url=url)["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]
        self.send("Runtime.enable")
        self.send("Page.enable")

    def js(self, expr):
        r = self.send("Runtime.evaluate", expression=expr, returnByValue=True,
                      awaitPromise=True)
        return r["result"].get("value")

    def key(self, key, code):
        for kind in ("keyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", type=kind, key=key, code=code,
                      windowsVirtualKeyCode=13 if key == "Enter" else 9)

    def close(self):
        """chromium and every process it made (its own session) end."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        wait_until(lambda: not session_alive(self.proc.pid), what="chromium's processes to end")
        os.close(self.to_w)
        os.close(self.from_r)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def browser():
    b = Browser()
    yield b
    b.close()


def start(pmd):
    port = free_port()
    pmd.start(f"[daemon]\nhttp = tcp://127.0.0.1:{port}\n{APP}")
    pmd.wait_status("web", "online", count=2)
    pmd.wait_status("jobs", "online")
    url = pmd.ok("dashboard").stdout.strip()
    assert url.startswith(f"http://127.0.0.1:{port}/#token=")
    return url


def test_the_dashboard_shows_and_drives_the_workers(pmd, browser):
    url = start(pmd)
    browser.open(url)
    wait_until(lambda: browser.js("document.querySelectorAll('#rows tr').length") == 3,
               timeout=20, what="the workers in the table")
    assert browser.js("document.getElementById('conn').textContent") == "connected"
    states = browser.js("[...document.querySelectorAll('#rows .st')].map(e => e.textContent)")
    assert states == ["online"] * 3
    shown = browser.js("[...document.querySelectorAll('#rows tr')].map(r => "
                       "[r.children[0].textContent, Number(r.children[2].textContent)])")
    assert sorted(map(tuple, shown)) == sorted((w["name"], w["pid"]) for w in pmd.workers())
    # The token is out of the address bar (and never was in a request URL).
    assert browser.js("location.hash") == ""
    # A phone's width: nothing wider than the screen but the table's own scroll.
    assert browser.js("document.documentElement.scrollWidth <= innerWidth")
    # The keyboard picks an app: Tab to a row, Enter; its log follows.
    browser.js("document.querySelector('#rows tr[data-app=web]').focus()")
    browser.key("Enter", "Enter")
    wait_until(lambda: "hello from" in (browser.js("document.getElementById('log').textContent")
                                        or ""), timeout=20, what="the app's log")
    assert browser.js("document.getElementById('actions').hidden") is False
    # Its workers' charts, one for CPU and one for memory each.
    assert browser.js("document.querySelectorAll('#charts canvas').length") == 4
    # Nothing came from another host.
    assert browser.js("performance.getEntriesByType('resource')"
                      ".every(e => e.name.startsWith(location.origin))")
    # Restart, confirmed: new workers, and the event feed says so.
    old = {w["pid"] for w in pmd.workers("web")}
    browser.js("window.confirm = () => true; "
               "document.querySelector('[data-cmd=restart]').click()")
    wait_until(lambda: not old & {w["pid"] for w in pmd.workers("web")} and
               all(w["status"] == "online" for w in pmd.workers("web")),
               timeout=20, what="the restart")
    wait_until(lambda: "exited" in browser.js("document.getElementById('events').textContent"),
               timeout=20, what="the event feed")
    # A refused confirmation does nothing.
    now = {w["pid"] for w in pmd.workers("web")}
    browser.js("window.confirm = () => false; "
               "document.querySelector('[data-cmd=stop]').click()")
    assert {w["pid"] for w in pmd.workers("web")} == now
    assert browser.dialogs == [], browser.dialogs
    # pmd goes away: the page says so.
    pmd.stop()
    wait_until(lambda: "unreachable" in browser.js("document.getElementById('conn').textContent"),
               timeout=20, what="the page to say pmd is unreachable")


def test_a_wrong_token_is_said_plainly(pmd, browser):
    url = start(pmd)
    browser.open(url.split("#")[0] + "#token=" + "0" * 64)
    wait_until(lambda: "token refused" in (browser.js(
        "document.getElementById('conn').textContent") or ""),
        timeout=20, what="the page to refuse the token")
    assert browser.js("document.querySelectorAll('#rows tr').length") == 0


def test_only_the_owner_gets_the_address(pmd):
    pmd.start()
    r = pmd.ctl("dashboard")
    assert r.returncode == 1 and "pmd serves no HTTP: set http = " in r.stderr
