"""Lead time zones derived from the number (`leadtimezone = auto`), filled in by the engine."""
import re

from . import schema

# Zone keys written by rules.zones: IANA names separated by spaces, '-' or '@<prefix>'.
_ZONE_KEY = re.compile(r"^[A-Za-z0-9_+/ @-]{1,64}$")


class ZoneFillMixin:
    def leads_without_zone(self, name, limit):
        """(id, phone) of up to `limit` leads still to dial whose time zone is not known yet."""
        t = self.campaign(name)
        return [(int(r[0]), r[1]) for r in self.rows(
            f"SELECT id, phone FROM {t} WHERE timezone = '' AND state IN (?, ?) LIMIT ?",
            (schema.READY, schema.WAITING, int(limit)))]

    def set_zones(self, name, pairs):
        """Store the zone key of each (id, key); keys are checked, not trusted."""
        t = self.campaign(name)
        pairs = [(key, int(lead_id)) for lead_id, key in pairs]
        for key, lead_id in pairs:
            if not _ZONE_KEY.match(key):
                raise ValueError(f"lead {lead_id}: zone key {key!r} is not a time zone key")
        if not pairs:
            return 0
        by_key = {}
        for key, lead_id in pairs:
            by_key.setdefault(key, []).append(lead_id)
        # One statement per zone and one commit per batch: autocommitted row updates cost a
        # commit (an fsync on MariaDB) each, which stalls the engine on large imports.
        with self.write_tx():
            for key, ids in by_key.items():
                for i in range(0, len(ids), 500):
                    part = ids[i:i + 500]
                    self.execute(f"UPDATE {t} SET timezone = ? WHERE id IN ({', '.join('?' * len(part))})",
                                 [key] + part)
        self.add_zones(name, set(by_key))
        return len(pairs)
