"""The `filter` parser: every grammar form, every refusal, and the SQL it produces run
against real SQLite and MariaDB tables (plus the Python evaluator used by explain)."""
import sqlite3

import pytest

from dialer.rules.filterexpr import CAMPAIGN_COLUMNS, parse_filter
from tests.conftest import mysql_connect

# -- grammar ---------------------------------------------------------------------------


@pytest.mark.parametrize("text,sql,params", [
    ("attempts < 3", "attempts < ?", (3,)),
    ("attempts<=3", "attempts <= ?", (3,)),
    ("attempts > 3", "attempts > ?", (3,)),
    ("attempts >= 3", "attempts >= ?", (3,)),
    ("disposition = -2", "disposition = ?", (-2,)),
    ("disposition != 8", "disposition <> ?", (8,)),
    ("disposition <> 8", "disposition <> ?", (8,)),
    ("duration > 1.5", "duration > ?", (1.5,)),
    ("3 > attempts", "? > attempts", (3,)),
    ("attempts < pickups", "attempts < pickups", ()),
    ("PHONE like '33%'", "LOWER(phone) LIKE LOWER(?) ESCAPE ?", ("33%", "\\")),
    ("phone NOT LIKE \"06%\"", "LOWER(phone) NOT LIKE LOWER(?) ESCAPE ?", ("06%", "\\")),
    ("reason = 'O''Brien'", "reason = ?", ("O'Brien",)),
    ("reason = 'a -- b; /* c */ # d `e`'", "reason = ?", ("a -- b; /* c */ # d `e`",)),
    ("disposition IN (1, -2,3)", "disposition IN (?, ?, ?)", (1, -2, 3)),
    ("zipcode not in ('75001','75002')", "zipcode NOT IN (?, ?)", ("75001", "75002")),
    ("id BETWEEN 2 AND 4", "id BETWEEN ? AND ?", (2, 4)),
    ("id not between 2 and 4", "id NOT BETWEEN ? AND ?", (2, 4)),
    ("cause IS NULL", "cause IS NULL", ()),
    ("cause is not null", "cause IS NOT NULL", ()),
    ("NOT attempts = 0", "(NOT (attempts = ?))", (0,)),
    ("attempts = 0 OR pickups = 0 AND id = 1",
     "(attempts = ? OR (pickups = ? AND id = ?))", (0, 0, 1)),
    ("(attempts = 0 OR pickups = 0) AND id = 1",
     "((attempts = ? OR pickups = ?) AND id = ?)", (0, 0, 1)),
    ("((((id = 1))))", "id = ?", (1,)),
    ("datetime < '2026-01-01 00:00:00'", "datetime < ?", ("2026-01-01 00:00:00",)),
])
def test_grammar(text, sql, params):
    assert parse_filter(text).sql() == (sql, params)


def test_unpacks_as_sql_and_params_and_quotes_columns_on_request():
    sql, params = parse_filter("phone = '1' and attempts < 2")
    assert (sql, params) == ("(phone = ? AND attempts < ?)", ("1", 2))
    assert parse_filter("phone = '1'").sql(lambda c: f"`{c}`") == ("`phone` = ?", ("1",))


def test_filters_compare_by_meaning():
    assert parse_filter("attempts<3 and PHONE like '1%'") == parse_filter("attempts < 3 AND phone LIKE '1%'")
    assert parse_filter("attempts < 3") != parse_filter("attempts < 4")
    assert len({parse_filter("id = 1"), parse_filter("ID=1")}) == 1


@pytest.mark.parametrize("text", [None, "", "  ", "0", "none", "NONE"])
def test_no_filter(text):
    assert parse_filter(text) is None


@pytest.mark.parametrize("text,fragment", [
    ("1=1; DROP TABLE x", "statement separators are not allowed: ';' at position 4"),
    ("phone = '1' OR 1=1 --", "comments are not allowed: '--' at position 20"),
    ("phone = '1' OR 1=1 -- '", "comments are not allowed: '--'"),
    ("id = 1 /* x */", "comments are not allowed: '/*' at position 8"),
    ("id = 1 # x", "comments are not allowed: '#' at position 8"),
    ("id IN (SELECT id FROM x)", "subqueries are not allowed: 'SELECT' at position 8"),
    ("EXISTS (select 1)", "only a filter expression is allowed: 'EXISTS'"),
    ("id = 1 UNION SELECT 1", "only a filter expression is allowed: 'UNION' at position 8"),
    ("sleep(5)", "function calls are not allowed: 'sleep' at position 1"),
    ("phone = concat ('1', '2')", "function calls are not allowed: 'concat'"),
    ("benchmark(1000000, md5('x')) = 0", "function calls are not allowed: 'benchmark'"),
    ("`id` = 1", "backtick-quoted identifiers are not allowed: '`' at position 1"),
    ("password = 'x'", "unknown column: 'password' at position 1"),
    ("(id = 1", "unbalanced parenthesis: '(' at position 1"),
    ("id IN (1, 2", "unbalanced parenthesis"),
    ("id = 1)", "unbalanced parenthesis: ')' at position 7"),
    ("phone = 'abc", "unterminated string"),
    ("id = 0x10", "invalid number: '0x'"),
    ("id = 1e3", "invalid number"),
    ("id = NULL", "NULL can only be tested with IS NULL"),
    ("id", "expected a comparison"),
    ("id = 1 AND", "expected a column, a 'string' or a number but the filter ends at position 11"),
    ("attempts + 1 > 0", "unexpected character: '+' at position 10"),
    ("attempts - 1 > 0", "expected a comparison"),
    ("id = 1 id = 2", "expected AND, OR or the end of the filter: 'id' at position 8"),
    ("id IS 1", "expected NULL after IS"),
    ("id NOT = 1", "expected LIKE, IN or BETWEEN after NOT"),
    ("id BETWEEN 1 OR 2", "expected AND in BETWEEN"),
    ("id IN 1", "expected '(' after IN"),
    ("id = 1 || 1", "unexpected character: '|'"),
    ("id = 1 && 1", "unexpected character: '&'"),
    ("phone = '1' \\", "unexpected character"),
    ("phone = :x", "unexpected character: ':'"),
    ("phone = ?", "unexpected character: '?'"),
    ("phone = %s", "unexpected character: '%'"),
    ("id = 1\nid = 2", "expected AND, OR"),
    ("NOT " * 60 + "id = 1", "nested too deeply"),
])
def test_refusals(text, fragment):
    with pytest.raises(ValueError) as err:
        parse_filter(text)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_custom_column_whitelist():
    assert parse_filter("x = 1", columns=("x",)).sql() == ("x = ?", (1,))
    with pytest.raises(ValueError, match="unknown column: 'phone'"):
        parse_filter("phone = '1'", columns=("x",))


# -- against real databases ------------------------------------------------------------

ROWS = [
    # id, phone, attempts, pickups, disposition, reason, duration, param, result, cause, timezone, areacode, zipcode, datetime
    (1, "33123456789", 0, 0, 1, "Unknow", 0, "", None, None, "Europe/Paris", "1", "75001", None),
    (2, "+33612345678", 1, 0, -2, "No answer", 0, "vip", None, "No user responding", "Europe/Paris", "6", "75002", "2026-01-02 10:00:00"),
    (3, "12125551234", 2, 1, 12, "Answered", 95, "O'Brien", "sale", "Normal Clearing", "America/New_York", "212", "10001", "2026-01-03 11:00:00"),
    (4, "+16465550000", 3, 1, -3, "Voicemail", 20, "x_y", "vm", None, "America/New_York", "646", None, "2026-01-04 12:00:00"),
    (5, "0612345678", 1, 0, 8, "Answered", 5, "50%", "dnc", "Normal Clearing", "", None, "13001", "2025-12-31 23:59:59"),
    (6, "447700900123", 0, 0, 1, "Unknow", 0, "X_Y", None, None, None, "7700", "SW1A 1AA", None),
]
COLS = ("id", "phone", "attempts", "pickups", "disposition", "reason", "duration", "param", "result",
        "cause", "timezone", "areacode", "zipcode", "datetime")

CASES = [
    ("attempts < 2", {1, 2, 5, 6}),
    ("attempts <= 1 AND pickups = 0", {1, 2, 5, 6}),
    ("disposition = -2", {2}),
    ("disposition <> 1", {2, 3, 4, 5}),
    ("disposition != 1 AND disposition > -5", {2, 3, 4, 5}),
    ("phone LIKE '33%'", {1}),
    ("phone LIKE '+33%' OR phone LIKE '33%'", {1, 2}),
    ("phone NOT LIKE '%5%'", {6}),
    ("phone LIKE '_212%'", {3}),
    ("phone LIKE '1212%'", {3}),
    ("phone LIKE '_2125%'", {3}),
    ("param LIKE '50\\%'", {5}),
    ("param LIKE '%\\_%'", {4, 6}),
    ("param LIKE 'x_y'", {4, 6}),
    ("param = 'O''Brien'", {3}),
    ("disposition IN (8, 12)", {3, 5}),
    ("disposition NOT IN (8, 12)", {1, 2, 4, 6}),
    ("zipcode IN ('75001', '10001')", {1, 3}),
    ("zipcode NOT IN ('75001')", {2, 3, 5, 6}),  # NULL zipcode is neither in nor not in
    ("id BETWEEN 2 AND 4", {2, 3, 4}),
    ("id NOT BETWEEN 2 AND 4", {1, 5, 6}),
    ("cause IS NULL", {1, 4, 6}),
    ("cause IS NOT NULL", {2, 3, 5}),
    ("result IS NULL OR result = 'sale'", {1, 2, 3, 6}),
    ("NOT (disposition = 8)", {1, 2, 3, 4, 6}),
    ("NOT disposition = 8 AND attempts > 0", {2, 3, 4}),
    ("(attempts = 0 OR pickups = 1) AND duration < 50", {1, 4, 6}),
    ("attempts = 0 OR pickups = 1 AND duration < 50", {1, 4, 6}),
    ("attempts < pickups", set()),
    ("attempts > pickups", {2, 3, 4, 5}),
    ("timezone = 'America/New_York'", {3, 4}),
    ("timezone = '' OR timezone IS NULL", {5, 6}),
    ("areacode IN ('212', '646')", {3, 4}),
    ("duration >= 20", {3, 4}),
    ("duration >= 19.5", {3, 4}),
    ("datetime < '2026-01-03 00:00:00'", {2, 5}),
    ("datetime >= '2026-01-03 00:00:00'", {3, 4}),
    ("datetime IS NULL", {1, 6}),
    ("phone = '1' OR 1 = 1", {1, 2, 3, 4, 5, 6}),  # harmless: only leads of this campaign
]


def _sqlite_table(conn):
    conn.execute("""CREATE TABLE camp (id INTEGER PRIMARY KEY, phone VARCHAR(64) NOT NULL, datetime TIMESTAMP NULL,
        attempts INT DEFAULT 0, pickups INT DEFAULT 0, disposition INT DEFAULT 1, reason VARCHAR(255),
        duration INT DEFAULT 0, param VARCHAR(255), result VARCHAR(255), cause VARCHAR(255),
        lastupdated TIMESTAMP NULL, timezone VARCHAR(64), areacode VARCHAR(16), zipcode VARCHAR(16))""")
    conn.executemany(f"INSERT INTO camp ({', '.join(COLS)}) VALUES ({', '.join('?' * len(COLS))})", ROWS)


@pytest.fixture(scope="module")
def sqlite_conn():
    conn = sqlite3.connect(":memory:")
    _sqlite_table(conn)
    yield conn
    conn.close()


@pytest.mark.parametrize("text,expected", CASES)
def test_sqlite_selects_exactly_the_expected_rows(sqlite_conn, text, expected):
    sql, params = parse_filter(text).sql(lambda c: f'"{c}"')
    got = {r[0] for r in sqlite_conn.execute(f"SELECT id FROM camp WHERE {sql}", params)}
    assert got == expected
    bare_sql, bare_params = parse_filter(text)
    assert {r[0] for r in sqlite_conn.execute(f"SELECT id FROM camp WHERE {bare_sql}", bare_params)} == expected


@pytest.mark.parametrize("text,expected", CASES)
def test_python_evaluation_agrees_with_the_databases(text, expected):
    f = parse_filter(text)
    got = {row[0] for row in ROWS if f.matches(dict(zip(COLS, row)))}
    assert got == expected


@pytest.fixture
def mysql_camp(mysql_db):
    conn = mysql_connect(mysql_db["database"])
    with conn.cursor() as cur:
        cur.execute("""CREATE TABLE camp (id INT AUTO_INCREMENT PRIMARY KEY, phone VARCHAR(64) NOT NULL,
            datetime TIMESTAMP NULL DEFAULT NULL, attempts INT DEFAULT 0, pickups INT DEFAULT 0,
            disposition INT DEFAULT 1, reason VARCHAR(255) DEFAULT 'Unknow', duration INT DEFAULT 0,
            param VARCHAR(255), result VARCHAR(255), cause VARCHAR(255),
            lastupdated TIMESTAMP NULL DEFAULT NULL ON UPDATE CURRENT_TIMESTAMP,
            timezone VARCHAR(64), areacode VARCHAR(16), zipcode VARCHAR(16)) DEFAULT CHARSET=utf8mb4""")
        cur.executemany(f"INSERT INTO camp ({', '.join(COLS)}) VALUES ({', '.join(['%s'] * len(COLS))})", ROWS)
    yield conn
    conn.close()


def test_mariadb_selects_exactly_the_expected_rows(mysql_camp):
    # One database for all cases: a fresh MariaDB database per case would only add time.
    with mysql_camp.cursor() as cur:
        for text, expected in CASES:
            for quote in (None, lambda c: f"`{c}`"):
                sql, params = parse_filter(text).sql(quote)
                cur.execute(f"SELECT id FROM camp WHERE {sql}".replace("?", "%s"), params)
                assert {r[0] for r in cur.fetchall()} == expected, text


def test_every_column_is_usable_bare_on_both_databases(sqlite_conn, mysql_camp):
    for col in CAMPAIGN_COLUMNS:
        sql, params = parse_filter(f"{col} IS NULL OR {col} IS NOT NULL")
        assert len(sqlite_conn.execute(f"SELECT id FROM camp WHERE {sql}", params).fetchall()) == len(ROWS)
        with mysql_camp.cursor() as cur:
            cur.execute(f"SELECT id FROM camp WHERE {sql}".replace("?", "%s"), params)
            assert len(cur.fetchall()) == len(ROWS), col


def test_injection_strings_stay_values(sqlite_conn, mysql_camp):
    text = "phone = '1'' OR ''1''=''1' OR reason = 'x''); DROP TABLE camp; --'"
    sql, params = parse_filter(text)
    assert params == ("1' OR '1'='1", "x'); DROP TABLE camp; --")
    assert sqlite_conn.execute(f"SELECT id FROM camp WHERE {sql}", params).fetchall() == []
    with mysql_camp.cursor() as cur:
        cur.execute(f"SELECT id FROM camp WHERE {sql}".replace("?", "%s"), params)
        assert cur.fetchall() == ()
        cur.execute("SELECT COUNT(*) FROM camp")
        assert cur.fetchone()[0] == len(ROWS)
