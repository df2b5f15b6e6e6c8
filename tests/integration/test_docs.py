"""Every command line the README and the man pages show is run here, as
shipped: found in the files (a `$ ` or `# ` prompt in a console block or
a literal display), with only what cannot be shipped replaced (the
binaries' paths, a free port for 8000, a real pid for the README's
example pid, temporary directories for .run, /tmp/demo and DESTDIR). A
new command line in the docs that this file does not know fails
test_every_command_line_is_known.
"""
import os
import re
import shutil
import signal
import subprocess

from conftest import PMCTL, PMD, ROOT, Tty, free_port, wait_until

# The one line no test runs: it would enable a service on the machine
# running the tests (pmctl startup's test covers what pmd does there).
NEEDS_SYSTEMD = "systemctl daemon-reload && systemctl enable --now pmd"


def doc_lines(name):
    """(prompt, command, following lines) of every command line in a doc."""
    text = open(os.path.join(ROOT, name)).read().splitlines()
    lines, inside = [], False
    for i, line in enumerate(text):
        if line.startswith("```console") or line.startswith(".Bd -literal"):
            inside = True
            continue
        if line.startswith("```") or line.startswith(".Ed"):
            inside = False
            continue
        if inside and (line.startswith("$ ") or (line.startswith("# ") and name != "README.md")):
            body = []
            for follow in text[i + 1:]:
                if follow.startswith(("$ ", "# ", ".Ed", "```")):
                    break
                body.append(follow)
            lines.append((line[:2], re.sub(r"\s{2,}#.*$", "", line[2:]), body))
    return lines


def sh(cmd, env, cwd, timeout=60):
    r = subprocess.run(["sh", "-c", cmd], env=env, cwd=cwd, capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, f"{cmd}: rc {r.returncode}\n{r.stdout}{r.stderr}"
    return r.stdout


def test_every_command_line_is_known():
    known = {
        "README.md": 21, "man/pmctl.1": 6, "man/pmd.8": 5,
    }
    for name, n in known.items():
        lines = doc_lines(name)
        assert len(lines) == n, (f"{name} shows {len(lines)} command lines, this file "
                                 f"runs {n}: run the new ones here too\n{lines}")


def test_readme_command_lines(pmd, tmp_path):
    """The README's lines in its order, on conf/example.conf as make run
    runs it; pmctl kill last."""
    shutil.copy(os.path.join(ROOT, "conf", "worker.sh"), pmd.dir / "worker.sh")
    metrics = str(free_port())
    pmd.start(f"[daemon]\nmetrics = tcp://127.0.0.1:{metrics}\n" +
              open(os.path.join(ROOT, "conf", "example.conf")).read())
    pmd.wait_status("hello", "online", count=3)
    port = str(free_port())
    env = dict(pmd.env)
    last = []
    for prompt, cmd, _ in doc_lines("README.md"):
        if cmd.startswith("export PMD_HOME="):
            continue    # the fixture's PMD_HOME is in env
        if cmd.startswith("./pmctl kill"):
            last.append(cmd)
            continue
        if cmd.startswith("./pmctl monit"):
            t = Tty(pmd)
            try:
                t.wait_screen(b"hello", "monit to show hello")
                t.key(b"q")
                assert t.finish() == 0
            finally:
                t.close()
            continue
        hello = [w["pid"] for w in pmd.workers("hello") if w["pid"]]
        run = (cmd.replace("./pmctl", PMCTL).replace("./pmd ", PMD + " ")
               .replace("conf/", os.path.join(ROOT, "conf") + "/")
               .replace(".run/", f"{pmd.home}/")
               .replace("41873", str(hello[0] if hello else 0)).replace("8000", port)
               .replace("$(pidof pmd)", str(pmd.proc.pid)).replace("9615", metrics))
        if "--follow" in cmd:
            # exec: the signal below ends pmctl itself, not only its shell.
            p = subprocess.Popen(["sh", "-c", "exec " + run], env=env, stdout=subprocess.PIPE,
                                 text=True)
            try:
                assert p.stdout.readline()
            finally:
                p.terminate()
                p.wait(10)
            continue
        sh(run, env, tmp_path)
        if cmd.startswith("kill -9"):
            pmd.wait_status("hello", "online", count=3)
        if "http.server" in cmd:
            pmd.wait_status("web", "online")
    for cmd in last:
        sh(cmd.replace("./pmctl", PMCTL), env, tmp_path)
        assert pmd.proc.wait(30) == 0


def test_pmctl_page_command_lines(pmd, tmp_path):
    port = str(free_port())
    editor = tmp_path / "editor"
    editor.write_text("#!/bin/sh\nprintf '[app:worker]\\ncommand = sleep 1000\\n' >> \"$1\"\n")
    editor.chmod(0o755)
    pmd.start()
    env = dict(pmd.env, EDITOR=str(editor), HOME=str(tmp_path))
    out = {}
    for prompt, cmd, _ in doc_lines("man/pmctl.1"):
        run = (cmd.replace("pmctl", PMCTL).replace("8000", port)
               .replace("~/.pmd/pmd.conf", str(pmd.home / "pmd.conf")))
        out[cmd] = sh(run, env, tmp_path)
        if "-i 4" in cmd:
            pmd.wait_status("web", "online", count=4)
    pids = {w["pid"] for w in pmd.workers("web")}
    jq = next(v for k, v in out.items() if "jq" in k)
    assert {int(x) for x in jq.split()} == pids and len(pids) == 2
    assert "added: worker" in out["pmctl reload-config"]
    pmd.wait_status("worker", "online")


def test_pmd_page_command_lines(pmd, tmp_path):
    lines = doc_lines("man/pmd.8")
    # $ PMD_HOME=/tmp/demo pmd -c conf/example.conf, in the source tree.
    prompt, cmd, _ = lines[0]
    assert cmd == "PMD_HOME=/tmp/demo pmd -c conf/example.conf"
    demo = tmp_path / "demo"
    env = dict(pmd.env)
    env.pop("PMD_HOME")
    p = subprocess.Popen(["sh", "-c", "exec env " + cmd.replace("/tmp/demo", str(demo))
                          .replace("pmd -c", f"{PMD} -c")], env=env, cwd=ROOT,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: subprocess.run([PMCTL, "ping"], env=dict(env, PMD_HOME=str(demo)),
                                          capture_output=True).returncode == 0,
                   what="pmd on /tmp/demo")
        r = subprocess.run([PMCTL, "--json", "list"], env=dict(env, PMD_HOME=str(demo)),
                           capture_output=True, text=True)
        assert '"hello"' in r.stdout
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(30) == 0
    # The system install: make install into a DESTDIR, the app file,
    # then pmd on it and pmctl save.
    dest = tmp_path / "dest"
    for prompt, cmd, body in lines[1:]:
        assert prompt == "# "
        if cmd == "make install":
            sh(f"make -s install DESTDIR={dest}", env, ROOT, timeout=300)
            assert (dest / "etc/pmd/examples/worker.sh").exists()
        elif cmd.startswith("cat > "):
            path = dest / cmd[len("cat > /"):]
            assert body[-1] == "^D"
            path.write_text("\n".join(body[:-1]).replace(
                "/etc/pmd/examples", str(dest / "etc/pmd/examples")) + "\n")
            pmd.start()
            pmd.ok("start", path)
            pmd.wait_status("hello", "online", count=2)
        elif cmd == NEEDS_SYSTEMD:
            continue
        else:
            assert cmd == "pmctl save"
            sh(cmd.replace("pmctl", PMCTL), pmd.env, tmp_path)
            assert (pmd.home / "dump.json").exists() or any(pmd.home.glob("*dump*"))


SERVER_JS = """
const http = require('http');
const port = Number(process.argv[process.argv.indexOf('--port') + 1]);
http.createServer((req, res) => res.end(`${process.pid}\\n`)).listen(port);
"""


def test_readme_main_config_example_stays_online(pmd, tmp_path):
    """The README's [app:api] as shown: instances = max of a server that
    binds its --port itself, no listen. Every instance stays online,
    unrestarted, and they share the port."""
    text = open(os.path.join(ROOT, "README.md")).read()
    block = next(b for b in re.findall(r"```ini\n(.*?)```", text, re.S) if "[app:api]" in b)
    port = free_port()
    (tmp_path / "server.js").write_text(SERVER_JS)
    conf = block.replace("/srv/api", str(tmp_path)).replace("8080", str(port))
    assert f"node server.js --port {port}" in conf and "listen" not in conf
    pmd.start(conf)
    n = os.cpu_count()
    pmd.wait_status("api", "online", count=n, timeout=20)
    wait_until(lambda: all(w["uptime_ms"] >= 2000 for w in pmd.workers("api")),
               timeout=20, what="api up 2s")
    ws = pmd.workers("api")
    assert all(w["status"] == "online" and w["restarts"] == 0 for w in ws), ws
    seen = set()

    def get():
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/")
        seen.add(int(c.getresponse().read()))
        c.close()
        return seen == {w["pid"] for w in ws}
    wait_until(get, timeout=20, what="every instance to answer")
