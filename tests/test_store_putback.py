"""Trunk failures on both backends: the lead goes back without counting the attempt, and a
table created before the `outcomes` column gets it on first use."""
from dialer import codes, store as store_mod
from dialer.model import Outcome
from tests.test_store import NOW, add, claim, row


def test_put_back_does_not_count_the_attempt(store):
    first, second = add(store, ["1001", "1002"])
    claim(store, 2, "A")
    store.record("camp", second, "A", Outcome(codes.BUSY), NOW, 0)
    (again,) = claim(store, 1, "A", now=NOW + 5)
    assert again.id == second and again.attempts == 2
    n = store.put_back("camp", "A", [first, second], "trunk failure: not counted", NOW + 10)
    assert n == 2
    r1, r2 = row(store, first), row(store, second)
    assert (r1["attempts"], r1["disposition"], r1["datetime"], r1["state"]) == (0, 1, None, 0)
    assert r1["reason"] == "trunk failure: not counted" and r1["owner"] is None
    # Its previous result stays: the busy of the first attempt, and that attempt's time.
    assert (r2["attempts"], r2["disposition"], r2["state"]) == (1, codes.BUSY, 0)
    assert r2["datetime"] is not None
    assert store.rows("SELECT COUNT(*) FROM dialer_inflight")[0][0] == 0
    # Callable again at once.
    assert {lead.id for lead in claim(store, 5, "B", now=NOW + 10)} == {first, second}


def test_put_back_is_fenced_by_owner(store):
    (lead,) = add(store, ["1001"])
    claim(store, 1, "A")
    assert store.put_back("camp", "B", [lead], "trunk failure: not counted", NOW) == 0
    assert store.put_back("camp", "A", [], "x", NOW) == 0
    assert row(store, lead)["attempts"] == 1 and row(store, lead)["owner"] == "A"


def test_outcomes_column_is_added_to_an_older_table(store, store_general):
    assert "outcomes" in store.columns("camp")
    store.execute(f"ALTER TABLE {store.d.q('camp')} DROP COLUMN {store.d.q('outcomes')}")
    (lead,) = add(store, ["1001"])
    other = store_mod.open_store(store_general)
    try:
        assert [lead_.id for lead_ in claim(other, 1, "A")] == [lead]
        assert "outcomes" in other.columns("camp")
        assert row(other, lead)["outcomes"] == ""
    finally:
        other.close()
