"""The "Dialer history" Grafana dashboard: its SQL, with Grafana's macros expanded as the MySQL
data source expands them, runs on a real MariaDB history and gives the expected numbers."""
import json
import random
import re

import pytest

from dialer import store as store_mod
from dialer.store import HistoryEntry
from tests.conftest import ROOT
from tests.plugins.store import general_for

DASHBOARD = ROOT / "monitoring" / "grafana" / "history" / "dialer-history.json"
T0 = 1_800_000_000 - 1_800_000_000 % 86400      # a UTC midnight


def expand(sql, start, end, campaigns):
    """Grafana's MySQL macros (pkg/tsdb/mysql/macros.go) for a dashboard time range."""
    sql = re.sub(r"\$__unixEpochGroupAlias\((\w+), ?1h\)", r"floor(\1/3600)*3600 AS time", sql)
    sql = re.sub(r"\$__unixEpochFilter\((\w+)\)", rf"\1 >= {start} AND \1 <= {end}", sql)
    return sql.replace("$campaign", ", ".join(f"'{c}'" for c in campaigns))


@pytest.fixture
def history(mysql_db, tmp_path):
    st = store_mod.open_store(general_for("mysql", tmp_path, mysql_db))
    st.create_database()
    rnd = random.Random(5)
    entries = [HistoryEntry(campaign=rnd.choice(["a", "b", "c"]), lead_id=i, phone=f"+3361{i:07d}", attempt=1,
                            instance="d1", channelid=None, originated_at=T0 + rnd.randrange(0, 3 * 86400),
                            answered_at=None, ended_at=0, disposition=rnd.choice([12, -2, -4]),
                            answered=rnd.random() < 0.4) for i in range(500)]
    st.add_history(entries)
    st.execute("SET time_zone = '+00:00'")         # the data source's default session zone
    yield st, [e for e in entries if e.campaign in ("a", "b")]
    st.close()


def panel_sql(title):
    d = json.loads(DASHBOARD.read_text())
    (p,) = [p for p in d["panels"] if p["title"] == title]
    (t,) = p["targets"]
    assert t["datasource"]["uid"] == "${datasource}"
    return t["rawSql"]


def test_answer_rate_per_hour(history):
    st, entries = history
    want = {}
    for e in entries:
        w = want.setdefault((e.originated_at // 3600 * 3600, e.campaign), [0, 0])
        w[0] += 1
        w[1] += e.answered
    got = st.rows(expand(panel_sql("Answer rate per hour"), T0, T0 + 3 * 86400, ["a", "b"]))
    assert {(int(t), m): float(v) for t, m, v in got} == {k: pytest.approx(a / n, abs=1e-4) for k, (n, a) in want.items()}
    assert [int(r[0]) for r in got] == sorted(int(r[0]) for r in got)


def test_outcomes_per_day(history):
    st, entries = history
    want = {}
    for e in entries:
        k = (e.originated_at // 86400 * 86400, f"code {e.disposition}")
        want[k] = want.get(k, 0) + 1
    got = st.rows(expand(panel_sql("Outcomes per day"), T0, T0 + 3 * 86400, ["a", "b"]))
    assert {(int(t), m): int(v) for t, m, v in got} == want


def test_campaign_variable_lists_the_campaigns(history):
    st, _ = history
    d = json.loads(DASHBOARD.read_text())
    (var,) = [v for v in d["templating"]["list"] if v["name"] == "campaign"]
    assert sorted(r[0] for r in st.rows(var["query"])) == ["a", "b", "c"]
