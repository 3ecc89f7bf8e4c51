"""The Ansible roles (ansible/): lint, argument checks, and the whole playbook converging on
this machine with Debian 12's ansible and with a current ansible-core.

The converge test runs ansible/site.yml with connection local against the example
inventory's group_vars, overridden for this machine: a unique database and user on the test
MariaDB, a temporary Asterisk configuration directory (there is no Asterisk here) holding a
stock manager.conf, the .deb from `make deb`, and temporary Prometheus/Grafana paths. Then it
checks what a sysadmin would: a second run changes nothing, --check --diff is clean and shows
no secret, the installed `dialer` counts a campaign in the database the role created, and the
installed dialer-pbxsim reading the role's manager.conf lets the role's AMI user in and
refuses what its grants do not allow, and the vault's first admin logs in to the installed
dialer-web. It removes everything it installed afterwards.
Tools: `make deps-ansible` (part of `make test`).
"""
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pymysql
import pytest

from tests.conftest import ROOT, mysql_connect, mysql_server
from tests.plugins.pbxsim import AmiClient, free_port, msg_get
from tests.plugins.webops import console_login

ANSIBLE_DIR = ROOT / "ansible"
CURRENT_VENV = ROOT / "build" / "ansible-current"
DEBIAN_COLLECTIONS = "/usr/lib/python3/dist-packages"

# Asterisk's stock manager.conf, shortened: AMI disabled, listening on every address.
STOCK_MANAGER_CONF = """\
;
; AMI - The Asterisk Manager Interface
;
[general]
enabled = no
;webenabled = yes

port = 5038
bindaddr = 0.0.0.0

;displayconnects = yes
;channelvars = var1,var2,var3

;[mark]
;secret = mysecret
;deny=0.0.0.0/0.0.0.0
;permit=209.16.236.73/255.255.255.0
;read = system,call,log,verbose,command,agent,user,config,dtmf,reporting,cdr,dialplan
;write = system,call,log,verbose,command,agent,user,config,dtmf,reporting,cdr,dialplan
"""

# Debian 12's /etc/prometheus/prometheus.yml, shortened.
STOCK_PROMETHEUS_YML = """\
# Sample config for Prometheus.

global:
  scrape_interval:     15s
  evaluation_interval: 15s

# Load rules once and periodically evaluate them according to the global 'evaluation_interval'.
rule_files:
  # - "first_rules.yml"

scrape_configs:
  # The job name is added as a label `job=<job_name>` to any timeseries scraped from this config.
  - job_name: 'prometheus'
    static_configs:
      - targets: ['localhost:9090']
"""

TOOLCHAINS = {
    "debian": {"bin": Path("/usr/bin"), "env": {}},
    "current": {"bin": CURRENT_VENV / "bin",
                "env": {"ANSIBLE_COLLECTIONS_PATH": DEBIAN_COLLECTIONS}},
}


def toolchain_env(name):
    tc = TOOLCHAINS[name]
    if not (tc["bin"] / "ansible-playbook").exists():
        pytest.fail(f"{tc['bin']}/ansible-playbook is missing: run `make deps-ansible`")
    env = dict(os.environ)
    env.update(tc["env"])
    env["PATH"] = f"{tc['bin']}:{env['PATH']}"
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    # the test's own inventory decides; no ansible.cfg from the caller's environment
    env.pop("ANSIBLE_CONFIG", None)
    return env


def run(cmd, env, cwd=ANSIBLE_DIR, timeout=900):
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def recap(output):
    """{'ok': n, 'changed': n, ...} of localhost from a PLAY RECAP."""
    m = re.search(r"^localhost\s*:\s*(.*)$", output.split("PLAY RECAP")[-1], re.M)
    assert m, f"no PLAY RECAP for localhost in:\n{output[-3000:]}"
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))}


def changed_tasks(output):
    """The TASK headers under which something reported changed, for failure messages."""
    found, task = [], None
    for line in output.splitlines():
        if line.startswith(("TASK [", "RUNNING HANDLER [")):
            task = line.rstrip("* ")
        elif line.startswith("changed:") and task and task not in found:
            found.append(task)
    return "\n".join(found)


# ------------------------------------------------------------------------------------------
# lint and argument checks (quick)

@pytest.mark.parametrize("toolchain", ["debian", "current"])
def test_ansible_lint_production_profile_is_clean(toolchain):
    env = toolchain_env(toolchain)
    proc = run(["ansible-lint", "--offline", "--profile", "production"], env)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def write_inventory(tmp_path, extra_vars):
    inv = tmp_path / "inventory"
    inv.mkdir()
    (inv / "hosts.yml").write_text(
        "all:\n"
        "  vars:\n"
        "    ansible_connection: local\n"
        "    ansible_python_interpreter: /usr/bin/python3\n"
        "  children:\n"
        + "".join(f"    {g}:\n      hosts:\n        localhost:\n"
                  for g in ("dialer_db", "asterisk", "dialer", "dialer_web", "monitoring")))
    shutil.copytree(ANSIBLE_DIR / "inventory" / "group_vars", inv / "group_vars")
    varsfile = tmp_path / "vars.json"
    varsfile.write_text(json.dumps(extra_vars))
    return inv, varsfile


def role_play(tmp_path, role, role_vars):
    """A one-role playbook on localhost; returns (playbook, inventory)."""
    pb = tmp_path / "play.yml"
    pb.write_text(
        "- name: One role\n  hosts: localhost\n  gather_facts: false\n  roles:\n"
        f"    - role: {ANSIBLE_DIR / 'roles' / role}\n      vars: {json.dumps(role_vars)}\n")
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
                   "      ansible_python_interpreter: /usr/bin/python3\n")
    return pb, inv


def test_wrong_variable_type_is_a_clear_error(tmp_path):
    (tmp_path / "ast").mkdir()
    (tmp_path / "ast" / "manager.conf").write_text(STOCK_MANAGER_CONF)
    pb, inv = role_play(tmp_path, "asterisk_manager", {
        "asterisk_manager_config_dir": str(tmp_path / "ast"), "asterisk_manager_secret": "x1",
        "asterisk_manager_port": "five-thousand"})
    proc = run(["ansible-playbook", "-i", inv, pb], toolchain_env("debian"))
    assert proc.returncode != 0
    assert "argument 'asterisk_manager_port' is of type" in proc.stdout, proc.stdout
    assert "unable to convert to int" in proc.stdout
    assert not (tmp_path / "ast" / "manager.d").exists()


def test_asterisk_manager_refuses_write_system(tmp_path):
    (tmp_path / "ast").mkdir()
    (tmp_path / "ast" / "manager.conf").write_text(STOCK_MANAGER_CONF)
    pb, inv = role_play(tmp_path, "asterisk_manager", {
        "asterisk_manager_config_dir": str(tmp_path / "ast"), "asterisk_manager_secret": "x1",
        "asterisk_manager_write": ["system", "call", "originate"]})
    proc = run(["ansible-playbook", "-i", inv, pb], toolchain_env("debian"))
    assert proc.returncode != 0
    assert "run shell commands on the PBX" in proc.stdout, proc.stdout
    assert not (tmp_path / "ast" / "manager.d").exists()


def test_asterisk_manager_refuses_a_hand_written_dialer_user(tmp_path):
    """The manual's own sample (write = system) already in manager.conf: stop, do not merge."""
    (tmp_path / "ast").mkdir()
    (tmp_path / "ast" / "manager.conf").write_text(
        STOCK_MANAGER_CONF + "\n[dialer]\nsecret = 1234\nread = system,call,user,originate\n"
        "write = system,call,user,originate\n")
    pb, inv = role_play(tmp_path, "asterisk_manager", {
        "asterisk_manager_config_dir": str(tmp_path / "ast"), "asterisk_manager_secret": "x1"})
    proc = run(["ansible-playbook", "-i", inv, pb], toolchain_env("debian"))
    assert proc.returncode != 0
    assert "already has a [dialer] section" in proc.stdout, proc.stdout


def test_dialer_role_refuses_a_value_that_would_become_a_comment(tmp_path):
    pb, inv = role_play(tmp_path, "dialer", {
        "dialer_asterisk_password": "a ;b", "dialer_campaigns": [{"name": "sales"}]})
    proc = run(["ansible-playbook", "-i", inv, pb], toolchain_env("debian"))
    assert proc.returncode != 0
    assert "bad values for: asteriskpassword" in proc.stdout, proc.stdout
    assert "a ;b" not in proc.stdout


@pytest.mark.parametrize("role_vars,message", [
    ({"dialer_web_certfile": "/etc/ssl/web.pem"}, "dialer_web_certfile and\ndialer_web_keyfile both or neither"),
    ({"dialer_web_nginx": True}, "dialer_web_nginx needs dialer_web_nginx_certificate"),
    ({"dialer_web_admin_user": "admin"}, "dialer_web_admin_user needs dialer_web_admin_password"),
    ({"dialer_web_listen": "127.0.0.1:8080 ;x"}, "(bad: weblisten)"),
])
def test_dialer_web_role_refuses_inconsistent_variables(tmp_path, role_vars, message):
    pb, inv = role_play(tmp_path, "dialer_web", role_vars)
    proc = run(["ansible-playbook", "-i", inv, pb], toolchain_env("debian"))
    assert proc.returncode != 0
    assert " ".join(message.split()) in " ".join(proc.stdout.split()), proc.stdout
    assert "Install the package" not in proc.stdout   # stopped before touching the host


def test_dialer_web_nginx_site_forwards_to_dialer_web(tmp_path):
    """The nginx template with the role's defaults and vars: TLS, the upload size, the upstream."""
    role = ANSIBLE_DIR / "roles" / "dialer_web"
    out = tmp_path / "site.conf"
    pb = tmp_path / "render.yml"
    pb.write_text(
        "- name: Render\n  hosts: localhost\n  gather_facts: false\n"
        f"  vars_files: [{role / 'defaults' / 'main.yml'}, {role / 'vars' / 'main.yml'}]\n"
        "  tasks:\n    - name: Site\n      ansible.builtin.template:\n"
        f"        src: {role / 'templates' / 'nginx-dialer-web.conf.j2'}\n        dest: {out}\n        mode: '0644'\n")
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
                   "      ansible_python_interpreter: /usr/bin/python3\n")
    extra = {"dialer_web_listen": "0.0.0.0:8081", "dialer_web_maxupload": 200,
             "dialer_web_nginx_server_name": "dialer.example.com", "dialer_web_nginx_certificate": "/etc/ssl/d.pem",
             "dialer_web_nginx_certificate_key": "/etc/ssl/d.key"}
    proc = run(["ansible-playbook", "-i", inv, pb, "-e", json.dumps(extra)], toolchain_env("debian"))
    assert proc.returncode == 0, proc.stdout
    site = out.read_text()
    assert "proxy_pass http://127.0.0.1:8081;" in site          # 0.0.0.0 is not an address to connect to
    assert "client_max_body_size 200m;" in site and "server_name dialer.example.com;" in site
    assert "ssl_certificate /etc/ssl/d.pem;" in site and "ssl_certificate_key /etc/ssl/d.key;" in site
    assert "proxy_set_header X-Forwarded-Proto https;" in site and "return 301 https://$host$request_uri;" in site
    assert '"$request_method $uri $server_protocol"' in site and "$request " not in site   # no query strings


@pytest.mark.mysql
def test_mariadb_role_unix_socket_user_has_no_password_and_no_tcp_account(tmp_path):
    host, port, admin, admin_password = mysql_server()
    name = "dlr_ans_" + secrets.token_hex(4)
    pb, inv = role_play(tmp_path, "mariadb", {
        "mariadb_install_server": False, "mariadb_database": name, "mariadb_user": name,
        "mariadb_auth": "unix_socket", "mariadb_login_unix_socket": "",
        "mariadb_login_host": host, "mariadb_login_port": port,
        "mariadb_login_user": admin, "mariadb_login_password": admin_password})
    env = toolchain_env("debian")
    try:
        first = run(["ansible-playbook", "-i", inv, pb], env)
        assert first.returncode == 0, first.stdout[-4000:]
        again = run(["ansible-playbook", "-i", inv, pb], env)
        assert recap(again.stdout)["changed"] == 0, changed_tasks(again.stdout)
        conn = mysql_connect()
        with conn.cursor() as cur:
            cur.execute("SELECT Host FROM mysql.user WHERE User = %s", (name,))
            assert [r[0] for r in cur.fetchall()] == ["localhost"]
            cur.execute(f"SHOW CREATE USER `{name}`@localhost")
            assert "IDENTIFIED VIA unix_socket" in cur.fetchone()[0]
            cur.execute(f"SHOW GRANTS FOR `{name}`@localhost")
            grants = " ".join(r[0] for r in cur.fetchall())
        conn.close()
        assert f"ON `{name}`.*" in grants and "ALL PRIVILEGES" not in grants and "GRANT OPTION" not in grants
    finally:
        drop_db_and_user(name)


def test_monitoring_role_creates_missing_sections_and_is_idempotent(tmp_path):
    prom = tmp_path / "prometheus.yml"
    prom.write_text("global:\n  scrape_interval: 15s\n")
    pb, inv = role_play(tmp_path, "monitoring", {
        "monitoring_prometheus_config": str(prom),
        "monitoring_prometheus_rules_path": str(tmp_path / "dialer-alerts.yml"),
        "monitoring_scrape_targets": ["10.1.2.3:9317"], "monitoring_grafana": False})
    env = toolchain_env("debian")
    first = run(["ansible-playbook", "-i", inv, pb], env)
    assert first.returncode == 0, first.stdout[-4000:]
    text = prom.read_text()
    assert text.startswith("global:\n  scrape_interval: 15s\n")
    assert "rule_files:\n  - \"%s\"" % (tmp_path / "dialer-alerts.yml") in text
    assert 'scrape_configs:\n  - job_name: "dialer"' in text and '["10.1.2.3:9317"]' in text
    if Path("/usr/bin/promtool").exists():
        check = subprocess.run(["/usr/bin/promtool", "check", "config", prom], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
    again = run(["ansible-playbook", "-i", inv, pb], env)
    assert recap(again.stdout)["changed"] == 0, changed_tasks(again.stdout)
    assert prom.read_text() == text


# ------------------------------------------------------------------------------------------
# the whole playbook against this machine

def deb_path():
    # Always from the current tree: a .deb left in dist/ may be older than the code.
    proc = subprocess.run(["make", "-s", "deb"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"make deb failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    debs = sorted(ROOT.glob("dist/dialer_*_all.deb"))
    assert debs, "make deb produced no dist/dialer_*_all.deb"
    return debs[-1]


def package_installed():
    proc = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "dialer"], capture_output=True, text=True)
    return proc.stdout.strip() == "install ok installed"


def wait_port(host, port, proc):
    for _ in range(200):
        if proc.poll() is not None:
            pytest.fail(f"{proc.args} exited with {proc.returncode}: {proc.stderr.read()}")
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"{proc.args} does not listen on {host}:{port}")


def drop_db_and_user(name):
    conn = mysql_connect()
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        for host in ("localhost", "127.0.0.1", "::1"):
            cur.execute("DROP USER IF EXISTS %s@%s", (name, host))
    conn.close()


@pytest.mark.slow
@pytest.mark.mysql
@pytest.mark.parametrize("toolchain", ["debian", "current"])
def test_site_playbook_converges_on_this_machine(toolchain, tmp_path, dialer_package_lock):
    env = toolchain_env(toolchain)
    deb = deb_path()
    host, port, admin, admin_password = mysql_server()
    name = "dlr_ans_" + secrets.token_hex(4)
    db_password = "db-" + secrets.token_hex(12)
    ami_secret = "ami-" + secrets.token_hex(12)
    web_password = "web-" + secrets.token_hex(12)
    ami_port, web_port = free_port(), free_port()
    astdir = tmp_path / "asterisk"
    astdir.mkdir()
    (astdir / "manager.conf").write_text(STOCK_MANAGER_CONF)
    (astdir / "extensions.conf").write_text("[general]\nstatic=yes\n\n[default]\nexten => s,1,Hangup()\n")
    promdir = tmp_path / "prometheus"
    promdir.mkdir()
    (promdir / "prometheus.yml").write_text(STOCK_PROMETHEUS_YML)
    grafana = tmp_path / "grafana"
    (grafana / "provisioning").mkdir(parents=True)
    campaigns = [f"{name}_sales", f"{name}_survey"]
    extra = {
        "vault_dialer_mysql_password": db_password,
        "vault_dialer_ami_secret": ami_secret,
        "vault_dialer_web_admin_password": web_password,
        "dialer_web_listen": f"127.0.0.1:{web_port}",
        # the test server: already running outside systemd, root without a password over TCP
        "mariadb_database": name, "mariadb_user": name,
        "mariadb_login_unix_socket": "", "mariadb_login_host": host, "mariadb_login_port": port,
        "mariadb_login_user": admin, "mariadb_login_password": admin_password,
        "asterisk_manager_config_dir": str(astdir), "asterisk_manager_port": ami_port,
        "asterisk_manager_dspmode_dialplan": True,
        "dialer_deb": str(deb),
        "dialer_mysql_host": host, "dialer_mysql_port": port,
        "dialer_campaigns": [
            {"name": campaigns[0], "uri": "http://127.0.0.1/sales.vxml", "maxlines": 20},
            {"name": campaigns[1], "active": False, "timeslot": "mon-sat 10h-19h"},
        ],
        "monitoring_prometheus_config": str(promdir / "prometheus.yml"),
        "monitoring_prometheus_rules_path": str(promdir / "dialer-alerts.yml"),
        "monitoring_grafana_provisioning_dir": str(grafana / "provisioning"),
        "monitoring_grafana_dashboards_dir": str(grafana / "dashboards"),
        "monitoring_grafana_group": "root",
    }
    inv, varsfile = write_inventory(tmp_path, extra)
    playbook = ["ansible-playbook", "-i", inv, "site.yml", "-e", f"@{varsfile}"]
    was_installed = package_installed()
    sim = None
    try:
        # a preview on the fresh machine: no package, no database yet, nothing changed by it
        preview = run(playbook + ["--check", "--diff"], env)
        assert preview.returncode == 0, preview.stdout[-6000:] + preview.stderr[-3000:]
        assert not package_installed() or was_installed
        assert not (astdir / "manager.d").exists()

        first = run(playbook, env)
        assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-3000:]
        assert recap(first.stdout)["changed"] > 0
        # no systemd as PID 1 here: every role says what it did not do, visibly
        for note in ("does not enable or start\nmariadb.service", "dialer.service was not enabled or started",
                     "dialer-web.service was not enabled or started",
                     "`manager reload` skipped", "Prometheus not reloaded"):
            assert note.split("\n")[0] in first.stdout, f"missing note {note!r}:\n{first.stdout[-4000:]}"

        second = run(playbook, env)
        assert second.returncode == 0, second.stdout[-6000:]
        assert recap(second.stdout)["changed"] == 0, changed_tasks(second.stdout) or second.stdout[-8000:]

        check = run(playbook + ["--check", "--diff"], env)
        assert check.returncode == 0, check.stdout[-6000:]
        result = recap(check.stdout)
        assert result["failed"] == 0, check.stdout[-6000:]
        assert result["changed"] == 0, changed_tasks(check.stdout)
        for label, out in (("preview", preview), ("first", first), ("second", second), ("check", check)):
            (tmp_path / f"{label}.log").write_text(out.stdout + out.stderr)
            assert db_password not in out.stdout + out.stderr
            assert ami_secret not in out.stdout + out.stderr
            assert web_password not in out.stdout + out.stderr
            # also catches what a newer ansible-core deprecates
            assert "[WARNING]" not in out.stdout + out.stderr, label
            assert "[DEPRECATION WARNING]" not in out.stdout + out.stderr, label

        # the installed package and the configuration it was given
        assert package_installed()
        st = os.stat("/etc/dialer.conf")
        assert (oct(st.st_mode & 0o777), st.st_uid) == ("0o640", 0)
        assert subprocess.run(["stat", "-c", "%G", "/etc/dialer.conf"], capture_output=True,
                              text=True).stdout.strip() == "dialer"
        for c in campaigns:
            assert Path(f"/etc/dialer.d/{c}.conf").is_file()
        count = subprocess.run(["/usr/bin/dialer", "-a", "count", "-c", campaigns[0]],
                               capture_output=True, text=True, timeout=60)
        assert (count.returncode, count.stdout.strip()) == (0, "0"), count.stdout + count.stderr
        insert = subprocess.run(["/usr/bin/dialer", "-a", "insert", "-c", campaigns[0], "-p", "33123456789"],
                                capture_output=True, text=True, timeout=60)
        assert insert.returncode == 0, insert.stdout + insert.stderr
        count = subprocess.run(["/usr/bin/dialer", "-a", "count", "-c", campaigns[0]],
                               capture_output=True, text=True, timeout=60)
        assert count.stdout.strip() == "1", count.stdout + count.stderr

        # least privilege in the database: its own tables yes, another database no
        conn = pymysql.connect(host=host, port=port, user=name, password=db_password, database=name)
        with conn.cursor() as cur:
            cur.execute("SHOW TABLES")
            assert {r[0] for r in cur.fetchall()} >= set(campaigns)
            with pytest.raises(pymysql.err.OperationalError, match="Access denied"):
                cur.execute(f"CREATE DATABASE `{name}_other`")
        conn.close()

        # the AMI account, as the role wrote it, through the installed simulator
        manager_conf = (astdir / "manager.conf").read_text()
        assert manager_conf.startswith(STOCK_MANAGER_CONF) and '#include "manager.d/*.conf"' in manager_conf
        sim = subprocess.Popen(["/usr/bin/dialer-pbxsim", "--manager-conf", astdir / "manager.conf", "--quiet",
                                "--auth-fail-delay", "0.1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_port("127.0.0.1", ami_port, sim)
        ami = AmiClient("127.0.0.1", ami_port)
        assert ami.banner.startswith("Asterisk Call Manager")
        login = ami.login(user="dialer", secret=ami_secret)
        assert msg_get(login, "Response") == "Success", login
        for action, headers, expected in (("Command", {"Command": "core show version"}, "Error"),
                                          ("CoreShowChannels", {}, "Success")):
            ami.action(action, ActionID=action, **headers)
            reply = ami.read_until(lambda m, a=action: msg_get(m, "ActionID") == a
                                   and msg_get(m, "Response") is not None)[-1]
            assert msg_get(reply, "Response") == expected, (action, reply)
            if expected == "Error":  # outside write = originate,call,reporting
                assert "Permission denied" in msg_get(reply, "Message", ""), reply
        ami.close()
        wrong = AmiClient("127.0.0.1", ami_port)
        assert msg_get(wrong.login(user="dialer", secret="1234"), "Response") == "Error"
        wrong.close()

        # the web console: its keys in a drop-in, and the vault's admin logs in to the installed dialer-web
        st = os.stat("/etc/dialer.d/00-web.conf")
        assert (oct(st.st_mode & 0o777), st.st_uid) == ("0o640", 0)
        assert f"weblisten = 127.0.0.1:{web_port}" in Path("/etc/dialer.d/00-web.conf").read_text()
        web = subprocess.Popen(["runuser", "-u", "dialer", "--", "/usr/bin/dialer-web"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
        try:
            wait_port("127.0.0.1", web_port, web)
            console_login(f"http://127.0.0.1:{web_port}", "admin", web_password)
        finally:
            web.terminate()
            web.wait(timeout=60)

        # dspmode: the dialplan snippet, included from extensions.conf
        assert (astdir / "extensions-dialer.conf").read_text() == \
            (ROOT / "dialer" / "data" / "extensions-dialer.conf").read_text()
        assert (astdir / "extensions.conf").read_text().endswith('#include "extensions-dialer.conf"\n')

        # a campaign dropped from the inventory loses its file (not a hand-written one)
        Path("/etc/dialer.d/zz-local.conf").write_text(f"[{campaigns[0]}]\nmaxlines = 5\n")
        extra["dialer_campaigns"] = extra["dialer_campaigns"][:1]
        varsfile.write_text(json.dumps(extra))
        shrink = run(playbook, env)
        assert shrink.returncode == 0, shrink.stdout[-6000:]
        assert not Path(f"/etc/dialer.d/{campaigns[1]}.conf").exists()
        assert Path(f"/etc/dialer.d/{campaigns[0]}.conf").exists() and Path("/etc/dialer.d/zz-local.conf").exists()
        assert "Reload dialer.service" in shrink.stdout or "dialer.service not reloaded" in shrink.stdout

        # monitoring: the scrape job and rules went into the (temporary) prometheus.yml
        prom = (promdir / "prometheus.yml").read_text()
        assert "job_name: \"dialer\"" in prom and str(promdir / "dialer-alerts.yml") in prom
        assert (grafana / "provisioning" / "dashboards" / "dialer.yaml").is_file()
    finally:
        if sim is not None:
            sim.terminate()
            sim.wait(timeout=30)
        if not was_installed:
            subprocess.run(["apt-get", "purge", "-y", "-qq", "dialer"], capture_output=True,
                           env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), timeout=300)
        for leftover in Path("/var/cache/apt/archives").glob("dialer_*_all.deb"):
            leftover.unlink()
        drop_db_and_user(name)
    if not was_installed:
        assert not package_installed()
        assert not Path("/etc/dialer.conf").exists() and not Path("/etc/dialer.d").exists()
