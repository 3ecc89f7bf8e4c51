"""Leads put back after a trunk failure: the attempt is not counted (trunkhealth.py).

The claim counted the attempt (attempts + 1) before the call; a call that failed on the trunk
side says nothing about the lead, so it goes back as it was: attempts - 1, its previous
disposition, callable again at once. Fenced by owner like record(): a lead released meanwhile
is left alone.
"""
from . import schema


class PutBackMixin:
    def put_back(self, name, owner, lead_ids, reason, now):
        """Release `owner`'s claims on `lead_ids` without counting their attempt; returns how many."""
        t = self.campaign(name)
        ids = [int(i) for i in lead_ids]
        if not ids:
            return 0
        marks = ", ".join("?" * len(ids))
        with self.write_tx():
            # A lead that had never been called before gets its NULL datetime back, so that
            # calltoday = false does not take it for one attempted today.
            done = self.execute(
                # datetime first: MariaDB evaluates the assignments left to right, so it must
                # see attempts before the decrement (as SQLite always does).
                f"UPDATE {t} SET datetime = CASE WHEN attempts <= 1 THEN NULL ELSE datetime END, "
                f"attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, "
                f"state = ?, nextcall = ?, reason = ?, owner = NULL, lease = NULL, channelid = NULL"
                f"{self.d.set_lastupdated} WHERE owner = ? AND state = ? AND id IN ({marks})",
                [schema.READY, int(now), str(reason)[:255], owner, schema.ACTIVE] + ids).rowcount
            self.execute(f"DELETE FROM {self.d.q(schema.INFLIGHT_TABLE)} WHERE campaign = ? AND owner = ? "
                         f"AND lead_id IN ({marks})", [name, owner] + ids)
        return done
