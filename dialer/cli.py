"""The `dialer` command: the manual's options and actions, plus DNC/blacklist administration.

Every user error is one line `dialer: <message>` and an exit status:
0 ok, 1 partial, 2 usage/config/input error, 3 database unreachable or refused.
"""
import argparse
import json
import os
import sys
import time

from . import __version__
from .outputformat import FormatError, output_format

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_DB = 0, 1, 2, 3

ACTION_ALIASES = {"import": "file", "repair": "repare", "statitics": "statistics"}
CAMPAIGN_ACTIONS = ("create", "drop", "truncate", "upgrade", "repare", "file", "insert", "delete", "count", "dump",
                    "fulldump", "statistics", "explain")
DB_ACTIONS = ("createdatabase", "dropdatabase")
LIST_ACTIONS = tuple(f"{kind}-{op}" for kind in ("dnc", "blacklist")
                     for op in ("add", "delete", "import", "count", "dump"))
HISTORY_ACTIONS = ("history", "report", "historydump", "history-purge")
CONTROL_ACTIONS = ("pause", "resume", "nodes")
USER_ACTIONS = ("user-add", "user-passwd")
ACTIONS = DB_ACTIONS + CAMPAIGN_ACTIONS + LIST_ACTIONS + HISTORY_ACTIONS + CONTROL_ACTIONS + USER_ACTIONS

DESCRIPTION = """\
actions (-a):
  createdatabase  create the database          dropdatabase  drop the database
  create          create the campaign table    drop          drop the campaign table
  truncate        remove all the phones        repare        release leads left in progress by a crash
  file            import a file (-p FILE)      insert        add a phone (-p PHONE [PARAM])
  delete          delete a phone (-p PHONE)    count         phones in the campaign
  dump            CSV on stdout                fulldump      CSV with a header row
  statistics      statistics of the campaign   explain       why a lead is (not) dialable (-p PHONE)
  upgrade         add the dialer's columns to a campaign table of the original dialer
  dnc-add/-delete/-import/-count/-dump                 the global do-not-call list
  blacklist-add/-delete/-import/-count/-dump -c TABLE  a blacklist table
  history -p PHONE  every attempt to a number    historydump   the attempt history as CSV
  report [--from DATE --to DATE] [--by hour|day]  attempts, answers, codes per period (no -c: all)
  history-purge [-p DAYS]  delete attempts older than historydays
  pause / resume  stop / restart new calls of the campaign on every dialer (live calls finish)
  nodes           the dialers sharing this database: last heartbeat, version, status
  user-add -p NAME --role viewer|operator|admin   a web console user (password from the terminal or stdin)
  user-passwd -p NAME                             set a console user's password (terminal or stdin)
without -a: dial in the foreground (--start: as a daemon, --stop: stop it, -safe: auto-restart).
--check-config: load the configuration, print its campaigns and warnings, start nothing
  (--as DEST FILE: check FILE as if installed at DEST, the main file or one in dialer.d).
exit status: 0 ok, 1 partial, 2 usage/config/input error, 3 database unreachable or refused."""


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{message} (see dialer --help)")


def build_parser():
    p = _Parser(prog="dialer", add_help=False, allow_abbrev=False, description="Outbound call dialer for Asterisk.",
                epilog=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-h", "-help", "--help", action="help", help="this help screen")
    p.add_argument("-V", "--version", action="version", version=f"dialer {__version__}")
    p.add_argument("-C", "--config", metavar="PATH", help="configuration file (default $DIALER_CONFIG or "
                   "/etc/dialer.conf)")
    p.add_argument("-c", "-campaign", "--campaign", metavar="NAME", help="campaign (or blacklist table) name")
    p.add_argument("-a", "-action", "--action", metavar="ACTION", help="action to run (see below)")
    p.add_argument("-p", "-paramater", "-parameter", "--parameter", dest="param", nargs="+", action="extend",
                   metavar="PARAM", help="parameter(s) of the action")
    p.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    p.add_argument("-start", "--start", action="store_true", help="run as a daemon")
    p.add_argument("-stop", "--stop", action="store_true", help="stop the running dialer")
    p.add_argument("-safe", "--safe", action="store_true", help="restart the dialer when it dies")
    p.add_argument("--service", action="store_true", help="run in the foreground forever (systemd)")
    p.add_argument("-k", "--clipping", action="store_true",
                   help="accepted for compatibility; no effect (each result is written once anyway)")
    p.add_argument("--format", choices=("table", "json", "csv"), help="output of statistics, nodes and history (table or json), report (also csv)")
    p.add_argument("--from", dest="date_from", metavar="DATE", help="report: first local date [time]")
    p.add_argument("--to", dest="date_to", metavar="DATE", help="report: last local date (whole day) or date time")
    p.add_argument("--by", choices=("hour", "day"), help="report: period (default day)")
    p.add_argument("--role", choices=("viewer", "operator", "admin"), help="user-add: the console user's role")
    p.add_argument("--dedupe", action="store_true", help="file/import: skip numbers already in the campaign")
    p.add_argument("--all", action="store_true", help="repare: release every lead in progress (no dialer running); "
                   "--check-config: print every setting and where it comes from")
    p.add_argument("-t", "--check-config", action="store_true",
                   help="check the configuration (dialer.conf + dialer.d) and print its campaigns; exit 0 or 2")
    p.add_argument("--as", dest="check_as", metavar="DEST",
                   help="--check-config: check the file given as parameter as if it were installed at DEST")
    p.add_argument("--debug", action="store_true",
                   help="debug mode for this run, as [general] debug=true: verbose logs, tracebacks of internal errors")
    return p


def main(argv=None):
    args = None
    try:
        args = build_parser().parse_args(argv)
        return run(args)
    except (UsageError, FormatError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_PARTIAL)
    except BrokenPipeError:
        # `dialer -a dump | head`: the reader is gone; that is not an error.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        return EXIT_OK
    except Exception as exc:
        return _unexpected(exc, args)


def _fail(message, status):
    print(f"dialer: {message}", file=sys.stderr)
    return status


def _unexpected(exc, args):
    from .config import ConfigError
    from .store import StoreError, StoreUnavailable
    if isinstance(exc, StoreUnavailable):
        return _fail(str(exc), EXIT_DB)
    if isinstance(exc, (StoreError, ConfigError)):
        return _fail(str(exc), EXIT_USAGE)
    if args is not None and args.debug:
        import traceback
        traceback.print_exc()
    msg = " ".join(str(exc).split()) or type(exc).__name__
    return _fail(f"internal error: {msg} (run with --debug for details)", EXIT_PARTIAL)


def _params(args):
    return list(args.param or []) + list(args.rest or [])


def run(args):
    if args.check_config or args.check_as:
        return _check_config(args)
    action = args.action
    if action is not None:
        action = ACTION_ALIASES.get(action.lower(), action.lower())
        if action not in ACTIONS:
            raise UsageError(f"unknown action {args.action!r} (expected one of {', '.join(ACTIONS)})")
        if args.start or args.stop or args.safe or args.service:
            raise UsageError("-a ACTION cannot be combined with --start, --stop, -safe or --service")
    elif args.param or args.rest:
        raise UsageError(f"parameter {_params(args)[0]!r} given without an action (-a)")
    cfg = _load_config(args)
    if action is None:
        return _dial(cfg, args)
    from . import store
    st = store.open_store(cfg.general)
    try:
        return ACTION_HANDLERS[action.split("-")[0] if "-" in action else action](st, cfg, args, action)
    finally:
        st.close()


def _load_config(args, candidate=None):
    import dataclasses
    from . import config
    cfg = config.load(args.config, candidate=candidate)
    for w in cfg.warnings:
        print(f"dialer: warning: {w}", file=sys.stderr)
    if args.clipping:
        print("dialer: warning: -k (clipping) has no effect in this dialer (accepted for compatibility)",
              file=sys.stderr)
    # One debug mode, from either side: --debug is [general] debug=true for this run.
    if args.debug:
        cfg.general = dataclasses.replace(cfg.general, debug=True)
    args.debug = cfg.general.debug
    return cfg


def _check_config(args):
    """Like `nginx -t`: load what the service would load and say what it holds."""
    if not args.check_config:
        raise UsageError("--as is for --check-config")
    if args.action or args.start or args.stop or args.safe or args.service:
        raise UsageError("--check-config cannot be combined with -a, --start, --stop, -safe or --service")
    files = _params(args)
    if len(files) != (1 if args.check_as else 0):
        raise UsageError("--check-config --as DEST takes one file: the candidate for DEST" if args.check_as else
                         f"--check-config takes no parameter (got {files[0]!r}; use -C FILE or --as DEST FILE)")
    from .config import report
    cfg = _load_config(args, candidate=(args.check_as, files[0]) if args.check_as else None)
    lines = report.summary(cfg, len(cfg.warnings))
    if args.all:   # a listing that loads back as a dialer.conf: the summary as a comment
        print(f"; {lines[0]}")
        report.every_setting(cfg, sys.stdout)
    else:
        print("\n".join(lines))
    return EXIT_OK


def _dial(cfg, args):
    if sum(map(bool, (args.start, args.stop, args.safe))) > 1:
        raise UsageError("choose one of --start, --stop and -safe")
    from . import service, serviceuser
    if not args.stop:
        g = cfg.general
        made = [g.statedir, g.calllog, g.pidfile] + ([g.sqlitepath] if g.dbengine == "sqlite" else [])
        try:
            serviceuser.become_for(made, cfg.files)
        except serviceuser.NotHandedOver as exc:
            return _fail(str(exc), EXIT_USAGE)
    mode = (service.start_daemon if args.start else service.stop_daemon if args.stop else service.run_safe
            if args.safe else service.run_foreground)
    return mode(cfg, args)


def _campaign(args, action):
    if not args.campaign:
        raise UsageError(f"-a {action} needs a campaign: -c NAME")
    return args.campaign


def _one_param(args, action, what):
    ps = _params(args)
    if not ps:
        raise UsageError(f"-a {action} needs {what}: -p {what.upper()}")
    return ps


# -- actions ----------------------------------------------------------------------------------
def _db(st, cfg, args, action):
    if action == "createdatabase":
        st.create_database()
        print(f"created {st.d.where}")
    else:
        st.drop_database()
        print(f"dropped {st.d.where}")
    return EXIT_OK


def _create(st, cfg, args, action):
    name = _campaign(args, action)
    st.create_campaign(name)
    print(f"campaign {name} created")
    return EXIT_OK


def _drop(st, cfg, args, action):
    name = _campaign(args, action)
    st.drop_campaign(name)
    print(f"campaign {name} dropped")
    return EXIT_OK


def _upgrade(st, cfg, args, action):
    from .store.history_schema import HISTORY_TABLE
    name = _campaign(args, action)
    had_history = st.exists(name) and st.table_exists(HISTORY_TABLE)
    added = st.upgrade_campaign(name)
    print(f"campaign {name} upgraded: added {', '.join(added)}" if added else f"campaign {name} is up to date")
    if not had_history:
        print(f"history table {HISTORY_TABLE} added")
    return EXIT_OK


def _truncate(st, cfg, args, action):
    name = _campaign(args, action)
    n = st.truncate(name)
    print(f"campaign {name} truncated: {n} lead(s) removed")
    return EXIT_OK


def _repare(st, cfg, args, action):
    name = _campaign(args, action)
    camp = cfg.campaign(name)
    n = st.repair(name, now=time.time(), force=args.all, max_attempts=camp.attempts,
                  attemptsdelay=camp.attemptsdelay)
    print(f"{n} lead(s) released in campaign {name}")
    return EXIT_OK


def _progress():
    """A progress bar on stderr when it is a terminal; None otherwise."""
    if not sys.stderr.isatty():
        return None
    state = {"last": 0.0}

    def show(done, total):
        now = time.monotonic()
        if total < (4 << 20) or (now - state["last"] < 0.2 and done < total):
            return
        state["last"] = now
        frac = done / total if total else 1.0
        bar = "#" * int(frac * 40)
        sys.stderr.write(f"\r[{bar:<40}] {frac * 100:5.1f}%")
        if done >= total:
            sys.stderr.write("\r" + " " * 50 + "\r")
        sys.stderr.flush()
    return show


def _report(rep):
    print(rep.summary())
    for line in rep.first_errors:
        print(f"dialer: {line}", file=sys.stderr)
    return rep.status


def _file(st, cfg, args, action):
    name = _campaign(args, action)
    ps = _one_param(args, action, "file")
    if len(ps) != 1:
        raise UsageError(f"-a file takes one file, got {len(ps)}: {' '.join(ps)}")
    return _report(st.import_file(name, ps[0], dedupe=args.dedupe, progress=_progress()))


def _insert(st, cfg, args, action):
    name = _campaign(args, action)
    ps = _one_param(args, action, "phone")
    if len(ps) > 2:
        raise UsageError(f"-a insert takes PHONE [PARAM], got {len(ps)} values")
    lead_id = st.insert(name, ps[0], ps[1] if len(ps) > 1 else "")
    print(f"inserted lead {lead_id} into {name}")
    return EXIT_OK


def _delete(st, cfg, args, action):
    name = _campaign(args, action)
    total = 0
    for p in _one_param(args, action, "phone"):
        total += st.delete(name, p)
    print(f"deleted {total} lead(s) from {name}")
    return EXIT_OK


def _count(st, cfg, args, action):
    print(st.count(_campaign(args, action)))
    return EXIT_OK


def _dump(st, cfg, args, action):
    st.dump(_campaign(args, action), sys.stdout, header=(action == "fulldump"))
    sys.stdout.flush()
    return EXIT_OK


def _statistics(st, cfg, args, action):
    from .store import format_table
    from . import control_cli, trunkstate
    name = _campaign(args, action)
    stats = st.statistics(name)
    paused = control_cli.pause_of(st, name)
    stats["paused"] = {"by": paused[0], "since": paused[1]} if paused else None
    trunk = cfg.campaign(name).trunk
    if output_format(args, action, ("table", "json")) == "json":
        stats["trunks"] = [e for e in trunkstate.load(cfg.general.statedir) if e["trunk"] == trunk]
        print(json.dumps(stats, indent=2))
    else:
        sys.stdout.write(format_table(stats))
        for line in trunkstate.for_trunk(cfg.general.statedir, trunk):
            print(line)
    return EXIT_OK


def _explain(st, cfg, args, action):
    from .lookup import explain_phone
    from .rules import explain
    name = _campaign(args, action)
    phone = _one_param(args, action, "phone")[0]
    leads, notes = explain_phone(st, cfg, name, phone)
    if not leads:
        print(f"no lead with phone {phone} in campaign {name}")
        return EXIT_PARTIAL
    for note in notes:
        print(note)
    for row, reasons in leads:
        print(f"lead {row['id']} ({row['phone']}) in campaign {name}:")
        print(explain.format_reasons(reasons))
    return EXIT_OK


def _lists(st, cfg, args, action):
    kind, op = action.split("-", 1)
    if kind == "blacklist":
        if not args.campaign:
            raise UsageError(f"-a {action} needs the blacklist table: -c TABLE")
        table, label = args.campaign, f"blacklist {args.campaign}"
    else:
        table, label = None, "do-not-call list"
    if op == "count":
        print(st.list_count(table))
    elif op == "dump":
        st.list_dump(sys.stdout, table)
        sys.stdout.flush()
    elif op == "import":
        ps = _one_param(args, action, "file")
        if len(ps) != 1:
            raise UsageError(f"-a {action} takes one file, got {len(ps)}")
        return _report(st.list_import(ps[0], table, progress=_progress()))
    elif op == "add":
        ps = _one_param(args, action, "phone")
        added = sum(st.list_add(p, table) for p in ps)
        print(f"added {added} number(s) to the {label} ({len(ps) - added} already there)")
    else:
        ps = _one_param(args, action, "phone")
        n = sum(st.list_delete(p, table) for p in ps)
        print(f"deleted {n} number(s) from the {label}")
    return EXIT_OK


def _history(st, cfg, args, action):
    from . import history_cli
    try:
        return history_cli.run(st, cfg, args, action)
    except history_cli.UsageError as exc:
        raise UsageError(str(exc)) from None


def _control(st, cfg, args, action):
    from . import control_cli
    name = None if action == "nodes" else _campaign(args, action)
    try:
        return control_cli.run(st, cfg, args, action, name)
    except control_cli.UsageError as exc:
        raise UsageError(str(exc)) from None


def _user(st, cfg, args, action):
    from . import user_cli
    try:
        return user_cli.run(st, cfg, args, action)
    except user_cli.UsageError as exc:
        raise UsageError(str(exc)) from None


ACTION_HANDLERS = {
    "createdatabase": _db, "dropdatabase": _db, "create": _create, "drop": _drop, "truncate": _truncate, "upgrade": _upgrade,
    "repare": _repare, "file": _file, "insert": _insert, "delete": _delete, "count": _count, "dump": _dump,
    "fulldump": _dump, "statistics": _statistics, "explain": _explain, "dnc": _lists, "blacklist": _lists,
    "history": _history, "report": _history, "historydump": _history,
    "pause": _control, "resume": _control, "nodes": _control, "user": _user,
}

if __name__ == "__main__":
    sys.exit(main())
