"""Connection handling shared by every store operation."""
import datetime as _dt

from . import schema
from .errors import StoreError, StoreUnavailable


def sqltime(epoch):
    """Epoch seconds -> the 'YYYY-MM-DD HH:MM:SS' local time both backends store in TIMESTAMPs."""
    return _dt.datetime.fromtimestamp(int(epoch)).strftime("%Y-%m-%d %H:%M:%S")


class StoreBase:
    def __init__(self, dialect):
        self.d = dialect
        self._conn = None
        self._known = set()   # campaigns whose table we have seen; saves a lookup per claim
        self._tx_depth = 0    # write_tx() nesting
        self._queued = {}     # key -> (flush, items): writes made once, just before the commit

    # -- connection ---------------------------------------------------------------
    def conn(self):
        if self._conn is None:
            self._conn = self.d.connect()
        return self._conn

    def close(self):
        c, self._conn = self._conn, None
        if c is not None:
            try:
                c.close()
            except Exception:
                pass

    def _fail(self, exc):
        err = self.d.translate(exc)
        if isinstance(err, StoreUnavailable):
            # The connection is unusable now; the next call reconnects.
            self.close()
        return err

    def ping(self):
        self.scalar("SELECT 1")

    def probe_write(self):
        """A write that changes nothing: the database takes writes, not only reads (a file
        the user may only read answers a ping)."""
        with self.write_tx():
            self.execute(f"UPDATE {self.d.q(schema.LOCK_TABLE)} SET name = name WHERE name = 'claim'")

    # -- statements ------------------------------------------------------------------
    def execute(self, sql, params=()):
        """Run one statement; returns the cursor (rows fetched by the caller)."""
        try:
            cur = self.conn().cursor()
            cur.execute(self.d.sql(sql), tuple(params))
            return cur
        except Exception as exc:
            raise self._fail(exc) from exc

    def rows(self, sql, params=()):
        cur = self.execute(sql, params)
        try:
            return cur.fetchall()
        except Exception as exc:
            raise self._fail(exc) from exc

    def scalar(self, sql, params=()):
        r = self.rows(sql, params)
        return r[0][0] if r else None

    def write_tx(self):
        """A write transaction: BEGIN IMMEDIATE on SQLite (one writer), START TRANSACTION on MySQL.

        Nested use joins the outer transaction, so the engine can write a batch of results
        with one commit while each record() keeps its own transaction when used alone. A
        context manager class, not a generator: the engine enters it a few times per result."""
        return _WriteTx(self)

    def queue_write(self, key, flush, item):
        """Inside write_tx(): `item` is written by flush(items), called once with every item
        queued under `key`, just before the outermost transaction commits (in it), so that a
        batch of results costs one statement for all, not one each; dropped on a rollback."""
        q = self._queued.get(key)
        if q is None:
            q = self._queued[key] = (flush, [])
        q[1].append(item)

    def _flush_queued(self):
        while self._queued:
            key = next(iter(self._queued))
            flush, items = self._queued.pop(key)
            flush(items)

    # -- names -------------------------------------------------------------------------
    def table_exists(self, table):
        return bool(self.scalar(self.d.exists_sql(), (table,)))

    def exists(self, name):
        schema.check_campaign_name(name)
        return self.table_exists(name)

    def campaign(self, name):
        """Validate a campaign name and check its table is there; returns the quoted name."""
        schema.check_campaign_name(name)
        if name in self._known:
            return self.d.q(name)
        if not self.table_exists(name):
            raise StoreError(f"campaign {name!r} does not exist (create it with: dialer -c {name} -a create)")
        have = self.columns(name)
        if "state" not in have:
            raise StoreError(f"table {name!r} has no dialer columns (a table of the original dialer?); "
                             f"convert it with: dialer -c {name} -a upgrade")
        self._add_late_columns(name, have)
        self._known.add(name)
        return self.d.q(name)

    def _add_late_columns(self, name, have):
        """Columns this version added to the schema, added to a table created before it."""
        types = dict(schema.CAMPAIGN_COLUMNS)
        for col in schema.LATE_COLUMNS:
            if col in have:
                continue
            try:
                self.execute(f"ALTER TABLE {self.d.q(name)} ADD COLUMN {self.d.q(col)} {types[col]}")
            except StoreError:
                if col not in self.columns(name):   # else another process added it meanwhile
                    raise

    def columns(self, table):
        sql, params = self.d.columns_sql(table)
        return {r[0].lower() for r in self.rows(sql, params)}

    def ensure_globals(self):
        for stmt in schema.global_ddl(self.d):
            self.execute(stmt)


class _WriteTx:
    __slots__ = ("st", "conn")

    def __init__(self, st):
        self.st = st
        self.conn = None

    def __enter__(self):
        st = self.st
        if st._tx_depth:
            st._tx_depth += 1
            return
        conn = self.conn = st.conn()
        try:
            conn.cursor().execute(st.d.begin_write)
        except Exception as exc:
            raise st._fail(exc) from exc
        st._queued = {}
        st._tx_depth = 1

    def __exit__(self, exc_type, *_):
        st = self.st
        if st._tx_depth > 1:
            st._tx_depth -= 1
            return False
        conn = self.conn
        if exc_type is None:
            try:
                st._flush_queued()      # still in the transaction (depth 1): nested uses join it
            except BaseException:
                _rollback(st, conn)
                raise
            st._tx_depth = 0
            try:
                conn.cursor().execute("COMMIT")
            except Exception as err:
                raise st._fail(err) from err
            return False
        _rollback(st, conn)
        return False


def _rollback(st, conn):
    st._tx_depth = 0
    st._queued = {}
    try:
        conn.cursor().execute("ROLLBACK")
    except Exception:
        st.close()
