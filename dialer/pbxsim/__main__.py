"""dialer-pbxsim command line."""
import argparse
import signal
import sys

from . import control, managerconf, scenario as scenario_mod
from .server import Sim

DESCRIPTION = """\
An Asterisk Manager Interface (AMI) stand-in: accepts AMI logins and Originates like
Asterisk 20/22 and plays each call out with the events real Asterisk sends, following a
YAML scenario (outcome per number, ring/talk times, capacity, faults). Every originate is
recorded as JSON lines. No calls are placed.
"""

EPILOG = """\
control commands (--control SOCKET, or `dialer-pbxsim ctl SOCKET COMMAND`):
  fault drop                     close every AMI connection
  fault hang [seconds=N]         keep TCP open but stop reading and answering
  fault resume                   end a hang
  fault restart [seconds=N]      Shutdown event, close, refuse connections N s (default 2)
  fault crash [seconds=N]        close without any event, refuse connections N s (default 1)
  fault writetimeout ms=N        drop clients that do not read for N ms
  stats                          JSON counters
  stop                           exit cleanly

exit status: 0 stopped cleanly, 2 bad option, manager.conf or scenario.
See docs/pbxsim.md for the scenario format and the record format; an example scenario
is installed as dialer/pbxsim/data/example-scenario.yaml.
"""


def build_parser():
    p = argparse.ArgumentParser(prog="dialer-pbxsim", description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--manager-conf", metavar="FILE",
                   help="Asterisk manager.conf (with #include, manager.d/): users, secrets, "
                        "read/write classes, deny/permit, bindaddr, port, channelvars, "
                        "writetimeout. Default: built-in user dialer/1234 on 127.0.0.1:5038, "
                        "read=call,system,user write=originate,call,reporting")
    p.add_argument("--scenario", metavar="FILE", help="YAML scenario (default: every call "
                   "answers after 0.3 s and hangs up after 2 s)")
    p.add_argument("--bindaddr", metavar="ADDR", help="listen address (overrides manager.conf)")
    p.add_argument("--port", type=int, metavar="N", help="AMI port (overrides manager.conf; 0 = any free port)")
    p.add_argument("--driver", choices=("sip", "pjsip"),
                   help="Asterisk 20 with chan_sip+chan_pjsip (sip, default) or Asterisk 22 "
                        "with chan_pjsip only (pjsip: SIP/... is an unknown technology)")
    p.add_argument("--banner", metavar="TEXT", help="AMI banner (default 'Asterisk Call Manager/9.0.0')")
    p.add_argument("--channelvars", metavar="LIST",
                   help="comma list of variables shown as ChanVariable on channel events "
                        "(overrides manager.conf)")
    p.add_argument("--record", metavar="FILE", help="append a JSON line per originate and per call end")
    p.add_argument("--control", metavar="SOCKET", help="Unix socket for control commands (see below)")
    p.add_argument("--seed", type=int, help="random seed (overrides the scenario's seed)")
    p.add_argument("--authtimeout", type=float, metavar="S",
                   help="close sessions not logged in after S seconds (default 30)")
    p.add_argument("--writetimeout", type=int, metavar="MS",
                   help="drop clients that do not read for MS ms (default: per user, 100)")
    p.add_argument("--auth-fail-delay", type=float, default=1.0, metavar="S",
                   help="delay before 'Authentication failed' (Asterisk: 1 s)")
    p.add_argument("--shutdown-delay", type=float, default=1.0, metavar="S",
                   help="on restart, seconds between the hangups and the Shutdown event (default 1)")
    p.add_argument("--max-channels", type=int, metavar="N",
                   help="calls beyond N live channels fail like a full trunk (503, cause 34)")
    p.add_argument("--cps", type=float, metavar="N", help="calls per second beyond N fail the same way")
    p.add_argument("--quiet", action="store_true", help="no log lines on stderr")
    return p


def ctl_main(argv):
    if len(argv) < 2:
        print("usage: dialer-pbxsim ctl SOCKET COMMAND...", file=sys.stderr)
        return 2
    try:
        text = control.send(argv[0], " ".join(argv[1:]), timeout=5)
    except OSError as e:
        print(f"dialer-pbxsim ctl: {argv[0]}: {e.strerror or e}", file=sys.stderr)
        return 2
    print(text)
    return 0 if text.startswith("ok") else 1


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["ctl"]:
        return ctl_main(argv[1:])
    args = build_parser().parse_args(argv)

    def log(msg):
        if not args.quiet:
            print(f"dialer-pbxsim: {msg}", file=sys.stderr, flush=True)

    try:
        conf = (managerconf.load(args.manager_conf) if args.manager_conf
                else managerconf.default_conf())
        sc = scenario_mod.load(args.scenario)
    except (managerconf.ConfigError, scenario_mod.ScenarioError) as e:
        print(f"dialer-pbxsim: {e}", file=sys.stderr)
        return 2
    if args.seed is not None:
        sc.rng.seed(args.seed)
    if args.max_channels is not None:
        sc.max_channels = args.max_channels
    if args.cps is not None:
        sc.cps = args.cps
    if args.channelvars is not None:
        conf.channelvars = [v.strip() for v in args.channelvars.split(",") if v.strip()]
    if not conf.enabled:
        log(f"{conf.path}: [general] enabled = no; serving anyway")
    sim = Sim(conf, sc, host=args.bindaddr, port=args.port, driver=args.driver,
              banner=args.banner, record_path=args.record, control_path=args.control,
              authtimeout=args.authtimeout, writetimeout=args.writetimeout,
              auth_fail_delay=args.auth_fail_delay, shutdown_delay=args.shutdown_delay, log=log)
    try:
        sim.start()
    except OSError as e:
        print(f"dialer-pbxsim: cannot listen on {sim.host}:{sim.port}: {e.strerror or e}",
              file=sys.stderr)
        return 2

    def stop(signum, frame):
        sim.stopping = True
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log(f"listening on {sim.host}:{sim.port} driver={sim.driver} users={','.join(conf.users)}")
    sim.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
