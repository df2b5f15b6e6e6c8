"""The deployment examples under conf/deploy/, tested as far as this machine
can: Prometheus' files with promtool (and the alerts against series as
pmd exports them), the container config under pmd --container, and the
Dockerfile, Deployment and Ansible play checked against each other and
against the tree."""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess

import yaml

from conftest import PMD, ROOT, free_port, wait_until

DEPLOY = os.path.join(ROOT, "conf", "deploy")


def promtool(*args):
    r = subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120,
                       cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_prometheus_files():
    assert "SUCCESS" in promtool("check", "config", "conf/deploy/prometheus.yml")
    assert "5 rules found" in promtool("check", "rules", "conf/deploy/pmd-alerts.yml")
    assert "SUCCESS" in promtool("test", "rules", "tests/prom/pmd-alerts-test.yml")


def http_get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    return r.status, body


def test_container_conf_runs_under_pmd_container(pmd, tmp_path):
    web, metrics = free_port(), free_port()
    text = open(os.path.join(DEPLOY, "container.conf")).read()
    conf = tmp_path / "container.conf"
    conf.write_text(text.replace("/app/hello-web.py", os.path.join(ROOT, "conf", "hello-web.py"))
                    .replace(":8000", f":{web}").replace(":9615", f":{metrics}"))
    env = dict(pmd.env)
    p = subprocess.Popen([PMD, "--container", "-c", str(conf)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        wait_until(lambda: _ok(metrics), timeout=20, what="/healthz to say ok")
        status, body = http_get(web, "/")
        assert status == 200 and body.startswith("hello from worker")
        status, text = http_get(metrics, "/metrics")
        assert 'pmd_app_instances_online{app="web"} %d' % os.cpu_count() in text
    finally:
        p.send_signal(signal.SIGTERM)
        out = p.communicate(timeout=30)[0]
    assert p.returncode == 0
    assert "web:0 | " in out


def _ok(port):
    try:
        return http_get(port, "/healthz")[0] == 200
    except OSError:
        return False


def test_kubernetes_deployment_fits_the_container():
    docs = list(yaml.safe_load_all(open(os.path.join(DEPLOY, "k8s.yaml"))))
    dep = next(d for d in docs if d["kind"] == "Deployment")
    pod = dep["spec"]["template"]
    c = pod["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    conf = open(os.path.join(DEPLOY, "container.conf")).read()
    metrics_port = int(re.search(r"^metrics = tcp://[^:]+:(\d+)", conf, re.M).group(1))
    web_port = int(re.search(r"^listen = tcp://[^:]+:(\d+)", conf, re.M).group(1))
    assert ports == {"http": web_port, "metrics": metrics_port}
    for probe in ("readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    kill = int(re.search(r"^kill_timeout = (\d+)s", conf, re.M).group(1))
    assert pod["spec"]["terminationGracePeriodSeconds"] > kill
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(metrics_port)
    svc = next(d for d in docs if d["kind"] == "Service")
    assert svc["spec"]["selector"] == dep["spec"]["selector"]["matchLabels"]


def test_dockerfile_copies_what_exists_and_runs_the_container_conf():
    text = open(os.path.join(DEPLOY, "Dockerfile")).read()
    for src, dst in re.findall(r"^COPY (conf/\S+) (\S+)$", text, re.M):
        assert os.path.exists(os.path.join(ROOT, src)), src
    assert "COPY conf/deploy/container.conf /etc/pmd/container.conf" in text
    cmd = json.loads(re.search(r"^CMD (.*)$", text, re.M).group(1))
    assert cmd == ["pmd", "--container", "-c", "/etc/pmd/container.conf"]
    # The packages it installs are Debian 12's names.
    pkgs = set()
    for block in re.findall(r"apt-get install -y --no-install-recommends(.*?)&&", text, re.S):
        pkgs |= set(block.replace("\\", " ").split())
    r = subprocess.run(["apt-cache", "show", "--no-all-versions", *sorted(pkgs)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert sorted(re.findall(r"^Package: (\S+)$", r.stdout, re.M)) == sorted(pkgs)


def test_ansible_play_drops_an_app_file_pmd_loads(pmd, tmp_path):
    play = yaml.safe_load(open(os.path.join(DEPLOY, "ansible.yml")))[0]
    tasks = {t["name"]: t for t in play["tasks"]}
    copy = tasks["The app's file"]["ansible.builtin.copy"]
    content = copy["content"]
    for k, v in play["vars"].items():
        content = content.replace("{{ %s }}" % k, str(v))
    assert "{{" not in content
    assert play["handlers"][0]["ansible.builtin.command"] == "pmctl reload-config"
    (tmp_path / "apps.d").mkdir()
    app = tmp_path / "apps.d" / "web.conf"
    app.write_text(content.replace("python3 /srv/web/app.py", "sleep 1000"))
    pmd.start(f"[daemon]\ninclude = {tmp_path}/apps.d/*.conf\n")
    pmd.wait_status("web", "online", count=os.cpu_count())
