"""The retry rule (dialer/rules/retry.py): per-outcome delays and limits, and -8 Burned."""
import pytest

from dialer import codes, config
from dialer.rules import retry

NOW = 1_000_000.4


def _policy(text=""):
    cfg = config.loads("[general]\n[default]\n[sales]\n" + text)
    return retry.policy(cfg.campaigns["sales"])


def test_without_per_outcome_keys_the_manual_rule_holds():
    pol = _policy("attempts=3\nattemptsdelay=10m\n")
    assert retry.decide(pol, codes.BUSY, 1, 1, NOW) == (codes.BUSY, 1_000_001 + 600)
    assert retry.decide(pol, codes.NO_ANSWER, 2, 1, NOW) == (codes.NO_ANSWER, 1_000_001 + 600)
    assert retry.decide(pol, codes.NO_ANSWER, 3, 1, NOW) == (codes.BURNED, None)
    assert retry.decide(pol, codes.UNDEFINED, 4, 1, NOW) == (codes.BURNED, None)


def test_defaults_are_one_attempt_and_600_s():
    pol = _policy()
    assert (pol.attempts, pol.attemptsdelay, pol.delays, pol.limits) == (1, 600, {}, {})
    assert retry.decide(pol, codes.BUSY, 1, 1, NOW) == (codes.BURNED, None)


@pytest.mark.parametrize("code", [12, 10, 8, 9, 6, 7, -6, -7, -8])
def test_final_codes_are_kept_and_never_called_again(code):
    pol = _policy("attempts=5\nretry=busy:1m\nmaxretries=busy:9\n")
    assert retry.decide(pol, code, 1, 1, NOW) == (code, None)


def test_named_outcome_waits_its_own_delay_others_attemptsdelay():
    pol = _policy("attempts=9\nattemptsdelay=600\nretry=busy:5m noanswer:1h congestion:2m\n")
    assert retry.decide(pol, codes.BUSY, 1, 1, NOW)[1] == 1_000_001 + 300
    assert retry.decide(pol, codes.NO_ANSWER, 1, 1, NOW)[1] == 1_000_001 + 3600
    assert retry.decide(pol, codes.CONGESTION, 1, 1, NOW)[1] == 1_000_001 + 120
    assert retry.decide(pol, codes.UNDEFINED, 1, 1, NOW)[1] == 1_000_001 + 600
    # The application's own Busy (4) is a different outcome from the dialer's -4.
    assert retry.decide(pol, 4, 1, 1, NOW)[1] == 1_000_001 + 600


def test_zero_delay_means_at_once():
    pol = _policy("attempts=3\nretry=busy:0\n")
    assert retry.decide(pol, codes.BUSY, 1, 1, NOW) == (codes.BUSY, 1_000_001)


def test_named_limit_counts_attempts_ending_with_that_outcome_only():
    pol = _policy("attempts=2\nmaxretries=busy:4\n")
    # Busy on the 3rd attempt: beyond `attempts`, but only the 2nd busy one -> called again.
    assert retry.decide(pol, codes.BUSY, 3, 2, NOW)[0] == codes.BUSY
    assert retry.decide(pol, codes.BUSY, 5, 3, NOW)[0] == codes.BUSY
    assert retry.decide(pol, codes.BUSY, 5, 4, NOW) == (codes.BURNED, None)
    # An outcome not named still follows `attempts`, counted over all outcomes.
    assert retry.decide(pol, codes.NO_ANSWER, 2, 1, NOW) == (codes.BURNED, None)
    assert retry.decide(pol, codes.NO_ANSWER, 1, 1, NOW)[0] == codes.NO_ANSWER


def test_limit_of_one_burns_at_the_first_such_outcome():
    pol = _policy("attempts=5\nmaxretries=undefined:1\n")
    assert retry.decide(pol, codes.UNDEFINED, 1, 1, NOW) == (codes.BURNED, None)


def test_max_total_attempts_never_hides_a_lead_the_policy_would_call():
    pol = _policy("attempts=2\nmaxretries=busy:4 noanswer:3\n")
    bound = pol.max_total_attempts()
    # Worst case: 1 other outcome, 3 busy, 2 no answer, all called again -> 6 attempts made.
    assert bound == 2 + 3 + 2
    assert retry.decide(pol, codes.NO_ANSWER, 6, 2, NOW)[0] == codes.NO_ANSWER
    assert _policy("attempts=3\n").max_total_attempts() == 3


def test_outcome_names_and_codes():
    assert retry.outcome_code("busy") == -4 and retry.outcome_code("NoAnswer") == -2
    assert retry.outcome_code("-5") == -5 and retry.outcome_code("3") == 3
    for bad in ("6", "-6", "sale", "", "1.5"):
        with pytest.raises(ValueError) as err:
            retry.outcome_code(bad)
        assert "congestion, busy, voicemail, noanswer, undefined" in str(err.value)
    assert retry.outcome_name(-4) == "busy" and retry.outcome_name(3) == "3"


def test_unknown_outcome_is_one_config_line_listing_the_valid_names():
    with pytest.raises(config.ConfigError) as err:
        config.loads("[general]\n[default]\nretry=busy:5m bsy:1h\n", source="/etc/dialer.conf")
    text = str(err.value)
    assert text.startswith("/etc/dialer.conf:3: [default] retry = 'busy:5m bsy:1h': expected ")
    assert "'bsy'" in text and "noanswer" in text and "fastbusy" in text and "\n" not in text


def test_show_writes_a_value_that_loads_back():
    camp = config.loads("[general]\n[default]\nretry=busy:5m -5:2m\nmaxretries=noanswer:3\n").default
    assert camp.retry.text == "busy:300 congestion:120"
    again = config.loads(f"[general]\n[default]\nretry={camp.retry.text}\nmaxretries={camp.maxretries.text}\n")
    assert retry.policy(again.default) == retry.policy(camp)


def test_counts_column_round_trip():
    text, n = retry.count_outcome("", codes.BUSY)
    assert (text, n) == ("-4:1", 1)
    text, n = retry.count_outcome(text, codes.NO_ANSWER)
    text, n = retry.count_outcome(text, codes.BUSY)
    assert (text, n) == ("-4:2 -2:1", 2)
    assert retry.parse_counts("-4:2 junk -2:x 3:1") == {-4: 2, 3: 1}
    # A final code is not counted: the lead is never called again.
    assert retry.count_outcome("-4:2", codes.SALE) == ("-4:2", 0)
    widest = retry.format_counts({c: 9999 for c in retry.OUTCOME_CODES})
    assert len(widest) <= 100

