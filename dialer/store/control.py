"""Runtime control: campaign pauses and node heartbeats (docs/control.md).

Both are read by every node and by the web console, so each read is one small query over a
table with a row per paused campaign or per node, never a scan of anything large."""
import datetime as _dt
import json
import time
from typing import Dict, List, Tuple

from . import schema
from .control_schema import HEARTBEAT_TABLE, NAME_MAX, PAUSE_TABLE, control_ddl
from .errors import StoreError

# Each dialer writes its heartbeat this often (engine/runtime.py); one silent for three periods
# is shown as not reporting (`dialer -a nodes`, the web console).
HEARTBEAT_EVERY = 5.0
STALE_AFTER = 3 * HEARTBEAT_EVERY


def _check_name(value, what):
    if not isinstance(value, str) or not value or len(value) > NAME_MAX or not value.isprintable():
        raise StoreError(f"invalid {what} {value!r}: expected 1 to {NAME_MAX} printable characters")
    return value


def describe_pause(user: str, since: float) -> str:
    """How a pause is shown to people (statistics, the heartbeat's campaign state)."""
    return f"paused by {user} since {_dt.datetime.fromtimestamp(since):%Y-%m-%d %H:%M:%S}"


class ControlMixin:
    def ensure_control(self):
        """Create the control tables when missing (a database made by an older version)."""
        if self.table_exists(PAUSE_TABLE) and self.table_exists(HEARTBEAT_TABLE):
            return False
        for stmt in control_ddl(self.d):
            self.execute(stmt)
        return True

    # -- pause -----------------------------------------------------------------------------------
    def pause_campaign(self, name: str, user: str) -> bool:
        """Pause a campaign on every node; True when it was not paused (an existing pause keeps
        its author and time)."""
        schema.check_campaign_name(name)
        _check_name(user, "user name")
        return self.execute(f"{self.d.insert_ignore} INTO {self.d.q(PAUSE_TABLE)} (campaign, paused_by, since) "
                            "VALUES (?, ?, ?)", (name, user, int(time.time()))).rowcount == 1

    def resume_campaign(self, name: str, user: str) -> bool:
        """Resume a campaign; True when it was paused. `user` is checked like a pause's: the
        caller (CLI, console) records who did it."""
        schema.check_campaign_name(name)
        _check_name(user, "user name")
        return self.execute(f"DELETE FROM {self.d.q(PAUSE_TABLE)} WHERE campaign = ?", (name,)).rowcount == 1

    def paused_campaigns(self) -> Dict[str, Tuple[str, float]]:
        """name -> (who paused it, since when in epoch seconds): the whole table, one query."""
        return {name: (who, float(since))
                for name, who, since in self.rows(f"SELECT campaign, paused_by, since FROM {self.d.q(PAUSE_TABLE)}")}

    # -- heartbeats ------------------------------------------------------------------------------
    def write_heartbeat(self, instance: str, info: dict) -> None:
        """Say this node is alive and what it does (`info`, JSON-serialisable); seen = now."""
        _check_name(instance, "instance name")
        self.execute(self.d.upsert(HEARTBEAT_TABLE, ("instance", "seen", "info"), "instance"),
                     (instance, int(time.time()), json.dumps(info, sort_keys=True, default=str)))

    def heartbeats(self) -> List[dict]:
        """Every node that ever reported, by instance name: {instance, seen, **info}. A node that
        stopped reporting keeps its last row; its `seen` tells how old it is."""
        out = []
        for instance, seen, info in self.rows(
                f"SELECT instance, seen, info FROM {self.d.q(HEARTBEAT_TABLE)} ORDER BY instance"):
            try:
                facts = json.loads(info)
            except ValueError:
                facts = {}
            out.append({**(facts if isinstance(facts, dict) else {}), "instance": instance, "seen": float(seen)})
        return out
