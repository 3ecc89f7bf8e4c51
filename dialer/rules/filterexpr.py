"""The campaign `filter`: a small, safe subset of SQL WHERE expressions.

The original appended `filter` to its WHERE clause verbatim. We parse it instead and
re-emit SQL in which every literal is a `?` parameter and every column name comes from
a fixed whitelist, so nothing the user typed reaches the SQL text::

    expr      := term (OR term)*
    term      := factor (AND factor)*
    factor    := NOT factor | '(' expr ')' | predicate
    predicate := operand ( cmp operand
                         | [NOT] LIKE operand
                         | [NOT] IN '(' operand (',' operand)* ')'
                         | [NOT] BETWEEN operand AND operand
                         | IS [NOT] NULL )
    cmp       := = | != | <> | < | <= | > | >=
    operand   := column | 'string' | "string" | number | -number

Keywords and column names are case-insensitive. Strings double a quote to contain it
('O''Brien'). Everything else — function calls, subqueries, `;`, comments, backticks,
arithmetic, unknown columns — is refused with a ValueError naming the token and its
1-based position.

Output: `Filter.sql(quote=None) -> (sql, params)`. Placeholders are `?` (SQLite's
paramstyle); a PyMySQL caller replaces each `?` with `%s` — safe because literals never
appear in the SQL text, so the only `?` characters are placeholders and there is no `%`.
Column names are emitted bare (they are whitelisted, and none is a reserved word in
MariaDB or SQLite) unless a `quote` function is given. LIKE is emitted as
`LOWER(col) LIKE LOWER(?) ESCAPE ?` (case-insensitive on every backend) with `\\` as the escape so `\\%` and `\\_` mean the same on both
databases.
"""
import datetime as _dt
import decimal
import re
from typing import Callable, Iterator, Optional, Sequence, Tuple

CAMPAIGN_COLUMNS = ("id", "phone", "datetime", "attempts", "pickups", "disposition", "reason",
                    "duration", "param", "result", "cause", "lastupdated", "timezone",
                    "areacode", "zipcode")

MAX_LENGTH = 4000
MAX_DEPTH = 40
_KEYWORDS = {"AND", "OR", "NOT", "LIKE", "IN", "BETWEEN", "IS", "NULL"}
_SQL_WORDS = {"SELECT", "UNION", "FROM", "WHERE", "INSERT", "UPDATE", "DELETE", "DROP", "EXISTS",
              "CASE", "WHEN", "INTO", "VALUES", "ALTER", "CREATE", "EXEC", "CALL"}

_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<str>'(?:[^']|'')*'|"(?:[^"]|"")*")
  | (?P<op><=|>=|<>|!=|=|<|>)
  | (?P<punct>[(),-])
""", re.VERBOSE)

_REFUSED = [
    ("--", "comments are not allowed"),
    ("/*", "comments are not allowed"),
    ("#", "comments are not allowed"),
    (";", "statement separators are not allowed"),
    ("`", "backtick-quoted identifiers are not allowed"),
]


class Token:
    __slots__ = ("kind", "text", "pos", "value")

    def __init__(self, kind, text, pos, value=None):
        self.kind, self.text, self.pos, self.value = kind, text, pos, value

    def is_kw(self, *words):
        return self.kind == "kw" and self.value in words

    def __repr__(self):
        return f"{self.kind}:{self.text}@{self.pos}"


def _fail(msg, tok_text, pos, hint=""):
    raise ValueError(f"{msg}: {tok_text!r} at position {pos}{hint}")


def tokenize(text: str, columns: Sequence[str]) -> list:
    cols = {c.lower() for c in columns}
    out = []
    pos = 0
    while pos < len(text):
        for prefix, why in _REFUSED:
            if text.startswith(prefix, pos):
                _fail(why, prefix, pos + 1)
        m = _TOKEN_RE.match(text, pos)
        if not m:
            if text[pos] in "'\"":
                _fail("unterminated string", text[pos:pos + 12], pos + 1)
            _fail("unexpected character", text[pos], pos + 1)
        kind, tok = m.lastgroup, m.group()
        p = pos + 1
        pos = m.end()
        if kind == "ws":
            continue
        if kind == "num":
            if pos < len(text) and (text[pos].isalnum() or text[pos] in "_."):
                _fail("invalid number", text[p - 1:pos + 1], p)
            value = decimal.Decimal(tok) if "." in tok else int(tok)
            out.append(Token("num", tok, p, value))
        elif kind == "str":
            q = tok[0]
            out.append(Token("str", tok, p, tok[1:-1].replace(q + q, q)))
        elif kind == "name":
            up = tok.upper()
            rest = text[pos:].lstrip()
            if up in _KEYWORDS:
                out.append(Token("kw", tok, p, up))
            elif up in _SQL_WORDS:
                what = "subqueries are not allowed" if up == "SELECT" else "only a filter expression is allowed"
                _fail(what, tok, p)
            elif rest.startswith("("):
                _fail("function calls are not allowed", tok, p)
            elif tok.lower() in cols:
                out.append(Token("col", tok, p, tok.lower()))
            else:
                _fail("unknown column", tok, p, f" (columns: {', '.join(columns)})")
        else:
            out.append(Token(kind, tok, p, tok))
    return out


# -- syntax tree ---------------------------------------------------------------
class Col:
    def __init__(self, name):
        self.name = name


class Lit:
    def __init__(self, value):
        self.value = value


class Node:
    def __init__(self, kind, *args, negated=False):
        self.kind, self.args, self.negated = kind, args, negated


class _Parser:
    def __init__(self, text, tokens):
        self.text, self.toks, self.i, self.depth = text, tokens, 0, 0

    def peek(self, k=0) -> Optional[Token]:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def take(self):
        t = self.peek()
        self.i += 1
        return t

    def error(self, expected):
        t = self.peek()
        if t is None:
            raise ValueError(f"expected {expected} but the filter ends at position {len(self.text) + 1}")
        _fail(f"expected {expected}", t.text, t.pos)

    def parse(self):
        if not self.toks:
            raise ValueError("empty filter")
        node = self.expr()
        if self.peek() is not None:
            t = self.peek()
            if t.text == ")":
                _fail("unbalanced parenthesis", t.text, t.pos)
            self.error("AND, OR or the end of the filter")
        return node

    def expr(self):
        node = self.term()
        while self.peek() is not None and self.peek().is_kw("OR"):
            self.take()
            node = Node("or", node, self.term())
        return node

    def term(self):
        node = self.factor()
        while self.peek() is not None and self.peek().is_kw("AND"):
            self.take()
            node = Node("and", node, self.factor())
        return node

    def factor(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            t = self.peek()
            _fail("expression nested too deeply", t.text if t else "", t.pos if t else len(self.text))
        try:
            t = self.peek()
            if t is not None and t.is_kw("NOT"):
                self.take()
                return Node("not", self.factor())
            if t is not None and t.text == "(" and t.kind == "punct":
                self.take()
                node = self.expr()
                close = self.peek()
                if close is None:
                    _fail("unbalanced parenthesis", "(", t.pos)
                if close.text != ")":
                    self.error("')'")
                self.take()
                return node
            return self.predicate()
        finally:
            self.depth -= 1

    def operand(self):
        t = self.peek()
        if t is None:
            self.error("a column, a 'string' or a number")
        if t.kind == "col":
            self.take()
            return Col(t.value)
        if t.kind in ("str", "num"):
            self.take()
            return Lit(t.value)
        if t.text == "-" and self.peek(1) is not None and self.peek(1).kind == "num":
            self.take()
            return Lit(-self.take().value)
        if t.is_kw("NULL"):
            _fail("NULL can only be tested with IS NULL / IS NOT NULL", t.text, t.pos)
        self.error("a column, a 'string' or a number")

    def predicate(self):
        left = self.operand()
        t = self.peek()
        if t is None:
            self.error("a comparison (=, <>, <, LIKE, IN, BETWEEN, IS NULL)")
        if t.kind == "op":
            self.take()
            op = "<>" if t.value == "!=" else t.value
            return Node("cmp", op, left, self.operand())
        negated = False
        if t.is_kw("IS"):
            self.take()
            if self.peek() is not None and self.peek().is_kw("NOT"):
                self.take()
                negated = True
            if self.peek() is None or not self.peek().is_kw("NULL"):
                self.error("NULL after IS")
            self.take()
            return Node("isnull", left, negated=negated)
        if t.is_kw("NOT"):
            self.take()
            negated = True
            t = self.peek()
            if t is None or not t.is_kw("LIKE", "IN", "BETWEEN"):
                self.error("LIKE, IN or BETWEEN after NOT")
        if t.is_kw("LIKE"):
            self.take()
            return Node("like", left, self.operand(), negated=negated)
        if t.is_kw("BETWEEN"):
            self.take()
            lo = self.operand()
            if self.peek() is None or not self.peek().is_kw("AND"):
                self.error("AND in BETWEEN ... AND ...")
            self.take()
            return Node("between", left, lo, self.operand(), negated=negated)
        if t.is_kw("IN"):
            self.take()
            if self.peek() is None or self.peek().text != "(":
                self.error("'(' after IN")
            self.take()
            items = [self.operand()]
            while self.peek() is not None and self.peek().text == ",":
                self.take()
                items.append(self.operand())
            if self.peek() is None:
                _fail("unbalanced parenthesis", "(", t.pos)
            if self.peek().text != ")":
                self.error("',' or ')' in the IN list")
            self.take()
            return Node("in", left, tuple(items), negated=negated)
        self.error("a comparison (=, <>, <, LIKE, IN, BETWEEN, IS NULL)")


# -- SQL output ------------------------------------------------------------------
class Filter:
    """A parsed filter: SQL with parameters, and the same test in Python (for explain)."""

    def __init__(self, text: str, tree: Node):
        self.text, self.tree = text, tree

    def __repr__(self):
        return f"Filter({self.text!r})"

    def __eq__(self, other):
        # Same SQL = same filter, whatever the spelling (a reload compares settings).
        return isinstance(other, Filter) and self.sql() == other.sql()

    def __hash__(self):
        return hash(self.sql())

    def __iter__(self) -> Iterator:
        """`sql, params = parse_filter(...)` works (bare column names)."""
        return iter(self.sql())

    def sql(self, quote: Optional[Callable[[str], str]] = None) -> Tuple[str, tuple]:
        params: list = []
        q = quote or (lambda name: name)

        def op(x):
            if isinstance(x, Col):
                return q(x.name)
            params.append(x.value)
            return "?"

        def emit(n: Node) -> str:
            k = n.kind
            if k in ("and", "or"):
                return f"({emit(n.args[0])} {k.upper()} {emit(n.args[1])})"
            if k == "not":
                return f"(NOT ({emit(n.args[0])}))"
            neg = "NOT " if n.negated else ""
            if k == "cmp":
                return f"{op(n.args[1])} {n.args[0]} {op(n.args[2])}"
            if k == "isnull":
                return f"{op(n.args[0])} IS {neg}NULL"
            if k == "like":
                left, pat = op(n.args[0]), op(n.args[1])
                params.append("\\")
                # LOWER() on both sides: MariaDB's utf8mb4_bin columns compare case-sensitively,
                # SQLite's LIKE and explain (Filter.matches) do not; the filter means the same on all.
                return f"LOWER({left}) {neg}LIKE LOWER({pat}) ESCAPE ?"
            if k == "between":
                return f"{op(n.args[0])} {neg}BETWEEN {op(n.args[1])} AND {op(n.args[2])}"
            if k == "in":
                left = op(n.args[0])
                return f"{left} {neg}IN ({', '.join(op(i) for i in n.args[1])})"
            raise AssertionError(k)

        text = emit(self.tree)
        return text, tuple(float(p) if isinstance(p, decimal.Decimal) else p for p in params)

    # -- evaluation in Python (SQL three-valued logic: None = unknown) ---------------
    def matches(self, row: dict) -> bool:
        """True when the database would select `row` (a dict of column -> value)."""
        return _eval(self.tree, row) is True


def _value(x, row):
    return row.get(x.name) if isinstance(x, Col) else x.value


def _num(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float, decimal.Decimal)):
        return v
    try:
        return decimal.Decimal(str(v).strip())
    except (decimal.InvalidOperation, ValueError):
        return None


def _coerce(a, b):
    """Make a and b comparable the way MariaDB would (numbers numerically, dates as dates)."""
    if isinstance(a, _dt.datetime) or isinstance(b, _dt.datetime):
        def as_dt(v):
            if isinstance(v, _dt.datetime):
                return v.replace(tzinfo=None)
            try:
                return _dt.datetime.fromisoformat(str(v).strip())
            except ValueError:
                return None
        da, db = as_dt(a), as_dt(b)
        if da is not None and db is not None:
            return da, db
        return str(a), str(b)
    numeric = lambda v: isinstance(v, (int, float, decimal.Decimal)) and not isinstance(v, bool)
    if numeric(a) or numeric(b):
        na, nb = _num(a), _num(b)
        if na is not None and nb is not None:
            return decimal.Decimal(str(na)), decimal.Decimal(str(nb))
    return str(a), str(b)


_CMP = {"=": lambda a, b: a == b, "<>": lambda a, b: a != b, "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def _compare(op, a, b):
    if a is None or b is None:
        return None
    a, b = _coerce(a, b)
    return _CMP[op](a, b)


def _like(value, pattern):
    if value is None or pattern is None:
        return None
    out, i, pat = [], 0, str(pattern)
    while i < len(pat):
        c = pat[i]
        if c == "\\" and i + 1 < len(pat):
            out.append(re.escape(pat[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    return re.fullmatch("".join(out), str(value), re.IGNORECASE | re.DOTALL) is not None


def _not(v):
    return None if v is None else not v


def _eval(n: Node, row):
    k = n.kind
    if k == "and":
        a, b = _eval(n.args[0], row), _eval(n.args[1], row)
        if a is False or b is False:
            return False
        return None if a is None or b is None else True
    if k == "or":
        a, b = _eval(n.args[0], row), _eval(n.args[1], row)
        if a is True or b is True:
            return True
        return None if a is None or b is None else False
    if k == "not":
        return _not(_eval(n.args[0], row))
    if k == "cmp":
        return _compare(n.args[0], _value(n.args[1], row), _value(n.args[2], row))
    if k == "isnull":
        return (_value(n.args[0], row) is None) != n.negated
    if k == "like":
        r = _like(_value(n.args[0], row), _value(n.args[1], row))
    elif k == "between":
        v = _value(n.args[0], row)
        lo, hi = _compare(">=", v, _value(n.args[1], row)), _compare("<=", v, _value(n.args[2], row))
        r = _eval(Node("and", Node("const", lo), Node("const", hi)), row)
    elif k == "in":
        v = _value(n.args[0], row)
        results = [_compare("=", v, _value(i, row)) for i in n.args[1]]
        r = True if True in results else (None if None in results else False)
    elif k == "const":
        return n.args[0]
    else:
        raise AssertionError(k)
    return _not(r) if n.negated else r


def parse_filter(text, columns: Sequence[str] = CAMPAIGN_COLUMNS) -> Optional[Filter]:
    """Parse a `filter` value; `0`, `none` or empty mean no filter (None).

    Raises ValueError with a one-line message naming the offending token and position.
    """
    raw = "" if text is None else str(text).strip()
    if raw.lower() in ("", "0", "none"):
        return None
    if len(raw) > MAX_LENGTH:
        raise ValueError(f"filter longer than {MAX_LENGTH} characters")
    tree = _Parser(raw, tokenize(raw, columns)).parse()
    return Filter(raw, tree)
