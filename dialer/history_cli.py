"""The history actions of `dialer`: history, report, historydump, history-purge (docs/history.md).

Times are shown and read in the local time zone of the machine running the command (TZ is
honoured); JSON and CSV carry ISO 8601 times with their UTC offset, so they are unambiguous.
"""
import datetime as dt
import json
import sys
import time

from . import codes, report
from .cli import EXIT_OK, EXIT_PARTIAL, _params
from .outputformat import output_format


class UsageError(ValueError):
    """Bad input; dialer.cli turns it into its one-line usage error (exit 2)."""

DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")
TIME_COLUMNS = ("originated_at", "answered_at", "ended_at")


def parse_when(text, flag, end=False):
    """A local date or date and time -> epoch. A bare date given to --to means the whole day."""
    for fmt in DATE_FORMATS:
        try:
            t = dt.datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
        if end and fmt == "%Y-%m-%d":
            t += dt.timedelta(days=1)
        return int(t.timestamp())
    raise UsageError(f"{flag} {text!r}: expected a local date YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS]")


def _iso(epoch):
    return None if epoch is None else report.local(int(epoch)).isoformat()


def _range(args):
    now = int(time.time())
    start = parse_when(args.date_from, "--from") if args.date_from else \
        int(dt.datetime.combine(dt.date.today(), dt.time()).timestamp())
    end = parse_when(args.date_to, "--to", end=True) if args.date_to else now + 1
    if start >= end:
        raise UsageError(f"--from {args.date_from or 'today'!r} is not before --to {args.date_to or 'now'!r}: "
                         "nothing to report")
    return start, end


def run(st, cfg, args, action):
    return {"history": _history, "report": _report, "historydump": _dump,
            "history-purge": _purge}[action](st, cfg, args, action)


def _history(st, cfg, args, action):
    fmt = output_format(args, action, ("table", "json"))
    ps = _params(args)
    if len(ps) != 1:
        raise UsageError(f"-a history needs one phone: -p PHONE (got {len(ps)} values)")
    rows = st.history(ps[0], args.campaign)
    for r in rows:
        r["disposition_name"] = codes.code_name(int(r["disposition"]))
    if fmt == "json":
        for r in rows:
            for c in TIME_COLUMNS:
                r[c] = _iso(r[c])
        print(json.dumps(rows, indent=2))
        return EXIT_OK if rows else EXIT_PARTIAL
    where = f" in campaign {args.campaign}" if args.campaign else ""
    if not rows:
        print(f"no attempt to {ps[0]}{where} in the history")
        return EXIT_PARTIAL
    zone = report.zone_label(rows[0]["originated_at"])
    print(f"{len(rows)} attempt(s) to {rows[0]['phone']}{where} (local time: {zone})")
    print(f"{'originated':<19}  {'campaign':<12} {'lead':>8} {'try':>3}  {'code':>4} {'name':<24} "
          f"{'answered':<8} {'ended':<8} {'dur':>5}  cause / reason / result  [instance channelid trunk]")
    for r in rows:
        ans = report.local(r["answered_at"]).strftime("%H:%M:%S") if r["answered_at"] is not None else "-"
        detail = " / ".join(x for x in (r["cause"], r["reason"], r["result"]) if x)
        print(f"{report.local(r['originated_at']):%Y-%m-%d %H:%M:%S}  {r['campaign']:<12} {r['lead_id']:>8} "
              f"{r['attempt']:>3}  {r['disposition']:>4} {r['disposition_name'][:24]:<24} {ans:<8} "
              f"{report.local(r['ended_at']):%H:%M:%S} {r['duration']:>5}  {detail}  "
              f"[{r['instance']} {r['channelid'] or '-'} {r['trunk']}]")
    return EXIT_OK


def _report(st, cfg, args, action):
    fmt = output_format(args, action, ("table", "csv", "json"))
    if _params(args):
        raise UsageError(f"-a report takes no parameter, got {' '.join(_params(args))} (use --from/--to)")
    by = args.by or "day"
    start, end = _range(args)
    slots = st.history_slots(start, end, args.campaign)
    report.WRITERS[fmt](report.build(slots, start, end, by, args.campaign), sys.stdout)
    return EXIT_OK


def _dump_row(cols):
    idx = [cols.index(c) for c in TIME_COLUMNS]

    def convert(row):
        row = list(row)
        for i in idx:
            row[i] = _iso(row[i])
        return row
    return convert


def _dump(st, cfg, args, action):
    from .store.history_schema import COLUMN_NAMES
    st.history_dump(sys.stdout, args.campaign, header=True, convert=_dump_row(list(COLUMN_NAMES)))
    sys.stdout.flush()
    return EXIT_OK


def _purge(st, cfg, args, action):
    ps = _params(args)
    days = cfg.general.historydays
    if ps:
        try:
            days = int(ps[0])
            if days < 0 or len(ps) > 1:
                raise ValueError
        except ValueError:
            raise UsageError(f"-a history-purge -p {' '.join(ps)}: expected one number of days ≥ 0") from None
    if days == 0:
        print("historydays = 0: the history is kept forever; nothing purged")
        return EXIT_OK
    now = int(time.time())
    n, _ = st.purge_history(now, days=days)
    print(f"purged {n} attempt(s) placed before {report.local(now - days * 86400):%Y-%m-%d %H:%M:%S} "
          f"({days} days)")
    return EXIT_OK
