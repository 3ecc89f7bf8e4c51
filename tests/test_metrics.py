"""dialer.metrics: what an operator scraping the endpoint sees."""
import socket

import pytest
from prometheus_client import generate_latest

from dialer import __version__
from dialer.codes import OUTCOME_CLASSES, RETURN_CODES
from dialer.metrics import Metrics, MetricsError
from tests.plugins.ops import (exercise, free_port, parse_exposition, promtool_check_metrics,
                               sample_value, scrape)


@pytest.fixture
def metrics():
    return Metrics()


def text(m):
    return generate_latest(m.registry).decode()


def test_promtool_accepts_what_the_endpoint_serves(metrics, promtool):
    exercise(metrics)
    host, port = metrics.start_http("127.0.0.1", free_port())
    ctype, body = scrape(host, port)
    assert ctype.startswith("text/plain; version=0.0.4")
    assert "dialer_attempts_started_total" in body
    assert promtool_check_metrics(promtool, body) == ""


def test_new_campaign_exposes_every_code_class_and_state_at_zero(metrics):
    metrics.add_campaign("sales", 30)
    out = text(metrics)
    assert sample_value(out, "dialer_lines_max", campaign="sales") == 30
    assert sample_value(out, "dialer_calls_live", campaign="sales") == 0
    assert sample_value(out, "dialer_window_open", campaign="sales") == 0
    assert sample_value(out, "dialer_campaign_paused", campaign="sales") == 0
    assert sample_value(out, "dialer_attempts_started_total", campaign="sales") == 0
    for outcome in OUTCOME_CLASSES:
        assert sample_value(out, "dialer_attempts_finished_total", campaign="sales", outcome=outcome) == 0
    for code in list(RETURN_CODES) + ["other"]:
        assert sample_value(out, "dialer_attempt_results_total", campaign="sales", code=code) == 0
    for state in ("dialable", "waiting", "final"):
        assert sample_value(out, "dialer_leads", campaign="sales", state=state) == 0
    assert sample_value(out, "dialer_answer_delay_seconds_count", campaign="sales") == 0
    assert sample_value(out, "dialer_call_duration_seconds_count", campaign="sales") == 0


def test_attempts_are_counted_by_class_and_code_with_timings(metrics):
    metrics.add_campaign("sales", 5)
    for _ in range(3):
        metrics.attempt_started("sales")
    metrics.attempt_finished("sales", 12, "answered", answer_delay=4.0, duration=90.0)
    metrics.attempt_finished("sales", -4, "busy")
    metrics.attempt_finished("sales", 77, "answered", answer_delay=12.0, duration=30.0)
    out = text(metrics)
    assert sample_value(out, "dialer_attempts_started_total", campaign="sales") == 3
    assert sample_value(out, "dialer_attempts_finished_total", campaign="sales", outcome="answered") == 2
    assert sample_value(out, "dialer_attempts_finished_total", campaign="sales", outcome="busy") == 1
    assert sample_value(out, "dialer_attempt_results_total", campaign="sales", code="12") == 1
    assert sample_value(out, "dialer_attempt_results_total", campaign="sales", code="-4") == 1
    # A dialplan status outside the manual's table must not create a new series per value.
    assert sample_value(out, "dialer_attempt_results_total", campaign="sales", code="other") == 1
    assert sample_value(out, "dialer_attempt_results_total", campaign="sales", code="77") is None
    assert sample_value(out, "dialer_answer_delay_seconds_count", campaign="sales") == 2
    assert sample_value(out, "dialer_answer_delay_seconds_sum", campaign="sales") == 16.0
    assert sample_value(out, "dialer_answer_delay_seconds_bucket", campaign="sales", le="5.0") == 1
    assert sample_value(out, "dialer_call_duration_seconds_sum", campaign="sales") == 120.0
    assert sample_value(out, "dialer_call_duration_seconds_bucket", campaign="sales", le="60.0") == 1


def test_unknown_outcome_class_is_refused(metrics):
    metrics.add_campaign("sales", 5)
    with pytest.raises(ValueError, match="answered"):
        metrics.attempt_finished("sales", 12, "+33612345678")
    assert "+33612345678" not in text(metrics)


def test_campaign_gauges(metrics):
    metrics.add_campaign("sales", 5)
    metrics.set_calls_live("sales", 4)
    metrics.set_leads("sales", dialable=120, waiting=7, final=33)
    metrics.set_window_open("sales", True)
    out = text(metrics)
    assert sample_value(out, "dialer_calls_live", campaign="sales") == 4
    assert sample_value(out, "dialer_leads", campaign="sales", state="dialable") == 120
    assert sample_value(out, "dialer_leads", campaign="sales", state="waiting") == 7
    assert sample_value(out, "dialer_leads", campaign="sales", state="final") == 33
    assert sample_value(out, "dialer_window_open", campaign="sales") == 1
    metrics.set_window_open("sales", False)
    assert sample_value(text(metrics), "dialer_window_open", campaign="sales") == 0
    metrics.set_campaign_paused("sales", True)
    assert sample_value(text(metrics), "dialer_campaign_paused", campaign="sales") == 1
    metrics.set_campaign_paused("sales", False)
    assert sample_value(text(metrics), "dialer_campaign_paused", campaign="sales") == 0


def test_readding_a_campaign_on_reload_keeps_its_counters(metrics):
    metrics.add_campaign("sales", 5)
    metrics.attempt_started("sales")
    metrics.add_campaign("sales", 8)
    out = text(metrics)
    assert sample_value(out, "dialer_attempts_started_total", campaign="sales") == 1
    assert sample_value(out, "dialer_lines_max", campaign="sales") == 8


def test_removed_campaign_leaves_no_series(metrics):
    metrics.add_campaign("sales", 5)
    metrics.add_campaign("support", 2)
    metrics.attempt_started("sales")
    metrics.attempt_finished("sales", 12, "answered", 3.0, 40.0)
    metrics.remove_campaign("sales")
    metrics.remove_campaign("never-added")
    samples = parse_exposition(text(metrics))
    campaigns = {labels.get("campaign") for series in samples.values() for labels in series}
    assert "sales" not in campaigns
    assert "support" in campaigns


def test_campaign_added_again_counts_from_zero(metrics):
    """A campaign removed (reload) and added again gets fresh series, and its attempts land in
    them, not in the children of the removed one."""
    metrics.add_campaign("sales", 5)
    metrics.attempt_started("sales")
    metrics.attempt_finished("sales", 12, "answered", 3.0, 40.0)
    metrics.set_calls_live("sales", 4)
    metrics.remove_campaign("sales")
    metrics.add_campaign("sales", 5)
    metrics.attempt_started("sales")
    metrics.attempt_finished("sales", 12, "answered", 2.0, 10.0)
    out = text(metrics)
    assert sample_value(out, "dialer_attempts_started_total", campaign="sales") == 1
    assert sample_value(out, "dialer_attempts_finished_total", campaign="sales", outcome="answered") == 1
    assert sample_value(out, "dialer_attempt_results_total", campaign="sales", code="12") == 1
    assert sample_value(out, "dialer_call_duration_seconds_count", campaign="sales") == 1
    assert sample_value(out, "dialer_calls_live", campaign="sales") == 0


def test_ami_reconnects_count_logins_after_the_first(metrics):
    assert sample_value(text(metrics), "dialer_ami_connected") == 0
    metrics.set_ami_connected(True)
    metrics.set_ami_connected(True)  # repeated state, not a reconnection
    out = text(metrics)
    assert sample_value(out, "dialer_ami_connected") == 1
    assert sample_value(out, "dialer_ami_reconnects_total") == 0
    metrics.set_ami_connected(False)
    assert sample_value(text(metrics), "dialer_ami_connected") == 0
    metrics.set_ami_connected(True)
    out = text(metrics)
    assert sample_value(out, "dialer_ami_connected") == 1
    assert sample_value(out, "dialer_ami_reconnects_total") == 1


def test_database_health(metrics):
    assert sample_value(text(metrics), "dialer_database_connected") == 1
    metrics.database_error()
    metrics.database_error()
    metrics.set_database_connected(False)
    metrics.set_results_buffered(12)
    out = text(metrics)
    assert sample_value(out, "dialer_database_errors_total") == 2
    assert sample_value(out, "dialer_database_connected") == 0
    assert sample_value(out, "dialer_results_buffered") == 12


def test_iteration_histogram(metrics):
    metrics.observe_iteration(0.003)
    metrics.observe_iteration(0.0001)
    out = text(metrics)
    assert sample_value(out, "dialer_engine_iteration_duration_seconds_count") == 2
    assert sample_value(out, "dialer_engine_iteration_duration_seconds_bucket", le="0.005") == 2


def test_config_reloads(metrics):
    out = text(metrics)
    # The configuration the process started with counts as the last successful load.
    assert sample_value(out, "dialer_config_last_reload_successful") == 1
    assert sample_value(out, "dialer_config_last_reload_success_timestamp_seconds") > 1.6e9
    assert sample_value(out, "dialer_config_reloads_total", result="success") == 0
    assert sample_value(out, "dialer_config_reloads_total", result="failure") == 0
    metrics.config_reloaded(False)
    out = text(metrics)
    assert sample_value(out, "dialer_config_last_reload_successful") == 0
    assert sample_value(out, "dialer_config_reloads_total", result="failure") == 1
    metrics.config_reloaded(True, when=2_000_000_000)
    out = text(metrics)
    assert sample_value(out, "dialer_config_last_reload_successful") == 1
    assert sample_value(out, "dialer_config_reloads_total", result="success") == 1
    assert sample_value(out, "dialer_config_last_reload_success_timestamp_seconds") == 2_000_000_000


def test_build_info(metrics):
    samples = parse_exposition(text(metrics))
    assert samples["dialer_build_info"][0]["version"] == __version__


def test_no_label_carries_a_number_channel_or_id(metrics):
    exercise(metrics)
    allowed = {"campaign", "trunk", "kind", "outcome", "code", "state", "result", "le", "version", "python",
               "generation", "implementation", "major", "minor", "patchlevel"}
    for name, series in parse_exposition(text(metrics)).items():
        for labels in series:
            assert set(labels) <= allowed, (name, labels)


def test_port_zero_disables_the_endpoint(metrics):
    assert metrics.start_http("127.0.0.1", 0) is None
    assert metrics.http_address is None


def test_busy_port_is_one_line_naming_address_and_port(metrics):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(MetricsError) as err:
            metrics.start_http("127.0.0.1", port)
    msg = str(err.value)
    assert f"127.0.0.1:{port}" in msg and "in use" in msg and "\n" not in msg
    assert err.value.__cause__ is None and err.value.__suppress_context__


@pytest.mark.parametrize("address", ["no-such-host.invalid", "192.0.2.1"])  # unknown name; not ours
def test_bad_address_is_one_line_naming_it(metrics, address):
    with pytest.raises(MetricsError) as err:
        metrics.start_http(address, 9317)
    assert f"{address}:9317" in str(err.value) and "\n" not in str(err.value)


def test_ipv6_loopback(metrics):
    try:
        port = free_port("::1")
    except OSError:
        pytest.fail("IPv6 loopback unavailable on this machine")
    host, bound = metrics.start_http("::1", port)
    assert (host, bound) == ("::1", port)
    _, body = scrape("::1", port)
    assert "dialer_build_info" in body


def test_trunk_series(metrics):
    metrics.add_trunk("carrier")
    out = text(metrics)
    assert sample_value(out, "dialer_trunk_state", trunk="carrier") == 0
    for kind in ("no_channel", "no_route", "congestion", "network"):
        assert sample_value(out, "dialer_trunk_failures_total", trunk="carrier", kind=kind) == 0
    assert sample_value(out, "dialer_trunk_uncounted_total", trunk="carrier") == 0
    metrics.trunk_failure("carrier", "no_channel")
    metrics.trunk_failure("carrier", "no_channel")
    metrics.trunk_uncounted("carrier", 2)
    metrics.set_trunk_state("carrier", "open")
    out = text(metrics)
    assert sample_value(out, "dialer_trunk_failures_total", trunk="carrier", kind="no_channel") == 2
    assert sample_value(out, "dialer_trunk_uncounted_total", trunk="carrier") == 2
    assert sample_value(out, "dialer_trunk_state", trunk="carrier") == 2
    metrics.set_trunk_state("carrier", "half-open")
    assert sample_value(text(metrics), "dialer_trunk_state", trunk="carrier") == 1
    metrics.set_trunk_state("carrier", "closed")
    assert sample_value(text(metrics), "dialer_trunk_state", trunk="carrier") == 0
    with pytest.raises(ValueError):
        metrics.trunk_failure("carrier", "SIP/1@nope")
