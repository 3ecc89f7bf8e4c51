"""The history table: one row per finished attempt, in the campaign database (docs/history.md).

Times are epoch seconds (BIGINT): unambiguous across time zones and DST, and what Grafana's
MySQL data source groups on directly ($__unixEpochGroup). Periods of `report` are taken on
`originated_at` (when the call was placed).
"""

HISTORY_TABLE = "dialer_history"

# (name, type); {pk} is filled by the dialect (a 64-bit key on MariaDB: 10M rows a month is
# plausible at 1,000 attempts/s).
HISTORY_COLUMNS = (
    ("id", "{pk}"),
    ("campaign", "VARCHAR(64) NOT NULL"),
    ("lead_id", "BIGINT NOT NULL"),
    ("phone", "VARCHAR(64) NOT NULL"),
    ("attempt", "INT NOT NULL"),
    ("instance", "VARCHAR(64) NOT NULL DEFAULT ''"),
    ("channelid", "VARCHAR(150) NULL DEFAULT NULL"),
    ("originated_at", "BIGINT NOT NULL"),
    ("answered_at", "BIGINT NULL DEFAULT NULL"),
    ("ended_at", "BIGINT NOT NULL"),
    ("disposition", "INT NOT NULL"),
    ("answered", "SMALLINT NOT NULL DEFAULT 0"),
    ("reason", "VARCHAR(255) NOT NULL DEFAULT ''"),
    ("causecode", "INT NULL DEFAULT NULL"),
    ("cause", "VARCHAR(255) NOT NULL DEFAULT ''"),
    ("duration", "INT NOT NULL DEFAULT 0"),
    ("result", "VARCHAR(255) NOT NULL DEFAULT ''"),
    ("param", "VARCHAR(255) NOT NULL DEFAULT ''"),
    ("trunk", "VARCHAR(64) NOT NULL DEFAULT ''"),
)
COLUMN_NAMES = tuple(c for c, _ in HISTORY_COLUMNS)
INSERT_COLUMNS = COLUMN_NAMES[1:]

# Three indexes, each the access path of one question:
#   camp_time  report and purge: a range of one campaign's attempts; the trailing columns make
#              it covering, so a report never reads the rows themselves
#   lead       every attempt of one lead (explain, the e2e checks)
#   phone      every attempt to one number, any campaign (`history -p`, compliance)
HISTORY_INDEXES = (
    ("camp_time", ("campaign", "originated_at", "disposition", "answered", "duration")),
    ("lead", ("campaign", "lead_id")),
    ("phone", ("phone", "originated_at")),
)


def history_ddl(d):
    """CREATE statements (IF NOT EXISTS: run with the global tables, by create and upgrade)."""
    pk = "BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY" if d.name == "mysql" else d.pk
    cols = ",\n  ".join(f"{d.q(c)} {t.format(pk=pk)}" for c, t in HISTORY_COLUMNS)
    stmts = [f"CREATE TABLE IF NOT EXISTS {d.q(HISTORY_TABLE)} (\n  {cols}\n){d.table_options}"]
    for suffix, icols in HISTORY_INDEXES:
        stmts.append(f"CREATE INDEX IF NOT EXISTS {d.q(d.index_name(HISTORY_TABLE, suffix))} "
                     f"ON {d.q(HISTORY_TABLE)} ({', '.join(d.q(c) for c in icols)})")
    return stmts
