"""watch: a change under the app's cwd (or watch_paths) restarts it once the
changes stop for watch_delay; ignored names and pmd's own files never count."""
import os
import re

from conftest import log_lines, wait_until


def restarts(pmd):
    return re.findall(r"dev: (watch: .*): restarting$", pmd.stderr(), re.M)


def reloads_done(pmd):
    return len(re.findall(r"dev: reload done", pmd.stderr()))


def start_watching(pmd, keys):
    """pmd with app dev (sleep) watching its own cwd; returns that cwd."""
    app = pmd.dir / "app"
    app.mkdir()
    pmd.start(f"[app:dev]\ncommand = sleep 1000\ncwd = {app}\nwatch = true\n{keys}")
    pmd.wait_status("dev", "online")
    return app


def test_a_burst_of_changes_restarts_once(pmd):
    src = pmd.dir / "src"
    (src / "lib").mkdir(parents=True)
    (pmd.dir / "node_modules" / "pkg").mkdir(parents=True)
    pmd.start("[app:dev]\ncommand = sleep 1000\nwatch = true\n"
              "watch_delay = 1s\nmin_uptime = 0\n")
    first = pmd.wait_status("dev", "online")[0]["pid"]
    watch = pmd.show("dev")["watch"]
    assert watch["paths"] == [str(pmd.dir)]
    # The config's directory, src, src/lib and pmd's home (its logs and
    # socket are pmd's own, node_modules is ignored by default).
    assert watch["directories"] == 4, watch
    assert "node_modules" in watch["ignore"]

    for i in range(5):
        (src / f"f{i}.js").write_text("x")
    (src / "lib" / "util.js").write_text("y")
    wait_until(lambda: reloads_done(pmd) == 1, what="a reload")
    assert pmd.workers("dev")[0]["pid"] != first
    # Twelve events (a create and a close each), one restart.
    assert restarts(pmd) == ["watch: src/f0.js changed (and 11 more)"]

    # Ignored names, a directory never watched, and pmd's config file (for
    # reload-config) do not count: the next restart names only the file
    # that matters.
    (pmd.dir / "node_modules" / "pkg" / "index.js").write_text("z")
    (src / ".f0.js.swp").write_text("z")
    (src / "f0.js~").write_text("z")
    (pmd.dir / "pmd.conf").write_text((pmd.dir / "pmd.conf").read_text() + "; edited\n")
    (src / "f1.js").write_text("changed")
    wait_until(lambda: reloads_done(pmd) == 2, what="a second reload")
    assert restarts(pmd)[1] == "watch: src/f1.js changed"
    assert pmd.ok("show", "dev").stdout.count("watched directories") == 1


def test_new_directories_are_watched_and_renames_count(pmd):
    src = start_watching(pmd, "watch_delay = 200ms\nmin_uptime = 0\n")
    assert pmd.show("dev")["watch"]["directories"] == 1
    (src / "new" / "deeper").mkdir(parents=True)
    wait_until(lambda: pmd.show("dev")["watch"]["directories"] == 3,
               what="the new directories to be watched")
    wait_until(lambda: reloads_done(pmd) == 1, what="the reload for the new directory")
    # new/deeper may be seen created too, as the watch on new may be first.
    assert restarts(pmd)[0].startswith("watch: new changed")
    # An editor saves by writing a temporary file and renaming it over.
    tmp = src / "new" / "deeper" / ".page.html.tmp"
    tmp.write_text("<p>")
    os.rename(tmp, src / "new" / "deeper" / "page.html")
    wait_until(lambda: reloads_done(pmd) == 2, what="the reload for the rename")
    assert restarts(pmd)[1] == "watch: new/deeper/page.html changed"
    # A directory moved out is no longer watched.
    os.rename(src / "new", pmd.dir / "moved")
    wait_until(lambda: reloads_done(pmd) == 3, what="the reload for the move")
    assert pmd.show("dev")["watch"]["directories"] == 1


def test_watch_paths_and_ignore_watch(pmd):
    for d in ("src/gen", "lib", "docs"):
        (pmd.dir / d).mkdir(parents=True)
    (pmd.dir / ".env").write_text("A=1\n")
    pmd.start("[app:dev]\ncommand = sleep 1000\nwatch_paths = src, .env, nosuch\n"
              "ignore_watch = gen, *.map\nwatch_delay = 200ms\nmin_uptime = 0\n")
    pmd.wait_status("dev", "online")
    assert "dev: watch_paths: nosuch: No such file or directory; not watched" in pmd.stderr()
    watch = pmd.show("dev")["watch"]
    assert watch["paths"] == ["src", ".env", "nosuch"]
    assert watch["directories"] == 2    # src, and the directory .env is in
    (pmd.dir / "lib" / "a.js").write_text("x")       # not a watched path
    (pmd.dir / "README").write_text("x")             # beside .env, not named
    (pmd.dir / "src" / "gen" / "out.js").write_text("x")
    (pmd.dir / "src" / "app.js.map").write_text("x")
    (pmd.dir / ".env").write_text("A=2\n")           # named: hidden or not
    wait_until(lambda: reloads_done(pmd) == 1, what="a reload")
    assert restarts(pmd) == ["watch: .env changed"]


def test_a_change_starts_an_errored_app_again(pmd):
    app = pmd.dir / "app"
    app.mkdir()
    pmd.start(f"""[app:dev]
command = /bin/sh -c "test -f fixed || exit 3; exec sleep 1000"
cwd = {app}
watch = yes
watch_delay = 100ms
max_restarts = 2
restart_delay = 0
""")
    pmd.wait_status("dev", "errored")
    (app / "fixed").write_text("")
    pmd.wait_status("dev", "online")
    assert restarts(pmd)[0].startswith("watch: fixed changed")


def test_stopping_an_app_stops_its_watched_restarts(pmd):
    app = start_watching(pmd, "watch_delay = 100ms\n")
    pmd.ok("stop", "dev")
    (app / "x").write_text("")
    wait_until(lambda: reloads_done(pmd) == 1, what="the watch to fire")
    assert "dev: reload done: 0 workers replaced" in pmd.stderr()
    assert pmd.workers("dev")[0]["status"] == "stopped"


def test_watch_false_and_deleting_watch_paths(pmd):
    (pmd.dir / "src").mkdir()
    pmd.start("[app:dev]\ncommand = sleep 1000\nwatch = false\n"
                     "watch_paths = src\n")
    assert "watch" not in pmd.show("dev")
    pmd.write_config("[app:dev]\ncommand = sleep 1000\nwatch_paths = src\n")
    pmd.ok("reload-config")
    wait_until(lambda: "watch" in pmd.show("dev"), what="watching after reload-config")
    assert pmd.show("dev")["watch"]["paths"] == ["src"]


def test_pmctl_start_watch_survives_save_and_resurrect(pmd):
    app = pmd.dir / "app"
    app.mkdir()
    pmd.start()
    pmd.ok("start", "--name", "dev", "--watch", "--", "sleep", "1000", cwd=app)
    first = pmd.wait_status("dev", "online")[0]["pid"]
    assert pmd.show("dev")["watch"]["paths"] == [str(app)]
    pmd.ok("save")
    pmd.ok("kill")
    assert pmd.stop() == 0
    pmd.start(args=["--resurrect"])
    assert pmd.wait_status("dev", "online")[0]["pid"] != first
    assert pmd.show("dev")["watch"]["paths"] == [str(app)]
    second = pmd.workers("dev")[0]["pid"]
    (app / "main.py").write_text("")
    wait_until(lambda: pmd.workers("dev")[0]["pid"] != second, what="a restart")


def test_bad_watch_requests(pmd):
    pmd.start()
    r = pmd.ctl("start", "--watch", "web")
    assert r.returncode == 2
    assert "start: --name, -i and the keys as options go with -- COMMAND" in r.stderr
    cwd = str(pmd.dir).encode()
    reply = pmd.request(b'{"v":1,"cmd":"start","command":["sleep","9"],"cwd":"' + cwd +
                        b'","watch":"yes"}\n', count=1)[0]
    assert reply["error"]["message"] == 'field "watch": expected true or false'
    assert pmd.workers() == []


def test_sockets_and_fifos_the_app_makes_are_no_change(pmd, tmp_path):
    """An app that makes a unix socket and a FIFO in its directory as it
    starts (and removes the old socket first): neither restarts it; a real
    change still does, alone."""
    (tmp_path / "app.py").write_text(
        "import os, socket, time\n"
        "try:\n    os.unlink('web.sock')\nexcept FileNotFoundError:\n    pass\n"
        "s = socket.socket(socket.AF_UNIX)\ns.bind('web.sock')\ns.listen()\n"
        "if not os.path.exists('pipe'):\n    os.mkfifo('pipe')\n"
        "print('up', flush=True)\ntime.sleep(1000)\n")
    pmd.start(f"[app:web]\ncommand = python3 app.py\ncwd = {tmp_path}\nwatch = true\n"
              "watch_delay = 100ms\n")
    pmd.wait_status("web", "online")
    wait_until(lambda: (tmp_path / "web.sock").exists(), what="the socket")
    pmd.ok("restart", "web")
    pid = pmd.wait_status("web", "online")[0]["pid"]
    wait_until(lambda: log_lines(pmd.logs / "web.out.log").count("up") == 2,
               what="the second start to make its socket")
    (tmp_path / "real.txt").write_text("x")
    wait_until(lambda: "web: watch: real.txt changed" in pmd.stderr(), what="the real change")
    assert "web.sock changed" not in pmd.stderr() and "pipe changed" not in pmd.stderr()
    # (and 1 more): the file's creation and its close are two events.
    assert len(re.findall(r"web: watch: .*: restarting", pmd.stderr())) == 1
    wait_until(lambda: pmd.workers("web")[0]["pid"] not in (0, pid), what="the restart")
