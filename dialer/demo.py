"""`make demo`: a whole campaign on one machine, with no database server and no Asterisk.

Starts dialer-pbxsim with a realistic mix of outcomes, creates a campaign on SQLite, imports a
generated list (with a few bad lines, to show what happens to them), runs `dialer` in the
foreground until the campaign is done, and prints the statistics. Meanwhile the web console
(dialer-web) runs on a free local port with a demo admin whose URL and password are printed;
from a terminal, it stays up after the campaign until Enter. Everything it writes is in
./demo/ (or the directory given as the first argument).
"""
import random
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

SCENARIO = """\
# A realistic day on a trunk, sped up: rings of 0.3-1.5 s, conversations of 0.5-3 s.
seed: 2026
rules:
  - tech: SIP
    outcomes:
      - {outcome: answer, weight: 40, ring: [0.3, 1.5], talk: [0.5, 3.0], status: 12}
      - {outcome: answer, weight: 15, ring: [0.3, 1.5], talk: [0.5, 2.0], userevents: true, result: 10}
      - {outcome: busy, weight: 12}
      - {outcome: noanswer, weight: 12}
      - {outcome: machine, weight: 6, ring: [0.3, 1.0], talk: 0.5, status: -3}
      - {outcome: congestion, weight: 5}
      - {outcome: unavailable, weight: 4}
      - {outcome: unallocated, weight: 4}
      - {outcome: fax, weight: 2, ring: 0.5, talk: 0.3, status: -6}
capacity:
  channels: 40
"""

CONFIG = """\
; dialer.conf of the demo: SQLite, the bundled PBX simulator, one campaign.
[general]
dbengine = sqlite
sqlitepath = {dir}/demo.sqlite
asteriskhost = 127.0.0.1
asteriskport = {port}
asteriskuser = dialer
asteriskpassword = 1234
metricsport = 0
statedir = {dir}
log = true
calllog = {dir}/calls.log
loopms = 250
weblisten = 127.0.0.1:{webport}
websecretfile = {dir}/web-secret

[default]
timeslot = 0h-24h

[demo]
mode = voximal
uri = http://127.0.0.1/demo/index.vxml
callerid = 5550100
dialformat = SIP/%s@demo-trunk
maxlines = 25
maxcaps = 10
attempts = 3
attemptsdelay = 3
timeout = 2000
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what):
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                sys.exit(f"demo: {what} did not start")
            time.sleep(0.05)


def dialer(conf, *args, check=True, stdin=None):
    cmd = [sys.executable, "-m", "dialer.cli", "-C", str(conf), *map(str, args)]
    print("$ dialer " + " ".join(map(str, args)), flush=True)
    proc = subprocess.run(cmd, input=stdin, text=True)
    if check and proc.returncode not in (0, 1):
        sys.exit(f"demo: `dialer {' '.join(map(str, args))}` failed with status {proc.returncode}")
    return proc.returncode


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    workdir = Path(argv[0] if argv else "demo").resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    port, webport = free_port(), free_port()
    (workdir / "scenario.yaml").write_text(SCENARIO)
    conf = workdir / "dialer.conf"
    conf.write_text(CONFIG.format(dir=workdir, port=port, webport=webport))
    rng = random.Random(7)
    lines = ["phone,param"] + [f"+33 6{rng.randrange(10**7, 10**8)},customer-{i}" for i in range(300)]
    lines[50] = "06 12 AB 34,letters are not a phone number"
    lines[120] = "12,too short"
    (workdir / "leads.csv").write_text("\n".join(lines) + "\n")

    print(f"demo: dialer-pbxsim on 127.0.0.1:{port}, files in {workdir}", flush=True)
    sim = subprocess.Popen([sys.executable, "-m", "dialer.pbxsim", "--port", str(port),
                            "--scenario", str(workdir / "scenario.yaml"),
                            "--record", str(workdir / "pbxsim-record.jsonl"), "--quiet"])
    web = None
    try:
        wait_port(port, sim, "dialer-pbxsim")
        dialer(conf, "-c", "demo", "-a", "create")
        dialer(conf, "-c", "demo", "-a", "file", "-p", workdir / "leads.csv")
        password = secrets.token_urlsafe(9)
        dialer(conf, "-a", "user-add", "-p", "admin", "--role", "admin", stdin=password + "\n")
        web = subprocess.Popen([sys.executable, "-m", "dialer.web.serve", "-f", str(conf)])
        wait_port(webport, web, "the web console")
        print(f"demo: web console at http://127.0.0.1:{webport}/ (user admin, password {password})", flush=True)
        started = time.monotonic()
        status = dialer(conf, check=False)
        print(f"demo: campaign finished in {time.monotonic() - started:.1f} s (exit status {status})", flush=True)
        dialer(conf, "-c", "demo", "-a", "statistics")
        if sys.stdin.isatty():
            try:
                input(f"demo: the console stays at http://127.0.0.1:{webport}/ (admin / {password}); "
                      "press Enter to stop it ")
            except (EOFError, KeyboardInterrupt):
                pass
    finally:
        for proc in (web, sim):
            if proc is not None:
                proc.terminate()
                proc.wait(10)
    print(f"\ndemo: see {workdir}/calls.log (one line per attempt), leads.csv.rejected, "
          f"`dialer -C {conf} -c demo -a fulldump`", flush=True)
    return 0 if status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
