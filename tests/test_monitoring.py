"""monitoring/: the alert rules, their promtool unit tests, the example Prometheus config and the
Grafana dashboard/provisioning agree with each other and with what dialer.metrics exposes."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from dialer.metrics import Metrics
from tests.plugins.ops import (dashboard, exercise, free_port, metric_names, missing_metrics,
                               parse_exposition, queries, rule_list, scrape)

ROOT = Path(__file__).resolve().parent.parent
PROM = ROOT / "monitoring" / "prometheus"
RULES = PROM / "dialer-alerts.yml"
RULE_TESTS = PROM / "dialer-alerts.test.yml"
PROM_EXAMPLE = PROM / "prometheus-example.yml"
DASHBOARDS = ROOT / "monitoring" / "grafana" / "dashboards"
PROVISIONING = ROOT / "monitoring" / "grafana" / "provisioning" / "dashboards" / "dialer.yaml"

# Labels Prometheus attaches to every scraped series.
TARGET_LABELS = {"instance", "job"}

_SELECTOR = re.compile(r"\b(dialer_[a-zA-Z0-9_]+)\s*(\{[^}]*\})")
_MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"')
_GROUPING = re.compile(r"\b(?:by|on|ignoring|without)\s*\(([^)]*)\)")
_LEGEND = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")


@pytest.fixture(scope="module")
def exposition():
    """The text scraped over HTTP from a Metrics with every method called."""
    host, port = exercise(Metrics()).start_http("127.0.0.1", free_port())
    return scrape(host, port)[1]


def run(*cmd, cwd=None):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd)
    return proc.returncode, proc.stdout + proc.stderr


# -- promtool ----------------------------------------------------------------------------------

def test_promtool_check_rules(promtool):
    rc, out = run(promtool, "check", "rules", RULES)
    assert rc == 0 and "SUCCESS: 10 rules found" in out, out
    assert "WARNING" not in out.upper(), out


def test_alerts_fire_on_their_situations_only(promtool, tmp_path):
    # promtool compares annotations exactly: the long descriptions would make every test
    # restate them, so the rules are checked with summaries only (rendered, templating included).
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule["annotations"].pop("description")
    (tmp_path / RULES.name).write_text(yaml.safe_dump(rules, sort_keys=False))
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    rc, out = run(promtool, "test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert rc == 0 and "SUCCESS" in out, out


def test_every_alert_has_a_unit_test():
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    tested = {case["alertname"] for t in tests for case in t["alert_rule_test"] if case.get("exp_alerts")}
    assert tested == {r["alert"] for r in rule_list()}


def test_example_prometheus_config(promtool):
    rc, out = run(promtool, "check", "config", PROM_EXAMPLE)
    assert rc == 0, out
    config = yaml.safe_load(PROM_EXAMPLE.read_text())
    assert config["rule_files"] == [RULES.name]
    (job,) = config["scrape_configs"]
    # DialerDown selects up{job="dialer"}.
    assert job["job_name"] == "dialer"
    assert job["static_configs"][0]["targets"] == ["127.0.0.1:9317"]


def test_alerts_tell_what_to_do():
    for rule in rule_list():
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        assert rule["annotations"]["summary"] and len(rule["annotations"]["description"]) > 80, rule["alert"]


# -- the names used exist ----------------------------------------------------------------------

def test_every_metric_used_exists(exposition):
    assert not missing_metrics(exposition), "\n".join(missing_metrics(exposition))


def test_metric_names_are_found_in_expressions():
    """Guards the check above: it must see the names, not match nothing."""
    used = set().union(*(metric_names(e) for _, e, _ in queries()))
    assert {"up", "dialer_calls_live", "dialer_engine_iteration_duration_seconds_bucket"} <= used
    assert metric_names('sum by (job) (rate(dialer_x_total{job="dialer_y"}[5m]))') == {"dialer_x_total"}


def test_every_label_and_value_used_exists(exposition):
    exposed = parse_exposition(exposition)
    label_values = {}
    for series in exposed.values():
        for labels in series:
            for k, v in labels.items():
                label_values.setdefault(k, set()).add(v)
    problems = []
    for where, expr, legend in queries():
        for name, matchers in _SELECTOR.findall(expr):
            own = {k for labels in exposed.get(name, []) for k in labels} | TARGET_LABELS
            for label, op, value in _MATCHER.findall(matchers):
                if label not in own:
                    problems.append(f"{where}: {name} has no label {label!r}")
                elif label not in TARGET_LABELS and op in ("=", "=~") and "$" not in value:
                    for alt in value.split("|") if op == "=~" else [value]:
                        if alt not in label_values[label]:
                            problems.append(f"{where}: {label}={alt!r} never exposed")
        grouped = [l.strip() for g in _GROUPING.findall(expr) for l in g.split(",") if l.strip()]
        for label in grouped + _LEGEND.findall(legend):
            if label not in label_values and label not in TARGET_LABELS:
                problems.append(f"{where}: label {label!r} exists on no dialer series")
    assert not problems, "\n".join(problems)


# -- Grafana -----------------------------------------------------------------------------------

def test_dashboard_is_importable_as_is():
    d = dashboard()
    assert d["uid"] == "dialer-overview"  # stable: links and provisioning updates rely on it
    assert "__inputs" not in d and "__requires" not in d
    assert d.get("id") is None  # a fixed id would clash with the importing Grafana's
    variables = {v["name"]: v for v in d["templating"]["list"]}
    ds = variables["datasource"]
    assert (ds["type"], ds["query"]) == ("datasource", "prometheus")
    assert variables["campaign"]["includeAll"] and variables["instance"]["includeAll"]


def test_every_query_uses_the_datasource_variable():
    want = {"type": "prometheus", "uid": "${datasource}"}
    d = dashboard()
    for p in d["panels"]:
        assert p["datasource"] == want, p["title"]
        assert p["targets"], p["title"]
        for t in p["targets"]:
            assert t["datasource"] == want, p["title"]
    for v in d["templating"]["list"]:
        if v["type"] == "query":
            assert v["datasource"] == want, v["name"]


def test_dashboard_layout():
    panels = dashboard()["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    cells = {}
    for p in panels:
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24, p["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{p['title']!r} overlaps {cells[(x, y)]!r}"
                cells[(x, y)] = p["title"]


def test_dashboard_shows_what_the_operator_needs():
    exprs = " ".join(e for where, e, _ in queries() if not where.startswith("alert "))
    for metric in ("dialer_calls_live", "dialer_lines_max", "dialer_attempts_started_total",
                   "dialer_attempts_finished_total", "dialer_leads", "dialer_ami_connected",
                   "dialer_database_connected", "dialer_results_buffered",
                   "dialer_engine_iteration_duration_seconds_bucket", "dialer_window_open",
                   "dialer_attempt_results_total", "dialer_config_last_reload_successful",
                   "dialer_trunk_state", "dialer_trunk_failures_total"):
        assert metric in exprs, metric


def test_provisioning_points_at_the_installed_dashboards():
    prov = yaml.safe_load(PROVISIONING.read_text())
    assert prov["apiVersion"] == 1
    (provider,) = prov["providers"]
    assert provider["type"] == "file"
    # The Debian package copies monitoring/ to /usr/share/dialer/monitoring.
    path = provider["options"]["path"]
    assert path == "/usr/share/dialer/" + str(DASHBOARDS.relative_to(ROOT))
    assert sorted(p.name for p in DASHBOARDS.iterdir()) == ["dialer.json"]
