"""The runtime control tables, shared by every dialer node on the database (docs/control.md).

dialer.conf stays the sysadmin's: what an operator changes while campaigns run (a pause) lives
here, where every node reads it, and so does what each node says about itself (its heartbeat).
Times are epoch seconds, like the history's.
"""

PAUSE_TABLE = "dialer_pause"
HEARTBEAT_TABLE = "dialer_heartbeat"
# Instance names (config `instance`) and user names: at most this long.
NAME_MAX = 64


def control_ddl(d):
    """CREATE statements (IF NOT EXISTS: run at create, upgrade and dialer start)."""
    return [
        # A row while the campaign is paused: a pause is an insert, a resume a delete, so two
        # operators racing each other cannot leave a half-written state.
        f"CREATE TABLE IF NOT EXISTS {d.q(PAUSE_TABLE)} (campaign VARCHAR(64) NOT NULL PRIMARY KEY, "
        f"paused_by VARCHAR({NAME_MAX}) NOT NULL, since BIGINT NOT NULL){d.table_options}",
        # One row per dialer instance, rewritten every few seconds; `info` is JSON.
        f"CREATE TABLE IF NOT EXISTS {d.q(HEARTBEAT_TABLE)} (instance VARCHAR({NAME_MAX}) NOT NULL PRIMARY KEY, "
        f"seen BIGINT NOT NULL, info TEXT NOT NULL){d.table_options}",
    ]
