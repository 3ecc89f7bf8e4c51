"""Everything that differs between MariaDB/MySQL and SQLite, in one place.

The rest of the store writes SQL once, with `?` placeholders and `d.q()` for identifiers.
"""
import grp
import os
import pwd
import sqlite3
from typing import TYPE_CHECKING, Union

from .. import serviceuser
from .errors import BulkLoadRefused, StoreError, StoreNotWritable, StoreUnavailable

if TYPE_CHECKING:
    from ..config import General

# PyMySQL/MariaDB error numbers that mean "the server is not there for us".
MYSQL_UNAVAILABLE = {
    1040,  # too many connections
    1044,  # access denied to database
    1045,  # access denied (wrong user/password)
    1698,  # access denied (MariaDB: no such user)
    1129,  # host blocked
    1130,  # host not allowed
    1205,  # lock wait timeout
    1213,  # deadlock (retryable by the caller)
    2002, 2003, 2005, 2006, 2013, 2014, 2055,
    1927,  # connection killed
    4031,  # disconnected by server (idle)
}
MYSQL_UNKNOWN_DB = 1049
MYSQL_LOCAL_INFILE_REFUSED = {1148, 2068, 3948, 4166}


class MySQL:
    name = "mysql"
    pk = "INT NOT NULL AUTO_INCREMENT PRIMARY KEY"
    lastupdated = "TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP"
    rnd_default = "INT NOT NULL DEFAULT (FLOOR(RAND() * 2147483647))"
    table_options = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
    insert_ignore = "INSERT IGNORE"
    begin_write = "START TRANSACTION"
    skip_locked = " FOR UPDATE SKIP LOCKED"
    lock_row = " FOR UPDATE"
    share_row = " LOCK IN SHARE MODE"
    set_lastupdated = ""   # ON UPDATE CURRENT_TIMESTAMP does it
    # A GROUP BY with a handful of groups: an in-memory table and no sort (3x faster on 1M rows).
    small_group = ("SQL_SMALL_RESULT ", " ORDER BY NULL")

    def __init__(self, general: "General"):
        self.g = general
        self.database = general.mysqldatabase
        self.where = f"MariaDB/MySQL database {self.database!r} at " + (
            general.mysqlsocket or f"{general.mysqlhost}:{general.mysqlport}")

    @staticmethod
    def q(ident):
        return f"`{ident}`"

    @staticmethod
    def index_name(table, suffix):
        return suffix  # index names are per table on MySQL

    @staticmethod
    def sql(text):
        # PyMySQL formats with %s: protect literal % (LIKE patterns come as parameters anyway).
        return text.replace("%", "%%").replace("?", "%s")

    def connect(self, with_db=True):
        import pymysql
        from pymysql.constants import CLIENT
        g = self.g
        kw = dict(user=g.mysqluser, password=g.mysqlpassword, charset="utf8mb4", autocommit=True, local_infile=True,
                  connect_timeout=5, client_flag=CLIENT.FOUND_ROWS,
                  init_command="SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        if g.mysqlsocket:
            kw["unix_socket"] = g.mysqlsocket
        else:
            kw["host"], kw["port"] = g.mysqlhost, g.mysqlport
        if with_db:
            kw["database"] = self.database
        try:
            return pymysql.connect(**kw)
        except Exception as exc:
            raise self.translate(exc) from exc

    def translate(self, exc):
        """Map a driver exception to StoreUnavailable / StoreError with a one-line message."""
        import pymysql
        if isinstance(exc, StoreError):
            return exc
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        msg = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
        msg = " ".join(msg.split())
        if code == MYSQL_UNKNOWN_DB:
            return StoreError(f"database {self.database!r} does not exist on {self.where.split(' at ')[1]} "
                              "(create it with: dialer -a createdatabase)")
        if code in MYSQL_LOCAL_INFILE_REFUSED:
            return BulkLoadRefused(f"{self.where}: LOAD DATA LOCAL INFILE refused: {msg}")
        if code in MYSQL_UNAVAILABLE or isinstance(exc, (pymysql.err.InterfaceError, OSError)):
            return StoreUnavailable(f"{self.where} is unavailable: {msg}")
        return StoreError(f"{self.where}: {msg}")

    def exists_sql(self):
        return ("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() "
                "AND table_name = ?")

    def columns_sql(self, table):
        return ("SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() "
                "AND table_name = ?"), (table,)

    @staticmethod
    def tables_with_sql(columns):
        """The tables having every one of `columns` (campaign tables: state and attempts)."""
        return ("SELECT table_name FROM information_schema.columns WHERE table_schema = DATABASE() AND "
                f"column_name IN ({', '.join('?' * len(columns))}) GROUP BY table_name HAVING COUNT(*) = ?"
                ), tuple(columns) + (len(columns),)

    def create_database(self, store):
        conn = self.connect(with_db=False)
        try:
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE IF NOT EXISTS {self.q(self.database)} "
                            "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        except Exception as exc:
            raise self.translate(exc) from exc
        finally:
            conn.close()

    def drop_database(self, store):
        store.close()
        conn = self.connect(with_db=False)
        try:
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS {self.q(self.database)}")
        except Exception as exc:
            raise self.translate(exc) from exc
        finally:
            conn.close()

    def streaming_cursor(self, conn):
        import pymysql.cursors
        return conn.cursor(pymysql.cursors.SSCursor)

    @staticmethod
    def distinct_sql(table, col):
        # A loose index scan: one probe per distinct value of the index's first column.
        return f"SELECT DISTINCT {col} FROM {table} ORDER BY {col}"

    @staticmethod
    def delete_oldest_sql(table, where, order):
        return f"DELETE FROM {table} WHERE {where} ORDER BY {order} LIMIT ?"

    @classmethod
    def upsert(cls, table, columns, key):
        """INSERT one row, or UPDATE the row with the same `key` (a unique column)."""
        sets = ", ".join(f"{cls.q(c)} = VALUES({cls.q(c)})" for c in columns if c != key)
        return f"{_insert(cls, table, columns)} ON DUPLICATE KEY UPDATE {sets}"

    def bulk_load(self, cur, table, columns, rows_file, ignore=False):
        """LOAD DATA LOCAL INFILE a tab-separated file we wrote ourselves; returns rows added."""
        cols = ", ".join(self.q(c) for c in columns)
        if not ignore:
            # Lets InnoDB take its bulk path into an empty table (indexes built by sorting).
            # Campaign tables have no unique secondary key, so nothing goes unchecked.
            cur.execute("SET SESSION unique_checks = 0, foreign_key_checks = 0")
        try:
            cur.execute(f"LOAD DATA LOCAL INFILE %s {'IGNORE ' if ignore else ''}INTO TABLE {self.q(table)} "
                        "CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' "
                        f"LINES TERMINATED BY '\\n' ({cols})", (rows_file,))
            return cur.rowcount
        finally:
            if not ignore:
                cur.execute("SET SESSION unique_checks = 1, foreign_key_checks = 1")

    bulk_needs_file = True


class SQLite:
    name = "sqlite"
    pk = "INTEGER PRIMARY KEY"
    lastupdated = "TIMESTAMP NOT NULL DEFAULT (datetime('now', 'localtime'))"
    rnd_default = "INT NOT NULL DEFAULT (abs(random()) % 2147483647)"
    table_options = ""
    insert_ignore = "INSERT OR IGNORE"
    begin_write = "BEGIN IMMEDIATE"
    skip_locked = ""
    lock_row = ""
    share_row = ""
    # No ON UPDATE clause in SQLite: every UPDATE of a lead says it explicitly.
    set_lastupdated = ", lastupdated = datetime('now', 'localtime')"
    small_group = ("", "")
    bulk_needs_file = False
    BUSY_TIMEOUT_MS = 10000

    def __init__(self, general: "General"):
        self.path = general.sqlitepath
        self.where = f"SQLite database {self.path}"

    @staticmethod
    def q(ident):
        return f'"{ident}"'

    @staticmethod
    def index_name(table, suffix):
        return f"{table}__{suffix}"  # SQLite index names are per database

    @staticmethod
    def sql(text):
        return text

    def connect(self, with_db=True):
        if not os.path.exists(self.path) and with_db:
            raise StoreError(f"{self.where} does not exist (create it with: dialer -a createdatabase)")
        try:
            conn = sqlite3.connect(self.path, timeout=self.BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False)
            # WAL: the daemon and the command line use the file at once.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA busy_timeout={self.BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            raise self.translate(exc) from exc
        try:
            # Root on a packaged install: the service's user must be able to write what we made.
            # (SQLite then gives the -wal/-shm files it creates the owner of the database file.)
            serviceuser.hand_over(self.files())
        except serviceuser.NotHandedOver as exc:
            conn.close()
            raise StoreNotWritable(str(exc)) from None
        return conn

    def files(self):
        return [self.path + suffix for suffix in ("", "-wal", "-shm")]

    def _not_writable(self):
        """The one-line StoreNotWritable for this user when the files or their directory are
        not writable by it, else None."""
        folder = os.path.dirname(os.path.abspath(self.path))
        blocked = [f for f in self.files() if os.path.exists(f) and not os.access(f, os.R_OK | os.W_OK)]
        if not os.access(folder, os.W_OK | os.X_OK):
            blocked.append(folder)   # where SQLite makes -wal and -shm
        if not blocked:
            return None
        user, group = pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name
        return StoreNotWritable(f"{self.where} is not writable by user {user}: fix with chown {user}:{group} "
                                f"{' '.join(blocked)} (or run dialer as the user that owns them)")

    def translate(self, exc):
        if isinstance(exc, StoreError):
            return exc
        msg = " ".join(str(exc).split())
        if isinstance(exc, sqlite3.OperationalError) and ("readonly" in msg or "unable to open" in msg):
            not_writable = self._not_writable()
            if not_writable is not None:
                return not_writable
        if isinstance(exc, sqlite3.OperationalError) and (
                "locked" in msg or "unable to open" in msg or "disk I/O" in msg or "readonly" in msg
                or "busy" in msg):
            return StoreUnavailable(f"{self.where} is unavailable: {msg}")
        if isinstance(exc, OSError):
            return self._not_writable() or StoreUnavailable(f"{self.where} is unavailable: {exc.strerror or exc}")
        return StoreError(f"{self.where}: {msg}")

    def exists_sql(self):
        return "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"

    def columns_sql(self, table):
        return "SELECT name FROM pragma_table_xinfo(?)", (table,)   # xinfo: with generated columns (ap)

    @staticmethod
    def tables_with_sql(columns):
        return ("SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' "
                f"AND p.name IN ({', '.join('?' * len(columns))}) GROUP BY m.name HAVING COUNT(*) = ?"
                ), tuple(columns) + (len(columns),)

    def create_database(self, store):
        d = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(d):
            raise StoreError(f"{self.where}: directory {d} does not exist")
        self.connect(with_db=False).close()

    def drop_database(self, store):
        store.close()
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(self.path + suffix)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise StoreError(f"cannot remove {self.path + suffix}: {exc.strerror}") from exc

    def streaming_cursor(self, conn):
        return conn.cursor()

    @staticmethod
    def distinct_sql(table, col):
        # No loose index scan in SQLite: skip from one value to the next along the index.
        return (f"WITH RECURSIVE v(x) AS (SELECT MIN({col}) FROM {table} UNION ALL "
                f"SELECT (SELECT MIN({col}) FROM {table} WHERE {col} > v.x) FROM v WHERE v.x IS NOT NULL) "
                "SELECT x FROM v WHERE x IS NOT NULL")

    @staticmethod
    def delete_oldest_sql(table, where, order):
        # No DELETE ... LIMIT in Debian's SQLite build.
        return f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE {where} ORDER BY {order} LIMIT ?)"

    @classmethod
    def upsert(cls, table, columns, key):
        """INSERT one row, or UPDATE the row with the same `key` (a unique column)."""
        sets = ", ".join(f"{cls.q(c)} = excluded.{cls.q(c)}" for c in columns if c != key)
        return f"{_insert(cls, table, columns)} ON CONFLICT ({cls.q(key)}) DO UPDATE SET {sets}"


def _insert(d, table, columns):
    return f"INSERT INTO {d.q(table)} ({', '.join(d.q(c) for c in columns)}) VALUES ({', '.join('?' * len(columns))})"


def for_engine(general: "General") -> Union[MySQL, SQLite]:
    """The dialect of [general] dbengine (validated by the config loader: mysql or sqlite)."""
    return MySQL(general) if general.dbengine == "mysql" else SQLite(general)
