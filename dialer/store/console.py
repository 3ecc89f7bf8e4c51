"""Web console data: users (argon2 hashes, roles), the audit trail, API tokens (docs/web.md).

Everything the console knows about people lives in the campaign database, so every dialer-web
process (and every gunicorn worker) sees the same users, the same audit and the same failed
logins; the login rate limit counts audit rows and so holds across workers and hosts.
Times are epoch seconds, as in the history.
"""
import hashlib
import re
import secrets
import time

from .errors import StoreError
from .statscache import STATS_CACHE_TABLE, stats_cache_ddl

USERS_TABLE = "dialer_users"
AUDIT_TABLE = "dialer_audit"
TOKENS_TABLE = "dialer_api_tokens"

ROLES = ("viewer", "operator", "admin")
USER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}\Z")
USER_EXPECTED = "a user name: a letter or digit then up to 63 letters, digits, '_', '.', '@' or '-'"
PASSWORD_MIN = 8
PASSWORD_MAX = 1024   # argon2 takes any length; this bounds the work one login may ask for
TEXT_MAX = 255


def console_ddl(d):
    """CREATE statements (IF NOT EXISTS), run with the global tables and by ensure_console()."""
    q, opts, pk = d.q, d.table_options, d.pk
    return [
        f"CREATE TABLE IF NOT EXISTS {q(USERS_TABLE)} (name VARCHAR(64) NOT NULL PRIMARY KEY, "
        f"hash VARCHAR(255) NOT NULL, role VARCHAR(16) NOT NULL, disabled SMALLINT NOT NULL DEFAULT 0, "
        f"created BIGINT NOT NULL){opts}",
        f"CREATE TABLE IF NOT EXISTS {q(AUDIT_TABLE)} (id {pk}, at BIGINT NOT NULL, "
        f"{q('user')} VARCHAR(64) NOT NULL, address VARCHAR(64) NOT NULL DEFAULT '', "
        f"action VARCHAR(32) NOT NULL, campaign VARCHAR(64) NOT NULL DEFAULT '', "
        f"detail VARCHAR(255) NOT NULL DEFAULT ''){opts}",
        # The login rate limit's two questions: recent failures of one user, of one address.
        f"CREATE INDEX IF NOT EXISTS {q(d.index_name(AUDIT_TABLE, 'act_user'))} "
        f"ON {q(AUDIT_TABLE)} (action, {q('user')}, at)",
        f"CREATE INDEX IF NOT EXISTS {q(d.index_name(AUDIT_TABLE, 'act_addr'))} "
        f"ON {q(AUDIT_TABLE)} (action, address, at)",
        f"CREATE TABLE IF NOT EXISTS {q(TOKENS_TABLE)} (id {pk}, {q('user')} VARCHAR(64) NOT NULL, "
        f"sha256 CHAR(64) NOT NULL, label VARCHAR(64) NOT NULL DEFAULT '', created BIGINT NOT NULL, "
        f"last_used BIGINT NULL DEFAULT NULL, revoked SMALLINT NOT NULL DEFAULT 0){opts}",
        f"CREATE UNIQUE INDEX IF NOT EXISTS {q(d.index_name(TOKENS_TABLE, 'sha'))} "
        f"ON {q(TOKENS_TABLE)} (sha256)",
    ]


def check_user_name(name):
    if not isinstance(name, str) or not USER_RE.match(name):
        raise StoreError(f"user name {name!r}: expected {USER_EXPECTED}")
    return name


def check_role(role):
    if role not in ROLES:
        raise StoreError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    return role


def check_password(password):
    if not isinstance(password, str) or not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise StoreError(f"password: expected {PASSWORD_MIN} to {PASSWORD_MAX} characters")
    return password


def _hasher():
    # Imported here: the dialer itself never needs argon2, only the console and `user-*` do.
    from argon2 import PasswordHasher
    return PasswordHasher()


def token_digest(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ConsoleMixin:
    def ensure_console(self):
        """Create the console tables when missing (DDL: never inside a write transaction)."""
        if self.table_exists(TOKENS_TABLE) and self.table_exists(STATS_CACHE_TABLE):
            return False
        for stmt in console_ddl(self.d) + stats_cache_ddl(self.d):
            self.execute(stmt)
        return True

    def _dicts(self, sql, params=()):
        cur = self.execute(sql, params)
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]

    def campaign_tables(self):
        """Every campaign table of the database, by name (a dialer's, not an original one)."""
        from .schema import RESERVED_PREFIX
        from ..names import is_identifier
        sql, params = self.d.tables_with_sql(("state", "attempts"))
        return sorted(n for (n,) in self.rows(sql, params)
                      if is_identifier(n) and not n.lower().startswith(RESERVED_PREFIX))

    # -- users ---------------------------------------------------------------------------------
    def user_add(self, name, password, role):
        check_user_name(name), check_role(role), check_password(password)
        h = _hasher().hash(password)
        with self.write_tx():
            if self.user(name) is not None:
                raise StoreError(f"user {name!r} already exists (change its password with: "
                                 f"dialer -a user-passwd -p {name})")
            self.execute(f"INSERT INTO {self.d.q(USERS_TABLE)} (name, hash, role, disabled, created) "
                         "VALUES (?, ?, ?, 0, ?)", (name, h, role, int(time.time())))

    def user(self, name):
        """The user's row (name, role, disabled, created; no hash), or None."""
        rows = self._dicts(f"SELECT name, role, disabled, created FROM {self.d.q(USERS_TABLE)} WHERE name = ?",
                           (name,))
        return rows[0] if rows else None

    def users(self):
        return self._dicts(f"SELECT name, role, disabled, created FROM {self.d.q(USERS_TABLE)} ORDER BY name")

    def _user_update(self, name, column, value):
        n = self.execute(f"UPDATE {self.d.q(USERS_TABLE)} SET {column} = ? WHERE name = ?", (value, name)).rowcount
        if not n and self.user(name) is None:
            raise StoreError(f"user {name!r} does not exist (create it with: dialer -a user-add -p {name} "
                             f"--role viewer)")

    def user_set_password(self, name, password):
        check_password(password)
        self._user_update(name, "hash", _hasher().hash(password))

    def user_set_role(self, name, role):
        self._user_update(name, "role", check_role(role))

    def user_set_disabled(self, name, disabled):
        self._user_update(name, "disabled", 1 if disabled else 0)

    def authenticate(self, name, password):
        """The user's row when the password is right and the user enabled; else None."""
        from argon2.exceptions import InvalidHash, VerificationError
        if not isinstance(name, str) or not USER_RE.match(name) or not isinstance(password, str) \
                or len(password) > PASSWORD_MAX:
            return None
        rows = self.rows(f"SELECT hash, disabled FROM {self.d.q(USERS_TABLE)} WHERE name = ?", (name,))
        ph = _hasher()
        if not rows:
            # The same work as for a real user: the answer time does not tell which names exist.
            ph.hash(password)
            return None
        h, disabled = rows[0]
        try:
            ph.verify(h, password)
        except (VerificationError, InvalidHash):
            return None
        if int(disabled):
            return None
        if ph.check_needs_rehash(h):
            self._user_update(name, "hash", ph.hash(password))
        return self.user(name)

    # -- audit ---------------------------------------------------------------------------------
    def audit(self, user, address, action, campaign="", detail=""):
        self.execute(f"INSERT INTO {self.d.q(AUDIT_TABLE)} (at, {self.d.q('user')}, address, action, campaign, "
                     "detail) VALUES (?, ?, ?, ?, ?, ?)",
                     (int(time.time()), str(user)[:64], str(address or "")[:64], action[:32],
                      str(campaign or "")[:64], str(detail or "")[:TEXT_MAX]))

    def audit_rows(self, limit=200, user=None, action=None):
        """The newest audit rows first, optionally of one user and/or one action."""
        where, params = [], []
        if user:
            where.append(f"{self.d.q('user')} = ?")
            params.append(user)
        if action:
            where.append("action = ?")
            params.append(action)
        sql = f"SELECT id, at, {self.d.q('user')}, address, action, campaign, detail FROM {self.d.q(AUDIT_TABLE)}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self._dicts(sql + " ORDER BY id DESC LIMIT ?", params + [int(limit)])

    def failures_since(self, user, address, since):
        """(failed logins of this user name, failed logins from this address) since `since`."""
        t = self.d.q(AUDIT_TABLE)
        by_user = self.scalar(f"SELECT COUNT(*) FROM {t} WHERE action = 'login-failed' AND {self.d.q('user')} = ? "
                              "AND at >= ?", (str(user)[:64], int(since)))
        by_addr = self.scalar(f"SELECT COUNT(*) FROM {t} WHERE action = 'login-failed' AND address = ? AND at >= ?",
                              (str(address or "")[:64], int(since)))
        return int(by_user or 0), int(by_addr or 0)

    # -- API tokens ------------------------------------------------------------------------------
    def token_create(self, user, label=""):
        """A new token for the user: returned once, only its sha256 is kept."""
        if self.user(user) is None:
            raise StoreError(f"user {user!r} does not exist")
        token = "dlr_" + secrets.token_urlsafe(32)
        self.execute(f"INSERT INTO {self.d.q(TOKENS_TABLE)} ({self.d.q('user')}, sha256, label, created) "
                     "VALUES (?, ?, ?, ?)", (user, token_digest(token), str(label)[:64], int(time.time())))
        return token

    def tokens(self, user):
        return self._dicts(f"SELECT id, label, created, last_used, revoked FROM {self.d.q(TOKENS_TABLE)} "
                           f"WHERE {self.d.q('user')} = ? ORDER BY id", (user,))

    def token_revoke(self, token_id, user):
        """Revoke one of the user's tokens; False when it has no such live token."""
        return bool(self.execute(f"UPDATE {self.d.q(TOKENS_TABLE)} SET revoked = 1 WHERE id = ? AND "
                                 f"{self.d.q('user')} = ? AND revoked = 0", (int(token_id), user)).rowcount)

    def token_user(self, token):
        """The enabled user a live token belongs to (and the token's last use noted), or None."""
        if not isinstance(token, str) or not token:
            return None
        tt, ut = self.d.q(TOKENS_TABLE), self.d.q(USERS_TABLE)
        rows = self.rows(f"SELECT t.id, u.name FROM {tt} t JOIN {ut} u ON u.name = t.{self.d.q('user')} "
                         "WHERE t.sha256 = ? AND t.revoked = 0 AND u.disabled = 0", (token_digest(token),))
        if not rows:
            return None
        self.execute(f"UPDATE {tt} SET last_used = ? WHERE id = ?", (int(time.time()), rows[0][0]))
        return self.user(rows[0][1])
