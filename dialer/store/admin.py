"""Administrative actions: database, campaigns, single leads, DNC and blacklist tables."""
from .. import codes
from ..leadstate import ALL as ALL_STATES
from . import schema, validate
from .errors import StoreError, StoreUnavailable


class AdminMixin:
    # -- database ---------------------------------------------------------------------
    def create_database(self):
        self.d.create_database(self)
        self.close()
        if self.d.name == "sqlite":
            import os
            self._conn = None
            if not os.path.exists(self.d.path):
                raise StoreError(f"{self.d.where}: could not be created")
        self.ensure_globals()

    def drop_database(self):
        self._known.clear()
        self.d.drop_database(self)

    def _ensure_db(self):
        """Connect, creating the database first when it does not exist yet."""
        try:
            self.conn()
        except StoreUnavailable:
            raise
        except StoreError:
            self.create_database()
        self.ensure_globals()

    # -- campaigns -----------------------------------------------------------------------
    def create_campaign(self, name):
        schema.check_campaign_name(name)
        self._ensure_db()
        if self.table_exists(name):
            raise StoreError(f"campaign {name!r} already exists (drop it first with: dialer -c {name} -a drop)")
        for stmt in schema.campaign_ddl(self.d, name):
            self.execute(stmt)
        self._known.add(name)

    def upgrade_campaign(self, name):
        """Add the dialer's columns and indexes to a table of the original dialer.

        Its rows keep their data; retryable dispositions (-5..5) become ready, others final.
        Returns the list of columns added.
        """
        schema.check_campaign_name(name)
        if not self.table_exists(name):
            raise StoreError(f"campaign {name!r} does not exist")
        have = self.columns(name)
        missing = [(c, t) for c, t in schema.CAMPAIGN_COLUMNS if c not in have]
        if not missing:
            self.ensure_globals()   # tables added by later versions (the history)
            return []
        if self.d.name != "mysql":
            raise StoreError(f"campaign {name!r}: upgrade is for MariaDB/MySQL tables of the original dialer")
        q = self.d.q
        for c, t in missing:
            self.execute(f"ALTER TABLE {q(name)} ADD COLUMN {q(c)} "
                         f"{t.format(pk=self.d.pk, lastupdated=self.d.lastupdated, rnd=self.d.rnd_default)}")
        if "state" in dict(missing):
            self.execute(f"UPDATE {q(name)} SET state = CASE WHEN disposition BETWEEN ? AND ? THEN ? ELSE ? END",
                         (codes.RETRY_MIN, codes.RETRY_MAX, schema.READY, schema.FINAL))
        for stmt in schema.campaign_ddl(self.d, name)[1:]:
            self.execute(stmt.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
        self.ensure_globals()
        return [c for c, _ in missing]

    def drop_campaign(self, name):
        t = self.campaign(name)
        self.execute(f"DROP TABLE {t}")
        self._known.discard(name)
        self.execute(f"DELETE FROM {self.d.q(schema.INFLIGHT_TABLE)} WHERE campaign = ?", (name,))
        self.execute(f"DELETE FROM {self.d.q(schema.ZONES_TABLE)} WHERE campaign = ?", (name,))

    def truncate(self, name):
        """Remove every lead; returns how many there were."""
        t = self.campaign(name)
        n = self.count(name)
        # TRUNCATE is a drop-and-recreate on MariaDB (fast for millions of rows).
        self.execute(f"{'TRUNCATE TABLE' if self.d.name == 'mysql' else 'DELETE FROM'} {t}")
        self.execute(f"DELETE FROM {self.d.q(schema.INFLIGHT_TABLE)} WHERE campaign = ?", (name,))
        self.execute(f"DELETE FROM {self.d.q(schema.ZONES_TABLE)} WHERE campaign = ?", (name,))
        return n

    def count(self, name):
        t = self.campaign(name)
        return int(self.scalar(f"SELECT COUNT(*) FROM {t}"))

    def pending(self, name):
        """Leads that may still be dialled some day (ready, waiting or in progress)."""
        t = self.campaign(name)
        return int(self.scalar(f"SELECT COUNT(*) FROM {t} WHERE state IN (?, ?, ?)",
                               (schema.READY, schema.WAITING, schema.ACTIVE)))

    def zones(self, name):
        """The lead time zones present in a campaign (from imports and inserts)."""
        self.campaign(name)
        return [r[0] for r in self.rows(
            f"SELECT timezone FROM {self.d.q(schema.ZONES_TABLE)} WHERE campaign = ? ORDER BY timezone", (name,))]

    # -- single leads ---------------------------------------------------------------------
    def insert(self, name, phone, param="", timezone="", areacode="", zipcode=""):
        """Validate and add one lead; returns its id. ValueError-free: bad input is StoreError."""
        t = self.campaign(name)
        try:
            row = (validate.phone(phone), validate.param(param or ""), validate.timezone(timezone or ""),
                   validate.code(areacode or "", "areacode"), validate.code(zipcode or "", "zipcode"))
        except ValueError as exc:
            raise StoreError(str(exc)) from None
        with self.write_tx():
            cur = self.execute(f"INSERT INTO {t} (phone, param, timezone, areacode, zipcode) VALUES (?, ?, ?, ?, ?)",
                               row)
            lead_id = cur.lastrowid
            if row[2]:
                self.add_zones(name, {row[2]})
        return lead_id

    def add_zones(self, name, zones):
        if zones:
            self.execute_many(f"{self.d.insert_ignore} INTO {self.d.q(schema.ZONES_TABLE)} (campaign, timezone) "
                              "VALUES (?, ?)", [(name, z) for z in sorted(zones)])

    def execute_many(self, sql, seq):
        try:
            cur = self.conn().cursor()
            cur.executemany(self.d.sql(sql), seq)
            return cur
        except Exception as exc:
            raise self._fail(exc) from exc

    def delete(self, name, phone):
        """Delete every lead with this phone; returns how many."""
        t = self.campaign(name)
        p = _phone_arg(phone)
        return self.execute(f"DELETE FROM {t} WHERE {_ANY_STATE} AND phone = ?", ALL_STATES + (p,)).rowcount

    def find(self, name, phone):
        """Every lead of a campaign with this phone, as dicts of all columns (for explain)."""
        t = self.campaign(name)
        p = _phone_arg(phone)
        cur = self.execute(f"SELECT * FROM {t} WHERE {_ANY_STATE} AND phone = ? ORDER BY id", ALL_STATES + (p,))
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]

    def in_flight(self, phone):
        """(campaign, lead_id, owner) of every call in progress to this phone, any campaign."""
        self.ensure_globals()
        return [tuple(r) for r in self.rows(
            f"SELECT campaign, lead_id, owner FROM {self.d.q(schema.INFLIGHT_TABLE)} WHERE phone = ?",
            (_phone_arg(phone),))]

    # -- DNC and blacklist tables -------------------------------------------------------------
    def list_table(self, table=None, create=False):
        """Quoted name of the DNC table (table None) or of a validated blacklist table."""
        if table is None:
            self._ensure_db() if create else self.ensure_globals()
            return self.d.q(schema.DNC_TABLE)
        schema.check_name(table, "blacklist table")
        if table.lower().startswith(schema.RESERVED_PREFIX):
            raise StoreError(f"invalid blacklist table name {table!r}: names starting with "
                             f"{schema.RESERVED_PREFIX!r} are reserved")
        if self.table_exists(table):
            cols = self.columns(table)
            if "state" in cols and "attempts" in cols:
                raise StoreError(f"{table!r} is a campaign, not a blacklist table")
            if "phone" not in cols:
                raise StoreError(f"blacklist table {table!r} has no phone column")
        elif create:
            self._ensure_db()
            self.execute(schema.blacklist_ddl(self.d, table))
        else:
            raise StoreError(f"blacklist table {table!r} does not exist (add a number with: "
                             f"dialer -a blacklist-add -c {table} -p PHONE)")
        return self.d.q(table)

    def list_add(self, phone, table=None):
        """Add one number; returns False when it was already there."""
        t = self.list_table(table, create=True)
        p = _phone_arg(phone)
        return self.execute(f"{self.d.insert_ignore} INTO {t} (phone) VALUES (?)", (p,)).rowcount == 1

    def list_delete(self, phone, table=None):
        t = self.list_table(table)
        return self.execute(f"DELETE FROM {t} WHERE phone = ?", (_phone_arg(phone),)).rowcount

    def list_count(self, table=None):
        t = self.list_table(table)
        return int(self.scalar(f"SELECT COUNT(*) FROM {t}"))

    def list_contains(self, phone, table=None):
        t = self.list_table(table)
        return bool(self.scalar(f"SELECT COUNT(*) FROM {t} WHERE phone = ?", (_phone_arg(phone),)))

    def in_dnc(self, phone):
        return self.list_contains(phone)

    def in_blacklist(self, table, phone):
        return self.list_contains(phone, table)


# Every lead, said so that the (state, phone) index answers without a phone-only index.
_ANY_STATE = f"state IN ({', '.join('?' * len(ALL_STATES))})"


def _phone_arg(phone):
    try:
        return validate.phone(str(phone))
    except ValueError as exc:
        raise StoreError(str(exc)) from None
