"""The campaign table and the global tables, defined once for both backends.

Column order starts with the original dialer's columns so existing reports keep working;
the engine's columns follow. `state` is maintained by the store only (dialer/leadstate.py).

Every ordering a claim can ask for has an index that starts with `state`, so picking the next
N READY leads reads N index entries whatever the table size.
"""
from ..leadstate import ACTIVE, FINAL, READY, WAITING  # noqa: F401  (the store's names for them)
from ..names import ORDERBY, is_identifier
from .console import console_ddl
from .control_schema import control_ddl
from .history_schema import history_ddl
from .statscache import stats_cache_ddl

# Our own tables live next to the campaign tables; a campaign may not take their names.
DNC_TABLE = "dialer_dnc"
INFLIGHT_TABLE = "dialer_inflight"
ZONES_TABLE = "dialer_zones"
LOCK_TABLE = "dialer_lock"
META_TABLE = "dialer_meta"
RESERVED_PREFIX = "dialer_"

# (name, type) with {placeholders} the dialect fills: {pk}, {lastupdated}, {rnd}.
CAMPAIGN_COLUMNS = (
    ("id", "{pk}"),
    ("phone", "VARCHAR(64) NOT NULL"),
    ("datetime", "TIMESTAMP NULL DEFAULT NULL"),
    ("attempts", "INT NOT NULL DEFAULT 0"),
    ("pickups", "INT NOT NULL DEFAULT 0"),
    ("disposition", "INT NOT NULL DEFAULT 1"),
    ("reason", "VARCHAR(255) NOT NULL DEFAULT 'Unknow'"),
    ("duration", "INT NOT NULL DEFAULT 0"),
    ("param", "VARCHAR(255) NOT NULL DEFAULT ''"),
    ("result", "VARCHAR(255) NOT NULL DEFAULT ''"),
    ("cause", "VARCHAR(255) NOT NULL DEFAULT ''"),
    ("lastupdated", "{lastupdated}"),
    ("state", "SMALLINT NOT NULL DEFAULT 0"),
    ("nextcall", "BIGINT NOT NULL DEFAULT 0"),
    ("owner", "VARCHAR(64) NULL DEFAULT NULL"),
    ("lease", "BIGINT NULL DEFAULT NULL"),
    ("channelid", "VARCHAR(150) NULL DEFAULT NULL"),
    ("timezone", "VARCHAR(64) NOT NULL DEFAULT ''"),
    ("areacode", "VARCHAR(16) NOT NULL DEFAULT ''"),
    ("zipcode", "VARCHAR(16) NOT NULL DEFAULT ''"),
    ("rnd", "{rnd}"),
    # Stored (not virtual) so the default order can be indexed on MariaDB, which has no
    # expression indexes.
    ("ap", "INT GENERATED ALWAYS AS (attempts + pickups) STORED"),
    # Attempts per retryable outcome, "-4:2 -2:1" (rules/retry.py); added to older tables on
    # first use (StoreBase.campaign), since a constant default needs no rewrite of the rows.
    ("outcomes", "VARCHAR(100) NOT NULL DEFAULT ''"),
)
LATE_COLUMNS = ("outcomes",)
# What `dump` prints: the original's columns, then the lead's zone data.
DUMP_COLUMNS = ("id", "phone", "datetime", "attempts", "pickups", "disposition", "reason", "duration",
                "param", "result", "cause", "lastupdated", "timezone", "areacode", "zipcode")
# The columns an import may fill.
IMPORT_COLUMNS = ("phone", "param", "timezone", "areacode", "zipcode")

# The index columns of each ordering, in the order of names.ORDERBY.
ORDERS = dict(zip(ORDERBY, (("ap", "id"), ("id",), ("phone", "id"), ("rnd", "id")), strict=True))

# suffix -> columns. Each index costs import speed, so there are only these: one per order,
# and (state, nextcall), which also serves the ACTIVE leads (their nextcall is the lease end:
# expiry, held(), renew() read only the few in-progress rows).
CAMPAIGN_INDEXES = (
    ("ord_ap", ("state", "ap", "id")),
    ("ord_id", ("state", "id")),
    ("ord_phone", ("state", "phone", "id")),   # also the phone lookup: state IN (0,1,2,3)
    ("ord_rnd", ("state", "rnd", "id")),
    # The trailing columns make it covering for statistics(): one pass over a narrow index
    # instead of the whole table.
    ("next", ("state", "nextcall", "disposition", "attempts", "pickups")),
)


def check_name(name, what="campaign"):
    """Validate an identifier before it goes anywhere near SQL; returns it."""
    if not is_identifier(name):
        from .errors import StoreError
        raise StoreError(f"invalid {what} name {name!r}: expected a letter then letters, digits or _"
                         " (at most 64 characters)")
    return name


def check_campaign_name(name):
    check_name(name)
    if name.lower().startswith(RESERVED_PREFIX):
        from .errors import StoreError
        raise StoreError(f"invalid campaign name {name!r}: names starting with {RESERVED_PREFIX!r} are reserved")
    return name


def campaign_ddl(d, table):
    cols = ",\n  ".join(f"{d.q(c)} {t.format(pk=d.pk, lastupdated=d.lastupdated, rnd=d.rnd_default)}"
                        for c, t in CAMPAIGN_COLUMNS)
    stmts = [f"CREATE TABLE {d.q(table)} (\n  {cols}\n){d.table_options}"]
    for suffix, cols in CAMPAIGN_INDEXES:
        stmts.append(f"CREATE INDEX {d.q(d.index_name(table, suffix))} ON {d.q(table)} "
                     f"({', '.join(d.q(c) for c in cols)})")
    return stmts


def global_ddl(d):
    """Tables shared by all campaigns; created with IF NOT EXISTS whenever needed."""
    return [
        f"CREATE TABLE IF NOT EXISTS {d.q(DNC_TABLE)} (phone VARCHAR(64) NOT NULL PRIMARY KEY, "
        f"added TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP){d.table_options}",
        # One row per call in progress anywhere; `phone` is indexed so multiplecalls=false can
        # skip numbers being called by any campaign of any instance.
        f"CREATE TABLE IF NOT EXISTS {d.q(INFLIGHT_TABLE)} (campaign VARCHAR(64) NOT NULL, "
        f"lead_id BIGINT NOT NULL, phone VARCHAR(64) NOT NULL, owner VARCHAR(64) NOT NULL, "
        f"since BIGINT NOT NULL, PRIMARY KEY (campaign, lead_id)){d.table_options}",
        f"CREATE INDEX IF NOT EXISTS {d.q(d.index_name(INFLIGHT_TABLE, 'phone'))} "
        f"ON {d.q(INFLIGHT_TABLE)} (phone)",
        f"CREATE TABLE IF NOT EXISTS {d.q(ZONES_TABLE)} (campaign VARCHAR(64) NOT NULL, "
        f"timezone VARCHAR(64) NOT NULL, PRIMARY KEY (campaign, timezone)){d.table_options}",
        # Claims take this row's lock so the in-flight check and insert are atomic across
        # instances (MariaDB); SQLite's BEGIN IMMEDIATE already serialises writers.
        f"CREATE TABLE IF NOT EXISTS {d.q(LOCK_TABLE)} (name VARCHAR(32) NOT NULL PRIMARY KEY)"
        f"{d.table_options}",
        f"{d.insert_ignore} INTO {d.q(LOCK_TABLE)} (name) VALUES ('claim')",
        meta_ddl(d),
    ] + history_ddl(d) + control_ddl(d) + console_ddl(d) + stats_cache_ddl(d)


def meta_ddl(d):
    """Facts about this database, name -> value: its `installation` id (store.installation())."""
    return (f"CREATE TABLE IF NOT EXISTS {d.q(META_TABLE)} (name VARCHAR(32) NOT NULL PRIMARY KEY, "
            f"value VARCHAR(255) NOT NULL){d.table_options}")


def blacklist_ddl(d, table):
    return (f"CREATE TABLE IF NOT EXISTS {d.q(table)} (phone VARCHAR(64) NOT NULL PRIMARY KEY, "
            f"added TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP){d.table_options}")
