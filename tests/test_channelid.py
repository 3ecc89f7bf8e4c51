"""ChannelIds Asterisk always accepts (issue 11 §6): it refuses a new ChannelId (or
OtherChannelId) that is a prefix, ignoring case, of the Uniqueid of a live channel. No id the
dialer makes may be such a prefix of another attempt's ids, whatever the campaigns (Sales and
sales on MariaDB), the lead ids (reused after a truncate), the attempts or the installation."""
import itertools

from dialer.model import MAX_CHANNELID, ChannelId, campaign_key


def collides(new, live):
    return live.lower().startswith(new.lower())


def test_no_id_is_a_case_insensitive_prefix_of_another_attempts_ids():
    ids = [ChannelId.new(c, lead, attempt, inst, t)
           for c in ("a", "A", "a_1", "A_1", "a1", "Sales", "sales", "SALES", "s", "sa")
           for lead in (1, 10, 11, 110)
           for attempt in (1, 10)
           for inst in ("k3x9qa", "k3x9qb")
           for t in (1795652784, 1795652785)]
    assert len({i.lower() for i in ids}) == len(ids)
    uniqueids = [u for i in ids for u in (i, i.other)]
    for new, live in itertools.product(ids, uniqueids):
        if ChannelId.of_uniqueid(live) != new:
            assert not collides(new, live) and not collides(new.other, live), (new, live)


def test_the_id_names_the_attempt_and_fits_asterisk():
    assert ChannelId.new("Sales", 42, 3, "k3x9qa", 1795652784) == "d-_sales-42-3-k3x9qa-tp32k0."
    assert ChannelId.of_uniqueid("d-_sales-42-3-k3x9qa-tp32k0.-o") == "d-_sales-42-3-k3x9qa-tp32k0."
    longest = ChannelId.new("Q" * 64, 2 ** 63 - 1, 10 ** 6, "k3x9qa", 2 ** 40)
    assert len(longest.other) <= MAX_CHANNELID
    # A name too long for the escapes is hashed, in a form no real name gives.
    assert campaign_key("Q" * 64).startswith("__") and campaign_key("Q" * 64) != campaign_key("q" * 64)
