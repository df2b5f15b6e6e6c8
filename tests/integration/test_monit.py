"""pmctl monit under a pseudo-terminal: the live list, the arrow keys, the
selected app's logs, and a clean exit that gives the terminal back; the
plain refreshing list where no screen can be drawn."""
import os
import signal
import struct
import subprocess
import termios
import fcntl
import time

from conftest import ENTER, LEAVE, PMCTL, Tty, wait_until

APPS = """
[app:alpha]
command = sh -c "echo alpha-says-hi; exec sleep 1000"
instances = 2
[app:beta]
command = sh -c "echo beta-says-hi >&2; exec sleep 1000"
"""


def test_monit_shows_workers_follows_the_arrow_keys_and_quits_cleanly(pmd):
    pmd.start(APPS)
    pmd.wait_status("alpha", "online", count=2)
    t = Tty(pmd)
    try:
        t.wait_screen(b"logs of alpha", "the first frame")
        screen = t.screen()
        assert t.out.startswith(ENTER)
        assert b"NAME" in screen and b"CPU" in screen and b"MEM" in screen
        for w in pmd.workers():
            assert str(w["pid"]).encode() in screen
        assert screen.count(b"online") == 3
        # The selected row (reverse video) is alpha:0; its app's log below.
        assert b"\x1b[7malpha     1     0" in screen
        wait_until(lambda: b"alpha-says-hi" in t.screen(), what="alpha's log line")
        # Down twice: beta, and beta's stderr (in red).
        t.key(b"\x1b[B\x1b[B")
        t.wait_screen(b"logs of beta", "beta selected")
        wait_until(lambda: b"\x1b[31m" in t.screen() and b"beta-says-hi" in t.screen(),
                   what="beta's log line")
        assert b"\x1b[7mbeta      3     0" in t.screen()
        assert b"alpha-says-hi" not in t.screen()
        # Up (as the application-mode arrow some terminals send), then q.
        t.key(b"\x1bOA")
        t.wait_screen(b"\x1b[7malpha     2     1", "alpha:1 selected")
        t.key(b"q")
        assert t.finish() == 0
        assert t.out.endswith(LEAVE)
        assert termios.tcgetattr(t.slave) == t.before
    finally:
        t.close()


def test_monit_ctrl_c_and_sigterm_restore_the_terminal(pmd):
    pmd.start(APPS)
    for end in ("ctrl-c", "sigterm"):
        t = Tty(pmd)
        try:
            t.wait_screen(b"pmd monit", "the first frame")
            assert termios.tcgetattr(t.slave) != t.before    # raw mode
            if end == "ctrl-c":
                t.key(b"\x03")
            else:
                t.proc.send_signal(signal.SIGTERM)
            assert t.finish() == 0
            assert t.out.endswith(LEAVE), end
            assert termios.tcgetattr(t.slave) == t.before, end
        finally:
            t.close()


def test_monit_follows_a_resize_and_a_daemon_that_goes_away(pmd):
    pmd.start(APPS)
    t = Tty(pmd, rows=12, cols=40)
    try:
        t.wait_screen(b"pmd monit", "the first frame")
        lines = t.screen().split(b"\n")
        assert len(lines) == 12
        fcntl.ioctl(t.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
        t.proc.send_signal(signal.SIGWINCH)
        wait_until(lambda: len(t.screen().split(b"\n")) == 30, what="a 30-line frame")
        pmd.ok("kill")
        assert t.finish() == 3
        assert LEAVE in t.out
        assert b"pmctl: " in t.out.split(LEAVE)[-1]   # the reason, after the screen is gone
        assert termios.tcgetattr(t.slave) == t.before
    finally:
        t.close()


def test_monit_on_a_dumb_terminal_prints_the_list(pmd):
    pmd.start(APPS)
    t = Tty(pmd, term="dumb")
    try:
        wait_until(lambda: t.read().count(b"NAME") >= 2, what="two lists")
        assert b"\x1b" not in t.out
        assert b"alpha" in t.out and b"beta" in t.out
        assert termios.tcgetattr(t.slave) == t.before
        t.key(b"q\n")
        assert t.finish() == 0
    finally:
        t.close()


def test_monit_into_a_pipe_prints_the_list_until_a_signal(pmd):
    pmd.start(APPS)
    # Its input stays open (a pipe nobody writes): the end of it would end it.
    p = subprocess.Popen([PMCTL, "monit", "--interval", "100ms"], env=pmd.env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = b""
    deadline = time.monotonic() + 10
    while out.count(b"--- ") < 2 and time.monotonic() < deadline:
        out += os.read(p.stdout.fileno(), 65536)
    assert out.count(b"--- ") >= 2
    p.send_signal(signal.SIGINT)
    rest, err = p.communicate(timeout=10)
    assert p.returncode == 0, err
    assert b"\x1b" not in out + rest
    assert b"beta" in out


def test_monit_usage_errors(pmd):
    pmd.start()
    for args, msg in [(("monit", "--interval", "10ms"), 'at least 100ms, got "10ms"'),
                      (("monit", "--interval"), "needs a value after --interval"),
                      (("monit", "--interval", "soon"), "expected a duration"),
                      (("monit", "extra"), "unknown argument extra"),
                      (("--json", "monit"), "monit is a view for a person")]:
        r = pmd.ctl(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert msg in r.stderr, (args, r.stderr)


def test_monit_slower_than_the_idle_timeout_connects_again(pmd):
    """pmd closes a connection idle for client_idle_timeout; a view that
    refreshes less often than that goes on, on a new connection."""
    pmd.start("[daemon]\nclient_idle_timeout = 100ms\n" + APPS)
    p = subprocess.Popen([PMCTL, "monit", "--interval", "400ms"], env=pmd.env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = b""
    deadline = time.monotonic() + 10
    while out.count(b"--- ") < 3 and time.monotonic() < deadline and p.poll() is None:
        out += os.read(p.stdout.fileno(), 65536)
    assert out.count(b"--- ") >= 3, p.stderr.read()
    p.send_signal(signal.SIGINT)
    rest, err = p.communicate(timeout=10)
    assert p.returncode == 0, err
