"""`dump` / `fulldump` and the DNC/blacklist dumps: RFC 4180 CSV, streamed row by row."""
import csv
import datetime as _dt

from . import schema


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, _dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    return v


class DumpMixin:
    def dump(self, name, out, header=False):
        """Write the campaign as CSV to `out` (a text stream); returns the number of rows."""
        t = self.campaign(name)
        cols = schema.DUMP_COLUMNS
        return self._stream(f"SELECT {', '.join(self.d.q(c) for c in cols)} FROM {t} ORDER BY id",
                            cols, out, header)

    def list_dump(self, out, table=None, header=False):
        t = self.list_table(table)
        return self._stream(f"SELECT phone FROM {t} ORDER BY phone", ("phone",), out, header)

    def _stream(self, sql, cols, out, header, params=(), convert=None):
        w = csv.writer(out, lineterminator="\r\n")
        if header:
            w.writerow(cols)
        # A server-side cursor on MariaDB: constant memory whatever the table size. It holds
        # the connection until drained, so it gets a connection of its own.
        conn = self.d.connect() if self.d.name == "mysql" else self.conn()
        n = 0
        try:
            cur = self.d.streaming_cursor(conn)
            cur.execute(self.d.sql(sql), tuple(params))
            while True:
                rows = cur.fetchmany(2000)
                if not rows:
                    break
                n += len(rows)
                if convert is not None:
                    rows = map(convert, rows)
                w.writerows([[_cell(v) for v in r] for r in rows])
            cur.close()
        except (OSError, KeyboardInterrupt):
            raise   # the output side (a closed pipe, a full disk), not the database
        except Exception as exc:
            raise self._fail(exc) from exc
        finally:
            if conn is not self._conn:
                conn.close()
        return n
