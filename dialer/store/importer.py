"""`file`/`import` and the DNC/blacklist imports: parse, validate, load in one transaction.

Validation is done here in Python, line by line, so every rejected line gets its number and
reason; the clean rows are then written with the backend's fastest path (MariaDB: a temp file
through LOAD DATA LOCAL INFILE; SQLite: executemany), inside one transaction.
"""
import csv
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field

from . import schema, validate
from .errors import BulkLoadRefused, StoreError

CHUNK = 1 << 22
BATCH = 20000

HEADER_NAMES = {
    "phone": "phone", "number": "phone", "phonenumber": "phone", "phone_number": "phone",
    "telephone": "phone", "tel": "phone", "msisdn": "phone", "numero": "phone",
    "param": "param", "parameter": "param", "paramater": "param", "data": "param",
    "timezone": "timezone", "tz": "timezone", "time_zone": "timezone", "zone": "timezone",
    "areacode": "areacode", "area_code": "areacode", "zipcode": "zipcode", "zip": "zipcode",
    "zip_code": "zipcode", "postcode": "zipcode", "postal_code": "zipcode",
}
_HEADER_RE = re.compile(r"[A-Za-z_ \"]+\Z")
_STRIP = str.maketrans("", "", " -.()")
_SEP = re.compile("[,;\t]")


@dataclass
class ImportReport:
    path: str
    imported: int = 0
    rejected: int = 0
    duplicates: int = 0
    seconds: float = 0.0
    rejected_path: str = ""
    first_errors: list = field(default_factory=list)

    @property
    def rate(self):
        return self.imported / self.seconds if self.seconds > 0 else 0.0

    @property
    def status(self):
        """Exit status: 0 all imported, 1 some lines rejected, 2 nothing imported."""
        if self.rejected and self.imported:
            return 1
        if self.rejected or (not self.imported and not self.duplicates):
            return 2
        return 0

    def summary(self):
        s = (f"{self.path}: imported {self.imported}, rejected {self.rejected}, duplicates skipped "
             f"{self.duplicates}, {self.seconds:.2f} s, {self.rate:,.0f} rows/s")
        if self.rejected:
            s += f"; rejected lines in {self.rejected_path}"
        elif not self.imported and not self.duplicates:
            s += "; no leads in the file"
        return s


def _lines(f):
    """Yield the lines of a LF, CRLF or CR file, chunk by chunk, without terminators.

    A line is a str, or the raw bytes when it is not valid UTF-8 (to be rejected).
    """
    rest = b""
    while True:
        chunk = f.read(CHUNK)
        data = rest + chunk
        if not chunk:
            if data:
                yield from _decode(data + b"\n")
            return
        end = len(data) - 1 if data.endswith(b"\r") else len(data)  # "\r" may be half of "\r\n"
        cut = max(data.rfind(b"\n", 0, end), data.rfind(b"\r", 0, end))
        if cut < 0:
            rest = data
            continue
        rest = data[cut + 1:]
        yield from _decode(data[:cut + 1])


def _decode(block):
    """Lines of a block that ends with a line terminator."""
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        out = []
        for raw in block.splitlines():
            try:
                out.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                out.append(raw)
        return out
    # Only CR and LF end lines (str.splitlines would also split on VT, FF, U+2028...).
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines.pop()
    return lines


class _Parser:
    """Turns raw lines into validated row tuples; remembers the column layout."""

    def __init__(self, columns_allowed):
        self.allowed = columns_allowed
        self.sep = None
        self.cols = None          # header mapping: list of column names
        self.simple = True        # phone[,param] layout
        self.out_cols = ("phone", "param") if "param" in columns_allowed else ("phone",)

    def header(self, s):
        """Recognise a header line; returns True if it was one."""
        sep = self._detect(s)
        fields = [f.strip().strip('"').strip() for f in s.split(sep)]
        if not fields or any(c.isdigit() for c in fields[0]) or not _HEADER_RE.match(s.replace(sep, " ")):
            return False
        if not any(f.lower().replace(" ", "_") in HEADER_NAMES for f in fields):
            return False   # words but no column we know: a bad data line, rejected as such
        names = []
        for f in fields:
            key = HEADER_NAMES.get(f.lower().replace(" ", "_"))
            if key is None and "param" in self.allowed and "param" not in names:
                key = "param"   # e.g. "phone,customer": the free column is the param
            if key is None or key not in self.allowed:
                raise StoreError(f"line 1: unknown column {f!r} in the header (expected "
                                 f"{', '.join(self.allowed)})")
            if key in names:
                raise StoreError(f"line 1: column {f!r} appears twice in the header")
            names.append(key)
        if "phone" not in names:
            raise StoreError("line 1: the header has no phone column")
        self.sep, self.cols = sep, names
        self.simple = names in (["phone"], ["phone", "param"])
        self.out_cols = tuple(c for c in schema.IMPORT_COLUMNS if c in names)
        return True

    def _detect(self, s):
        if self.sep is None:
            for c in (",", ";", "\t"):
                if c in s:
                    return c
            return ","
        return self.sep

    def row(self, s):
        """Validated tuple in out_cols order, or raise ValueError with the reason."""
        if self.sep is None:
            self.sep = self._detect(s)
        sep = self.sep
        if '"' in s:
            if s.count('"') % 2:
                raise ValueError("unbalanced double quote (a field cannot span lines)")
            fields = next(csv.reader([s], delimiter=sep))
        elif self.simple:
            # No header or a plain phone,param one: the first separator of any kind ends the
            # phone (phones never contain one) and the param keeps the rest of the line.
            m = _SEP.search(s)
            fields = (s[:m.start()], s[m.end():]) if m else (s,)
        else:
            fields = s.split(sep)
        if self.simple:
            p = fields[0].translate(_STRIP)
            if not validate.PHONE_RE.match(p):
                p = validate.phone(fields[0])
            if len(self.out_cols) == 1:
                return (p,)
            prm = fields[1] if len(fields) > 1 else ""
            if len(prm) > validate.PARAM_MAX or not prm.isprintable():
                validate.param(prm)
            return (p, prm)
        if len(fields) > len(self.cols):
            raise ValueError(f"{len(fields)} fields, the header has {len(self.cols)}")
        got = dict(zip(self.cols, fields))
        out = []
        for c in self.out_cols:
            v = got.get(c, "")
            if c == "phone":
                v = validate.phone(v)
            elif c == "param":
                v = validate.param(v)
            elif c == "timezone":
                v = validate.timezone(v)
            else:
                v = validate.code(v, c)
            out.append(v)
        return tuple(out)


def read_valid_rows(path, columns_allowed, report, progress=None, seen=None):
    """Yield (out_cols, batch) lists of valid rows; rejected lines go to <path>.rejected.

    `seen`: a set of phones to skip as duplicates (also filled with the file's own phones).
    """
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}") from None
    report.rejected_path = path + ".rejected"
    try:
        os.unlink(report.rejected_path)  # a stale one from a previous run would mislead
    except OSError:
        pass
    rej = None
    parser = _Parser(columns_allowed)
    total = os.fstat(f.fileno()).st_size
    batch = []
    n = 0
    first = True
    try:
        with f:
            row_of = parser.row
            for n, s in enumerate(_lines(f), 1):
                if s.__class__ is bytes:
                    reason = "not valid UTF-8"
                    s = s.decode("utf-8", "backslashreplace")
                elif not s or s.isspace():
                    continue
                else:
                    if first:
                        first = False
                        if s.startswith("\ufeff"):
                            s = s[1:]
                        try:
                            if parser.header(s):
                                continue
                        except StoreError as exc:
                            raise StoreError(f"{path}: {exc}") from None
                    try:
                        row = row_of(s)
                    except ValueError as exc:
                        reason = str(exc)
                    else:
                        if seen is not None:
                            if row[0] in seen:
                                report.duplicates += 1
                                continue
                            seen.add(row[0])
                        batch.append(row)
                        if len(batch) >= BATCH:
                            yield parser.out_cols, batch
                            batch = []
                            if progress:
                                progress(f.tell(), total)
                        continue
                first = False
                report.rejected += 1
                if len(report.first_errors) < 3:
                    report.first_errors.append(f"{path}: line {n}: {reason}")
                if rej is None:
                    rej = open(report.rejected_path, "w", encoding="utf-8", newline="\n")
                rej.write(f"line {n}: {reason}\t{_escape(s)}\n")
            if batch:
                yield parser.out_cols, batch
            if progress:
                progress(total, total)
    finally:
        if rej is not None:
            rej.close()


def _escape(s):
    return "".join(c if c.isprintable() or c == "\t" else repr(c)[1:-1] for c in s)


def _mysql_rows(batch):
    """Rows as LOAD DATA text: tab-separated, backslash escaped (tabs/newlines were rejected)."""
    text = "\n".join(map("\t".join, batch)) + "\n"
    return text.replace("\\", "\\\\") if "\\" in text else text


class ImportMixin:
    def import_file(self, name, path, dedupe=False, progress=None):
        """Import a lead file into a campaign; returns an ImportReport."""
        t = self.campaign(name)
        seen = None
        if dedupe:
            seen = set()
            cur = self.d.streaming_cursor(self.conn())
            try:
                cur.execute(self.d.sql(f"SELECT phone FROM {t}"))
                for (p,) in cur:
                    seen.add(p)
            except Exception as exc:
                raise self._fail(exc) from exc
            finally:
                cur.close()
        return self._load(name, t, path, schema.IMPORT_COLUMNS, seen, progress, zones_for=name)

    def list_import(self, path, table=None, progress=None):
        """Import numbers into the DNC table (table None) or a blacklist table."""
        t = self.list_table(table, create=True)
        return self._load(table or schema.DNC_TABLE, t, path, ("phone",), None, progress, ignore=True)

    def _load(self, name, qtable, path, columns, seen, progress, zones_for=None, ignore=False):
        report = ImportReport(path=path)
        t0 = time.monotonic()
        zones = set()
        valid = 0
        bulk = self.d.bulk_needs_file
        if bulk:
            seen0 = None if seen is None else set(seen)
            try:
                added, valid = self._bulk_through_fifo(name, path, columns, report, progress, seen, zones,
                                                       bool(zones_for), ignore)
            except BulkLoadRefused:
                # The server forbids LOAD DATA LOCAL (local_infile=OFF): same import, by INSERTs.
                report, zones, seen, bulk = ImportReport(path=path), set(), seen0, False
            else:
                if zones_for and zones - {""}:
                    self.add_zones(zones_for, zones - {""})
                report.imported = added
        if not bulk:
            with self.write_tx():
                for cols, batch in read_valid_rows(path, columns, report, progress, seen):
                    valid += len(batch)
                    cur = self.execute_many(
                        f"{self.d.insert_ignore if ignore else 'INSERT'} INTO {qtable} ({', '.join(map(self.d.q, cols))}) "
                        f"VALUES ({', '.join('?' * len(cols))})", batch)
                    report.imported += cur.rowcount if ignore else len(batch)
                    if zones_for and "timezone" in cols:
                        zones.update(r[cols.index("timezone")] for r in batch)
                if zones_for:
                    self.add_zones(zones_for, zones - {""})
        if ignore:
            report.duplicates += valid - report.imported
        report.seconds = time.monotonic() - t0
        return report

    def _bulk_through_fifo(self, name, path, columns, report, progress, seen, zones, want_zones, ignore):
        """LOAD DATA from a named pipe that a thread fills with the validated rows.

        Parsing (this process) and inserting (the server) overlap, so an import takes about
        as long as the server needs for a clean file. Returns (rows added, valid rows).
        """
        tmpdir = tempfile.mkdtemp(prefix="dialer-import-")
        fifo = os.path.join(tmpdir, "rows.tsv")
        os.mkfifo(fifo, 0o600)
        state = {"valid": 0, "error": None}
        tz = columns.index("timezone") if "timezone" in columns else -1

        def feed():
            try:
                with open(fifo, "w", encoding="utf-8", newline="\n") as out:
                    for cols, batch in read_valid_rows(path, columns, report, progress, seen):
                        state["valid"] += len(batch)
                        if cols != columns:
                            idx = [cols.index(c) if c in cols else -1 for c in columns]
                            batch = [tuple(r[i] if i >= 0 else "" for i in idx) for r in batch]
                        if want_zones and tz >= 0 and "timezone" in cols:
                            zones.update(r[tz] for r in batch)
                        out.write(_mysql_rows(batch))
            except BaseException as exc:  # re-raised by the caller after the load
                state["error"] = exc

        writer = threading.Thread(target=feed, name="dialer-import", daemon=True)
        writer.start()
        added = 0
        try:
            with self.write_tx():
                try:
                    added = self.d.bulk_load(self.conn().cursor(), name, columns, fifo, ignore=ignore)
                except Exception as exc:
                    raise self._fail(exc) from exc
                finally:
                    _unblock(fifo, writer)
                if state["error"] is not None:
                    raise state["error"]   # rolls the partial load back
        finally:
            _unblock(fifo, writer)
            shutil.rmtree(tmpdir, ignore_errors=True)
        if state["error"] is not None:
            raise state["error"]
        return added, state["valid"]


def _unblock(fifo, writer):
    """Make sure the writer thread ends even if the server never opened the pipe."""
    while writer.is_alive():
        try:
            fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            break
        try:
            while os.read(fd, 1 << 16):
                pass
        except BlockingIOError:
            pass
        finally:
            os.close(fd)
        writer.join(0.05)
    writer.join()
