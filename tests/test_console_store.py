"""The console's users, audit and API tokens in the store, and `dialer -a user-add/user-passwd`,
on both backends."""
import time

import pytest

from dialer import config
from dialer import store as store_mod
from dialer.store import StoreError
from dialer.store.console import AUDIT_TABLE, TOKENS_TABLE, USERS_TABLE, token_digest
from tests.conftest import run_dialer
from tests.test_cli import one_line_error


def test_users_hash_roles_and_disable(store):
    store.ensure_console()
    store.user_add("alice", "correct horse", "operator")
    stored = store.scalar(f"SELECT hash FROM {store.d.q(USERS_TABLE)} WHERE name = 'alice'")
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert store.authenticate("alice", "correct horse")["role"] == "operator"
    assert store.authenticate("alice", "wrong horse!") is None
    assert store.authenticate("bob", "correct horse") is None
    with pytest.raises(StoreError, match="already exists"):
        store.user_add("alice", "another one", "viewer")
    store.user_set_role("alice", "admin")
    store.user_set_password("alice", "battery staple")
    assert store.authenticate("alice", "correct horse") is None
    assert store.authenticate("alice", "battery staple")["role"] == "admin"
    store.user_set_disabled("alice", True)
    assert store.authenticate("alice", "battery staple") is None
    assert store.user("alice")["disabled"] == 1


@pytest.mark.parametrize("call, message", [
    (lambda s: s.user_add("a b", "long enough", "admin"), "user name 'a b'"),
    (lambda s: s.user_add("carol", "short", "admin"), "8 to 1024 characters"),
    (lambda s: s.user_add("carol", "long enough", "root"), "role 'root'"),
    (lambda s: s.user_set_role("nobody", "viewer"), "user 'nobody' does not exist"),
])
def test_bad_user_input_is_one_line(store, call, message):
    store.ensure_console()
    with pytest.raises(StoreError) as err:
        call(store)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_audit_and_failure_counts(store):
    store.ensure_console()
    since = int(time.time()) - 1
    store.audit("alice", "10.0.0.1", "login")
    for addr in ("10.0.0.2", "10.0.0.2", "10.0.0.3"):
        store.audit("mallory", addr, "login-failed")
    store.audit("x' OR '1'='1", "10.0.0.2", "login-failed")
    assert store.failures_since("mallory", "10.0.0.2", since) == (3, 3)
    assert store.failures_since("alice", "10.0.0.1", since) == (0, 0)
    assert store.failures_since("mallory", "10.0.0.2", int(time.time()) + 5) == (0, 0)
    rows = store.audit_rows()
    assert [r["action"] for r in rows] == ["login-failed"] * 4 + ["login"]
    assert rows[0]["user"] == "x' OR '1'='1"
    assert [r["address"] for r in store.audit_rows(user="alice")] == ["10.0.0.1"]


def test_tokens_stored_hashed_and_revocable(store):
    store.ensure_console()
    store.user_add("alice", "correct horse", "operator")
    token = store.token_create("alice", "cron")
    assert store.token_user(token)["name"] == "alice"
    assert store.scalar(f"SELECT COUNT(*) FROM {store.d.q(TOKENS_TABLE)} WHERE sha256 = ?", (token,)) == 0
    assert store.scalar(f"SELECT COUNT(*) FROM {store.d.q(TOKENS_TABLE)} WHERE sha256 = ?",
                        (token_digest(token),)) == 1
    (row,) = store.tokens("alice")
    assert row["label"] == "cron" and row["last_used"] is not None
    assert store.token_user(token + "x") is None
    store.user_set_disabled("alice", True)
    assert store.token_user(token) is None
    store.user_set_disabled("alice", False)
    assert not store.token_revoke(row["id"], "bob")
    assert store.token_revoke(row["id"], "alice")
    assert store.token_user(token) is None


def test_create_database_makes_the_console_tables(store_general):
    st = store_mod.open_store(store_general)
    try:
        for t in (USERS_TABLE, AUDIT_TABLE, TOKENS_TABLE):
            assert st.table_exists(t)
        assert st.ensure_console() is False
    finally:
        st.close()


def test_cli_user_add_and_passwd(dialer_conf):
    conf = dialer_conf()
    run_dialer("-a", "createdatabase", config=conf, check=0)
    p = run_dialer("-a", "user-add", "-p", "admin1", "--role", "admin", config=conf, input="s3cret-pass\n", check=0)
    assert "user admin1 added with role admin" in p.stdout and "s3cret-pass" not in p.stdout + p.stderr
    st = store_mod.open_store(config.load(str(conf)).general)
    try:
        assert st.authenticate("admin1", "s3cret-pass")["role"] == "admin"
        run_dialer("-a", "user-passwd", "-p", "admin1", config=conf, input="n3w-password\n", check=0)
        assert st.authenticate("admin1", "n3w-password") is not None
        assert [r["action"] for r in st.audit_rows()] == ["user-passwd", "user-add"]
    finally:
        st.close()
    one_line_error(run_dialer("-a", "user-add", "-p", "admin1", "--role", "admin", config=conf, input="x" * 9 + "\n"),
                   2, "already exists")
    one_line_error(run_dialer("-a", "user-add", "-p", "bob", config=conf, input="x" * 9 + "\n"), 2, "--role")
    one_line_error(run_dialer("-a", "user-add", "-p", "bob", "--role", "viewer", config=conf, input="short\n"),
                   2, "8 to 1024 characters")
    one_line_error(run_dialer("-a", "user-add", "-p", "bob", "--role", "viewer", config=conf, input=""),
                   2, "no password on stdin")
    one_line_error(run_dialer("-a", "user-passwd", "-p", "nobody", config=conf, input="x" * 9 + "\n"),
                   2, "does not exist")
    one_line_error(run_dialer("-a", "user-add", "-p", "bob", "--role", "root", config=conf), 2, "root")
