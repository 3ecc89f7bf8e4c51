"""statistics: leads waiting for their retry, per outcome (both backends)."""
from dialer import codes
from dialer.model import Outcome
from dialer.store import format_table
from tests.test_store import NOW, add, claim


def test_waiting_leads_by_outcome(store):
    a, b, c, d = add(store, ["1001", "1002", "1003", "1004"])
    claim(store, 4, "A")
    store.record("camp", a, "A", Outcome(codes.BUSY), NOW, 300)
    store.record("camp", b, "A", Outcome(codes.BUSY), NOW, 300)
    store.record("camp", c, "A", Outcome(codes.NO_ANSWER), NOW, 3600)
    store.record("camp", d, "A", Outcome(codes.NO_ANSWER), NOW, 60)
    st = store.statistics("camp", now=NOW + 100)       # d's retry time has come
    assert st["waiting"] == 3 and st["dialable_now"] == 1
    assert [(w["code"], w["count"]) for w in st["waiting_by_code"]] == [(-4, 2), (-2, 1)]
    table = format_table(st)
    assert "waiting (retry)   3\n   -4  Busy" in table
    st = store.statistics("camp", now=NOW + 4000)
    assert st["waiting_by_code"] == [] and st["dialable_now"] == 4
