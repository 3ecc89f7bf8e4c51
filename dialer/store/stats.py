"""`statistics`: one grouped pass over the campaign, shaped into a dict."""
import time

from .. import codes
from . import schema
from .control import describe_pause


class StatsMixin:
    def statistics(self, name, now=None):
        t = self.campaign(name)
        now = int(time.time() if now is None else now)
        # One pass over the narrow (state, nextcall, disposition, attempts, pickups) index; the
        # result has one row per (state, disposition, attempts): a handful.
        hint, nosort = self.d.small_group
        rows = self.rows(
            f"SELECT {hint}state, disposition, attempts, COUNT(*), SUM(pickups), SUM(pickups > 0) "
            f"FROM {t} GROUP BY state, disposition, attempts{nosort}")
        due_by = {int(d): int(n) for d, n in self.rows(
            f"SELECT disposition, COUNT(*) FROM {t} WHERE state = ? AND nextcall <= ? GROUP BY disposition",
            (schema.WAITING, now))}
        due = sum(due_by.values())
        total = dialable = waiting = in_progress = pickups = picked = attempted = 0
        final = {}
        waiting_by = {}     # retry time not reached yet, by the outcome that set it
        by_code = {}
        hist = {}
        for state, disp, att, n, pk, pk_leads in rows:
            n, pk, pk_leads = int(n), int(pk or 0), int(pk_leads or 0)
            state, disp, att = int(state), int(disp), int(att)
            total += n
            pickups += pk
            picked += pk_leads
            if att > 0:
                attempted += n
            hist[att] = hist.get(att, 0) + n
            by_code[disp] = by_code.get(disp, 0) + n
            if state == schema.READY:
                dialable += n
            elif state == schema.WAITING:
                waiting += n
                waiting_by[disp] = waiting_by.get(disp, 0) + n
            elif state == schema.ACTIVE:
                in_progress += n
            else:
                final[disp] = final.get(disp, 0) + n

        dialable += due
        waiting -= due
        for disp, n in due_by.items():
            waiting_by[disp] -= n
            if not waiting_by[disp]:
                del waiting_by[disp]

        def named(d):
            return [{"code": c, "name": codes.code_name(c), "count": d[c]} for c in sorted(d)]

        return {
            "campaign": name,
            "total": total,
            "dialable_now": dialable,
            "waiting": waiting,
            "in_progress": in_progress,
            "final": sum(final.values()),
            "final_by_code": named(final),
            "waiting_by_code": named(waiting_by),
            "by_code": named(by_code),
            "attempts_histogram": [{"attempts": a, "count": hist[a]} for a in sorted(hist)],
            "attempted": attempted,
            "pickups": pickups,
            "leads_picked_up": picked,
            "contact_rate": round(picked / attempted, 4) if attempted else 0.0,
        }


def _by_code(out, items):
    for c in items:
        out.append(f"  {c['code']:>3}  {c['name']:<40} {c['count']}")


def format_table(st):
    """The human-readable statistics table."""
    out = [f"campaign          {st['campaign']}"]
    if st.get("paused"):
        out.append(f"state             {describe_pause(st['paused']['by'], st['paused']['since'])}")
    out += [f"total             {st['total']}",
            f"dialable now      {st['dialable_now']}",
            f"waiting (retry)   {st['waiting']}"]
    _by_code(out, st.get("waiting_by_code", ()))
    out += [f"in progress       {st['in_progress']}",
            f"final             {st['final']}"]
    _by_code(out, st["final_by_code"])
    out.append("by return code")
    _by_code(out, st["by_code"])
    out.append("attempts")
    for h in st["attempts_histogram"]:
        out.append(f"  {h['attempts']:>3}  {h['count']}")
    rate = st["contact_rate"] * 100
    out += [f"pickups           {st['pickups']}",
            f"contact rate      {rate:.1f}% ({st['leads_picked_up']} picked up of {st['attempted']} attempted)"]
    return "\n".join(out) + "\n"
