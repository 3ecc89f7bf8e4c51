"""Runtime control through the store API, on both backends: pauses shared by every node (one
Store per node on the same database) and heartbeats."""
import time

import pytest

from dialer import store as store_mod
from dialer.store import StoreError
from dialer.store.control_schema import HEARTBEAT_TABLE, PAUSE_TABLE


@pytest.fixture
def other(store_general):
    """A second node's connection to the same database."""
    st = store_mod.open_store(store_general)
    yield st
    st.close()


def test_the_tables_come_with_the_database_and_ensure_control_is_idempotent(store):
    assert store.table_exists(PAUSE_TABLE) and store.table_exists(HEARTBEAT_TABLE)
    assert store.ensure_control() is False
    store.execute(f"DROP TABLE {store.d.q(PAUSE_TABLE)}")      # a database made by an older version
    assert store.ensure_control() is True
    assert store.paused_campaigns() == {}


def test_a_pause_is_seen_by_every_node_with_who_and_when_until_resumed(store, other):
    before = int(time.time())
    assert store.pause_campaign("camp", "alice") is True
    assert other.pause_campaign("camp", "bob") is False            # already paused: alice's pause stays
    (who, since), = other.paused_campaigns().values()
    assert list(other.paused_campaigns()) == ["camp"]
    assert who == "alice" and before <= since <= time.time()
    assert other.pause_campaign("other", "bob") is True            # any campaign name: the config decides
    assert set(store.paused_campaigns()) == {"camp", "other"}
    assert other.resume_campaign("camp", "bob") is True
    assert store.resume_campaign("camp", "alice") is False         # no longer paused
    assert store.paused_campaigns() == {"other": ("bob", pytest.approx(time.time(), abs=5))}


@pytest.mark.parametrize("name, user", [
    ("camp; DROP TABLE camp", "alice"), ("dialer_pause", "alice"), ("", "alice"),
    ("camp", ""), ("camp", "x" * 65), ("camp", "bad\nname"), ("camp", None)])
def test_bad_names_and_users_are_refused_in_one_line(store, name, user):
    for op in (store.pause_campaign, store.resume_campaign):
        with pytest.raises(StoreError) as err:
            op(name, user)
        assert "\n" not in str(err.value)
    assert store.paused_campaigns() == {}


def test_a_user_name_is_stored_as_given(store):
    user = "O'Brien \"ops\" é"
    assert store.pause_campaign("camp", user)
    assert store.paused_campaigns()["camp"][0] == user


def test_heartbeats_are_one_row_per_instance_rewritten_in_place(store, other):
    info = {"host": "node1", "version": "1.0", "started": 1700000000.0,
            "campaigns": {"camp": {"live": 3, "state": "paused by alice"}}, "lines": 10,
            "ami": "synced", "db": "up", "status": "dialing 3/10 lines in 1 campaign(s)"}
    store.write_heartbeat("node1", info)
    other.write_heartbeat("node2", dict(info, host="node2", campaigns={}))
    store.write_heartbeat("node1", dict(info, lines=20))
    beats = other.heartbeats()
    assert [b["instance"] for b in beats] == ["node1", "node2"]
    assert beats[0] == dict(info, lines=20, instance="node1", seen=pytest.approx(time.time(), abs=5))
    assert beats[1]["campaigns"] == {} and beats[1]["host"] == "node2"
    assert store.scalar(f"SELECT COUNT(*) FROM {store.d.q(HEARTBEAT_TABLE)}") == 2


def test_heartbeat_info_cannot_hide_the_instance_or_its_age(store):
    store.write_heartbeat("node1", {"instance": "fake", "seen": 0, "status": "x"})
    (beat,) = store.heartbeats()
    assert beat["instance"] == "node1" and beat["seen"] > 0 and beat["status"] == "x"


@pytest.mark.parametrize("instance", ["", "n" * 65, None])
def test_a_bad_instance_name_is_refused(store, instance):
    with pytest.raises(StoreError):
        store.write_heartbeat(instance, {})
    assert store.heartbeats() == []
