"""`report`: attempts, answers, answer rate, mean duration and return codes per local hour or day.

The store hands back 15-minute slots (store.history_slots); they are gathered here into the
periods of the local time zone of the machine running the command (TZ honoured), so a day is
a local calendar day, 23 or 25 hours long across a DST change.
"""
import bisect
import csv
import datetime as dt
import json

from . import codes


def local(epoch):
    return dt.datetime.fromtimestamp(epoch).astimezone()


def zone_label(epoch):
    t = local(epoch)
    off = t.strftime("%z")
    return f"{t.tzname()}, UTC{off[:3]}:{off[3:]}"


def period_starts(start, end, by):
    """Epoch starts of the local hours or days that overlap [start, end)."""
    if by == "hour":
        t = local(start).replace(minute=0, second=0, microsecond=0)
        p, out = int(t.timestamp()), []
        while p < end:
            out.append(p)
            p += 3600
        return out
    day, out = local(start).date(), []
    while True:
        # A naive local midnight: timestamp() resolves it in the local zone (DST included).
        p = int(dt.datetime.combine(day, dt.time()).timestamp())
        if p >= end:
            return out
        out.append(p)
        day += dt.timedelta(days=1)


def _summary(n, answered, dur, by_code):
    return {"attempts": n, "answered": answered,
            "answer_rate": round(answered / n, 4) if n else 0.0,
            "avg_duration": round(dur / answered, 1) if answered else 0.0,
            "codes": {str(c): by_code[c] for c in sorted(by_code)}}


def build(slots, start, end, by, campaign=None):
    """The report dict from [(slot start, code, attempts, answered, duration sum)]."""
    starts = period_starts(start, end, by)
    acc = [[0, 0, 0, {}] for _ in starts]
    total = [0, 0, 0, {}]
    for s, code, n, answered, dur in slots:
        i = bisect.bisect_right(starts, s) - 1
        if i < 0:
            continue
        for a in (acc[i], total):
            a[0] += n
            a[1] += answered
            a[2] += dur
            a[3][code] = a[3].get(code, 0) + n
    fmt = "%Y-%m-%d %H:%M" if by == "hour" else "%Y-%m-%d"
    periods = []
    for p, a in zip(starts, acc):
        row = {"period": local(p).isoformat(), "label": local(p).strftime(fmt)}
        row.update(_summary(*a))
        periods.append(row)
    used = sorted({int(c) for row in periods for c in row["codes"]})
    return {"campaign": campaign, "from": local(start).isoformat(), "to": local(end).isoformat(),
            "by": by, "timezone": zone_label(start), "periods": periods, "total": _summary(*total),
            "code_names": {str(c): codes.code_name(c) for c in used}}


def _code_cols(rep):
    return sorted(int(c) for c in rep["code_names"])


def write_json(rep, out):
    json.dump(rep, out, indent=2)
    out.write("\n")


def write_csv(rep, out):
    cols = _code_cols(rep)
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["period", "attempts", "answered", "answer_rate", "avg_duration"] + [f"code_{c}" for c in cols])
    for row in rep["periods"] + [dict(rep["total"], period="total")]:
        w.writerow([row["period"], row["attempts"], row["answered"], row["answer_rate"], row["avg_duration"]]
                   + [row["codes"].get(str(c), 0) for c in cols])


def write_table(rep, out):
    cols = _code_cols(rep)
    first = 16 if rep["by"] == "hour" else 10
    head = (f"{'period':<{first}}  {'attempts':>8}  {'answered':>8}  {'rate':>6}  {'avg s':>6}"
            + "".join(f"  {c:>6}" for c in cols))
    what = f"campaign {rep['campaign']}" if rep["campaign"] else "all campaigns"
    lines = [f"{what}, {rep['from'][:16].replace('T', ' ')} to {rep['to'][:16].replace('T', ' ')} "
             f"(local time: {rep['timezone']}), by {rep['by']}", head]
    for row in rep["periods"] + [dict(rep["total"], label="total")]:
        lines.append(f"{row['label']:<{first}}  {row['attempts']:>8}  {row['answered']:>8}  "
                     f"{row['answer_rate'] * 100:>5.1f}%  {row['avg_duration']:>6.1f}"
                     + "".join(f"  {row['codes'].get(str(c), 0):>6}" for c in cols))
    if cols:
        lines.append("codes: " + ", ".join(f"{c} {rep['code_names'][str(c)]}" for c in cols))
    out.write("\n".join(lines) + "\n")


WRITERS = {"table": write_table, "csv": write_csv, "json": write_json}
