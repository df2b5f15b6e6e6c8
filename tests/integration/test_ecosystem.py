"""PM2's ecosystem files: pmctl start ecosystem.config.js [--env NAME] and
pmctl import, tried as a PM2 user would, with an unchanged Express-style
server (tests/tools/mini-express.js: app.get and app.listen, as Express
has them).
"""
import json
import os
import re
import http.client
import shutil
import socket
import subprocess

from conftest import PMCTL, ROOT, Hammer, environ, free_port, log_lines, pid_alive, spread, wait_until

SERVER = """
const express = require('./mini-express');
const app = express();
const PORT = process.env.PORT || 3000;
app.get('/', (req, res) => res.send(`${process.pid}\\n`));
app.listen(PORT, () => console.log(`Server running on port ${PORT}`));
"""

TUTORIAL = """
module.exports = {
  apps: [{
    name: 'tutorial-app',
    script: './server.js',
    instances: 'max',
    exec_mode: 'cluster',
    env: { NODE_ENV: 'development', PORT: %d },
    env_production: { NODE_ENV: 'production', PORT: %d },
    max_memory_restart: '500M',
    log_date_format: 'YYYY-MM-DD HH:mm:ss Z',
    error_file: './logs/err.log',
    out_file: './logs/out.log',
    autorestart: true,
    max_restarts: 10,
    min_uptime: '10s',
  }],
};
"""


def project(tmp_path, dev, prod):
    d = tmp_path / "project"
    d.mkdir()
    shutil.copy(os.path.join(ROOT, "tests", "tools", "mini-express.js"), d)
    (d / "server.js").write_text(SERVER)
    (d / "ecosystem.config.js").write_text(TUTORIAL % (dev, prod))
    return d


def test_a_tutorial_ecosystem_runs_unchanged_and_reloads_without_a_loss(pmd, tmp_path):
    dev, prod = free_port(), free_port()
    d = project(tmp_path, dev, prod)
    pmd.start()
    pmd.ok("start", "ecosystem.config.js", "--env", "production", cwd=d)
    ws = pmd.wait_status("tutorial-app", "online", count=os.cpu_count())
    env = environ(ws[0]["pid"])
    assert env[b"NODE_ENV"] == b"production" and env[b"PORT"] == str(prod).encode()
    old = spread(pmd, prod, "tutorial-app")
    cfg = pmd.show("tutorial-app")["config"]
    assert cfg["listen"] == f"tcp://0.0.0.0:{prod}"
    assert cfg["max_memory_restart"] == "500M" and cfg["min_uptime"] == "10s"
    assert cfg["max_restarts"] == "10"
    assert cfg["log_date_format"] == "%Y-%m-%d %H:%M:%S %z"
    out = d / "logs" / "out.log"
    wait_until(lambda: out.exists() and "Server running on port" in out.read_text(),
               what="the app's own out_file")
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} Server running",
                    out.read_text().splitlines()[0]), out.read_text()
    # Keep-alive clients through two reloads of the unchanged app: none
    # fails (pmd-drain.js drains it on SIGTERM).
    h = Hammer(prod)
    try:
        wait_until(lambda: h.ok > 50, what="traffic")
        for _ in range(2):
            pmd.ok("reload", "tutorial-app")
        new = {w["pid"] for w in pmd.workers("tutorial-app")}
        assert not new & old
        wait_until(lambda: new & h.seen, timeout=20, what="the new workers to answer")
    finally:
        h.finish()
    assert h.errors == [] and h.ok > 100
    assert all(not pid_alive(p) for p in old)
    assert spread(pmd, prod, "tutorial-app") == new
    # Started again, the running app stays as it is.
    pmd.ok("start", "ecosystem.config.js", "--env", "production", cwd=d)
    assert {w["pid"] for w in pmd.workers("tutorial-app")} == new


def test_import_prints_ini_that_pmd_runs(pmd, tmp_path):
    dev, prod = free_port(), free_port()
    d = project(tmp_path, dev, prod)
    r = subprocess.run([PMCTL, "import", "ecosystem.config.js"], cwd=d, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    ini = r.stdout
    assert "[app:tutorial-app]\n" in ini
    assert f"command = node {d}/server.js\n" in ini
    assert f"listen = tcp://0.0.0.0:{dev}\n" in ini
    assert f"env_production.PORT = {prod}\n" in ini
    assert f"err_file = {d}/logs/err.log\n" in ini
    # The production PORT differs from the listen port: said, not hidden.
    assert "use --env production" in r.stderr
    conf = tmp_path / "imported.conf"
    conf.write_text(ini)
    pmd.start()
    pmd.ok("start", conf)
    pmd.wait_status("tutorial-app", "online", count=os.cpu_count())
    spread(pmd, dev, "tutorial-app")


def test_json_file_keys_without_equivalent_and_scripts(pmd, tmp_path):
    """A .json file needs no node to read; PM2's keys that pmd lacks are
    named; scripts run with their extension's interpreter, a program in
    PATH as it is (script npm), and watch arrays become watch_paths."""
    (tmp_path / "job.py").write_text("import sys, time\nprint('job', sys.argv[1:], flush=True)\n"
                                     "time.sleep(1000)\n")
    # PM2's readiness: process.send('ready') over the message channel.
    (tmp_path / "ready.js").write_text("setTimeout(() => process.send('ready'), 300);\n"
                                       "setInterval(() => {}, 1000);\n")
    (tmp_path / "package.json").write_text(
        '{"name": "p", "version": "1.0.0", "scripts": {"start": "exec sleep 1000"}}\n')
    (tmp_path / "ecosystem.json").write_text("""{
  "apps": [
    {"name": "job", "script": "job.py", "args": ["--once", "a b"], "vizion": false,
     "watch": ["job.py"], "ignore_watch": ["node_modules"], "stop_exit_codes": [0, 3],
     "time": false},
    {"name": "ready", "script": "ready.js", "wait_ready": true, "listen_timeout": 5000},
    {"name": "npm-app", "script": "npm", "args": "start", "kill_timeout": 3000}
  ]
}""")
    r = subprocess.run([PMCTL, "import", "ecosystem.json"], cwd=tmp_path, env={"PATH": "/nonexistent"},
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert 'app "job": vizion: pmd reads no version control metadata' in r.stderr
    assert "wait_ready = true\n" in r.stdout
    assert f"command = python3 {tmp_path}/job.py --once 'a b'\n" in r.stdout
    assert "watch_paths = job.py\n" in r.stdout and "stop_exit_codes = 0, 3\n" in r.stdout
    assert "log_date_format = none\n" in r.stdout
    pmd.start()
    pmd.ok("start", "ecosystem.json", cwd=tmp_path)
    pmd.wait_status("job", "online")
    pmd.wait_status("npm-app", "online")
    pmd.wait_status("ready", "online")
    assert "is ready (process.send)" in pmd.stderr()
    wait_until(lambda: "job ['--once', 'a b']" in log_lines(pmd.logs / "job.out.log"),
               what="the job's line, without a timestamp")
    assert pmd.show("npm-app")["config"]["kill_timeout"] == "3s"
    assert pmd.show("job")["config"]["watch"] == "true"


def test_bad_ecosystem_files_are_named(pmd, tmp_path):
    (tmp_path / "ecosystem.config.js").write_text("module.exports = { apps: [ { name: 'x' } ] };\n")
    r = subprocess.run([PMCTL, "import", "ecosystem.config.js"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and 'ecosystem.config.js: an app without "script"' in r.stderr
    (tmp_path / "ecosystem.config.js").write_text("module.exports = {{;\n")
    r = subprocess.run([PMCTL, "import", "ecosystem.config.js"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "ecosystem.config.js: node could not evaluate it" in r.stderr
    assert "SyntaxError" in r.stderr
    r = subprocess.run([PMCTL, "import", "ecosystem.config.js"], cwd=tmp_path,
                       env={"PATH": "/nonexistent"}, capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "cannot run node to read it" in r.stderr
    (tmp_path / "ecosystem.json").write_text('{"apps": 3}')
    r = pmd.ctl("start", "ecosystem.json", cwd=tmp_path)
    assert r.returncode == 2 and "expected { apps: [...] }" in r.stderr


def test_import_never_writes_a_section_or_key_the_file_did_not_name(pmd, tmp_path):
    """Values with a newline or another control character would become new
    lines of the INI (an [app:evil], a user = root): import refuses them,
    naming the field; start runs the same file as it is."""
    (tmp_path / "app.py").write_text("import os, time\nprint(repr(os.environ['X']), flush=True)\n"
                                     "time.sleep(1000)\n")
    cases = {
        '"env": {"X": "1\\n[app:evil]\\ncommand = id"}': "apps[0].env.X: a newline",
        '"env": {"X": "1", "A=B": "2"}': 'apps[0].env: "A=B" is not a variable name',
        '"env": {"X": "a\\rb"}': "apps[0].env.X: a carriage return",
        '"cwd": "/tmp\\n[app:evil]"': "apps[0].cwd: a newline",
        '"env_prod": {"Y": "1\\n[app:z]"}, "env": {"X": "1"}': "apps[0].env_prod.Y: a newline",
    }
    for extra, message in cases.items():
        (tmp_path / "ecosystem.json").write_text(
            '{"apps": [{"name": "ok", "script": "app.py", %s}]}' % extra)
        r = subprocess.run([PMCTL, "import", "ecosystem.json"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 1 and "[app:evil]" not in r.stdout, (extra, r)
        assert f"ecosystem.json: {message}" in r.stderr, (extra, r.stderr)
    # A string of args is split on white space, newlines too: words of the
    # command line, never a key.
    (tmp_path / "ecosystem.json").write_text(
        '{"apps": [{"name": "ok", "script": "app.py", "args": "1 \\n user = root"}]}')
    r = subprocess.run([PMCTL, "import", "ecosystem.json"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "app.py 1 user = root\n" in r.stdout
    assert not any(l.startswith("user") for l in r.stdout.splitlines())
    # start sends values, not INI: the newline reaches the worker as is.
    (tmp_path / "ecosystem.json").write_text(
        '{"apps": [{"name": "ok", "script": "app.py", "env": {"X": "1\\n[app:evil]"}}]}')
    pmd.start()
    pmd.ok("start", "ecosystem.json", cwd=tmp_path)
    wait_until(lambda: "'1\\n[app:evil]'" in log_lines(pmd.logs / "ok.out.log"),
               what="the value as it was")
    assert [w["name"] for w in pmd.workers()] == ["ok"]


def test_only_some_apps_of_an_ecosystem_file(pmd, tmp_path):
    (tmp_path / "ecosystem.json").write_text(
        '{"apps": [{"name": "a", "script": "sleep", "args": "1000"},'
        ' {"name": "b", "script": "sleep", "args": "1000"},'
        ' {"name": "c", "script": "sleep", "args": "1000"}]}')
    pmd.start()
    pmd.ok("start", "ecosystem.json", "--only", "a,c", cwd=tmp_path)
    assert sorted({w["name"] for w in pmd.workers()}) == ["a", "c"]
    r = pmd.ctl("start", "ecosystem.json", "--only", "a,zz", cwd=tmp_path)
    assert r.returncode == 2 and 'ecosystem.json has no app named "zz"' in r.stderr
    r = pmd.ctl("start", "--only", "a", "--", "sleep", "1")
    assert r.returncode == 2 and "--only chooses apps of an ecosystem file" in r.stderr


def test_start_or_restart_and_reload_as_deploy_scripts_run_them(pmd, tmp_path):
    (tmp_path / "ecosystem.json").write_text(
        '{"apps": [{"name": "a", "script": "sleep", "args": "1000", "instances": 2}]}')
    pmd.start()
    pmd.ok("startOrRestart", "ecosystem.json", cwd=tmp_path)
    first = {w["pid"] for w in pmd.wait_status("a", "online", count=2)}
    pmd.ok("startOrRestart", "ecosystem.json", cwd=tmp_path)
    second = {w["pid"] for w in pmd.wait_status("a", "online", count=2)}
    assert not first & second
    pmd.ok("startOrReload", "ecosystem.json", cwd=tmp_path)
    wait_until(lambda: not {w["pid"] for w in pmd.workers("a")} & second and
               all(w["status"] == "online" for w in pmd.workers("a")), what="the reload")
    assert "a: reload: replacing its workers one at a time" in pmd.stderr()
    pmd.ok("startOrGracefulReload", "ecosystem.json", cwd=tmp_path)
    r = pmd.ctl("startOrReload", "--", "sleep", "1")
    assert r.returncode == 2 and "startOrReload takes an ecosystem file" in r.stderr


def test_ecosystem_keys_pm2_documents(pmd, tmp_path):
    """PM2's log aliases and combined log, exec_interpreter 'none' with a
    command as the script, node_args for npm, filter_env, and warnings
    that say why a key does not apply; --env with no such profile and a
    deploy section are named."""
    (tmp_path / "package.json").write_text(
        '{"name": "p", "version": "1.0.0", "scripts": {"start": '
        '"node -e \\"console.log(process.execArgv.length, process.env.NODE_OPTIONS); '
        'setInterval(() => {}, 1000)\\""}}\n')
    (tmp_path / "ecosystem.json").write_text(json.dumps({
        "apps": [
            {"name": "cmd", "script": "sh -c 'echo cmd-up; echo cmd-err >&2; exec sleep 1000'",
             "exec_interpreter": "none", "log": "logs/both.log"},
            {"name": "alias", "script": "sh", "args": ["-c", "echo out; echo err >&2; exec sleep 1000"],
             "output": "logs/a.out", "error": "logs/a.err", "pid_file": "x.pid",
             "increment_var": "PORT"},
            {"name": "npmapp", "script": "npm", "args": "start", "node_args": "--max-old-space-size=64"},
            {"name": "clean", "script": "sh", "args": ["-c", 'echo "SECRET=$SECRET"; exec sleep 1000'],
             "filter_env": ["SECR"]},
        ],
        "deploy": {"production": {"user": "x"}},
    }))
    r = subprocess.run([PMCTL, "import", "ecosystem.json"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "no pmd equivalent" not in r.stderr
    assert 'app "alias": pid_file: pmd keeps each worker\'s pid itself' in r.stderr
    assert "increment_var" not in r.stderr     # a pmd key now
    assert "deploy: pmd does not deploy" in r.stderr
    assert "command = sh -c 'echo cmd-up; echo cmd-err >&2; exec sleep 1000'\n" in r.stdout
    assert f"out_file = {tmp_path}/logs/both.log\nerr_file = {tmp_path}/logs/both.log\n" in r.stdout
    assert f"out_file = {tmp_path}/logs/a.out\n" in r.stdout
    assert "env.NODE_OPTIONS = --max-old-space-size=64\n" in r.stdout
    r = subprocess.run([PMCTL, "import", "ecosystem.json", "--env", "staging"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=30)
    assert "--env staging: no app has env_staging" in r.stderr
    pmd.start()
    pmd.ok("start", "ecosystem.json", cwd=tmp_path, env={"SECRET": "s3"})
    for name in ("cmd", "alias", "clean", "npmapp"):
        pmd.wait_status(name, "online", timeout=30)
    wait_until(lambda: (tmp_path / "logs/both.log").exists() and
               {"cmd-up", "cmd-err"} <= set((tmp_path / "logs/both.log").read_text().split()),
               what="both streams in the combined log")
    wait_until(lambda: (tmp_path / "logs/a.err").exists() and
               "err" in (tmp_path / "logs/a.err").read_text(), what="error's file")
    wait_until(lambda: "SECRET=" in log_lines(pmd.logs / "clean.out.log"), what="no SECRET")
    wait_until(lambda: [l for l in log_lines(pmd.logs / "npmapp.out.log")
                        if l.endswith(" --max-old-space-size=64")],
               timeout=30, what="node under npm with the node_args")


def test_apps_from_pm2s_world_stop_as_pm2_stops_them(pmd, tmp_path):
    """SIGINT, then SIGKILL after 1600 ms: an app that cleans up on SIGINT
    (as PM2 apps do) cleans up on pmctl stop; pmd's own apps keep
    SIGTERM and 5 s."""
    (tmp_path / "app.js").write_text(
        "const fs = require('fs');\n"
        "process.on('SIGINT', () => { fs.writeFileSync(process.env.MARK, 'clean'); "
        "process.exit(0); });\n"
        "console.log('up');\nsetInterval(() => {}, 1000);\n")
    (tmp_path / "ecosystem.json").write_text(json.dumps({"apps": [
        {"name": "eco", "script": "app.js", "env": {"MARK": str(tmp_path / "eco.mark")}}]}))
    pmd.start()
    pmd.ok("start", "ecosystem.json", cwd=tmp_path)
    pmd.ok("start", "app.js", "--name", "script", cwd=tmp_path,
           env={"MARK": str(tmp_path / "script.mark")})
    pmd.ok("start", "--name", "own", "--", "sleep", "1000")
    for name in ("eco", "script"):
        pmd.wait_status(name, "online")
        wait_until(lambda: "up" in log_lines(pmd.logs / f"{name}.out.log"), what="node up")
        cfg = pmd.show(name)["config"]
        assert (cfg["kill_signal"], cfg["kill_timeout"]) == ("SIGINT", "1600ms"), cfg
        pmd.ok("stop", name)
        assert (tmp_path / f"{name}.mark").read_text() == "clean"
    cfg = pmd.show("own")["config"]
    assert (cfg["kill_signal"], cfg["kill_timeout"]) == ("SIGTERM", "5s")
    r = subprocess.run([PMCTL, "import", "ecosystem.json"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=30)
    assert "kill_signal = SIGINT\n" in r.stdout and "kill_timeout = 1600ms\n" in r.stdout


def test_increment_var_and_instance_var_as_pm2_gives_them(pmd, tmp_path):
    """increment_var: PORT gives instance i the port PORT + i;
    instance_var names a variable with the instance number."""
    base = free_port()
    while True:     # two free ports in a row
        try:
            s = socket.socket()
            s.bind(("127.0.0.1", base + 1))
            s.close()
            break
        except OSError:
            base = free_port()
    (tmp_path / "app.js").write_text(
        "require('http').createServer((q, r) => r.end(process.env.WHICH + '\\n'))"
        ".listen(Number(process.env.PORT), '127.0.0.1');\n")
    (tmp_path / "ecosystem.config.js").write_text(f"""
module.exports = {{ apps: [{{ name: 'inc', script: 'app.js', instances: 2,
  increment_var: 'PORT', instance_var: 'WHICH', env: {{ PORT: {base} }} }}] }};
""")
    pmd.start()
    pmd.ok("start", "ecosystem.config.js", cwd=tmp_path)
    pmd.wait_status("inc", "online", count=2)
    for i in (0, 1):
        def answer():
            try:
                c = http.client.HTTPConnection("127.0.0.1", base + i, timeout=5)
                c.request("GET", "/")
                return c.getresponse().read().decode().strip()
            except OSError:
                return None
        assert wait_until(answer, what=f"instance {i} on {base + i}") == str(i)
    cfg = pmd.show("inc")["config"]
    assert cfg["increment_var"] == "PORT" and cfg["instance_var"] == "WHICH"
    r = subprocess.run([PMCTL, "import", "ecosystem.config.js"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=30)
    assert "increment_var = PORT\n" in r.stdout and "instance_var = WHICH\n" in r.stdout
    assert "increment_var" not in r.stderr
    # A value that is no number is left alone, with a warning.
    pmd.ok("start", "--name", "odd", "--increment_var", "MODE", "-i", "2", "--", "sleep", "1000",
           env={"MODE": "fast"})
    wait_until(lambda: 'odd:1: increment_var: MODE="fast" is not a number' in pmd.stderr(),
               what="the warning")
    r = pmd.ctl("start", "--name", "bad", "--increment_var", "1PORT", "--", "sleep", "1")
    assert r.returncode == 1 and "keys.increment_var: expected an environment variable" in \
        r.stderr and "1PORT" in r.stderr
