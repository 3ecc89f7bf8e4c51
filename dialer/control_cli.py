"""The runtime control actions of `dialer`: pause, resume, nodes (docs/control.md).

A pause is kept in the database, so it holds on every dialer node sharing it and across their
restarts, until someone resumes the campaign."""
import getpass
import json
import os
import sys
import time

from .cli import EXIT_OK
from .outputformat import output_format
from .store.control import STALE_AFTER, describe_pause
from .store.control_schema import PAUSE_TABLE


class UsageError(ValueError):
    """Bad input; dialer.cli turns it into its one-line usage error (exit 2)."""


def who():
    """The person behind the command: the sudo caller rather than root, else the login name."""
    return os.environ.get("SUDO_USER") or getpass.getuser()


def pause_of(st, name):
    """(user, since) while `name` is paused, else None; a database made before the pause table
    has no pauses."""
    if not st.table_exists(PAUSE_TABLE):
        return None
    return st.paused_campaigns().get(name)


def run(st, cfg, args, action, name):
    if action == "nodes":
        return _nodes(st, args)
    st.ensure_control()
    before = st.paused_campaigns().get(name)
    if name not in cfg.campaigns and not st.exists(name) and before is None:
        raise UsageError(f"unknown campaign {name!r}: no section [{name}] in {cfg.path} (or its dialer.d) "
                         f"and no campaign table {name} in the database")
    user = who()
    if action == "pause":
        if st.pause_campaign(name, user):
            print(f"campaign {name} paused by {user}: no new calls on any dialer, live calls finish")
        else:
            print(f"campaign {name} was already {describe_pause(*before)}")
    elif st.resume_campaign(name, user):
        print(f"campaign {name} resumed by {user} (was {describe_pause(*before)})")
    else:
        print(f"campaign {name} was not paused")
    return EXIT_OK


def _nodes(st, args):
    st.ensure_control()
    beats = st.heartbeats()
    now = time.time()
    if output_format(args, "nodes", ("table", "json")) == "json":
        print(json.dumps(beats, indent=2))
        return EXIT_OK
    if not beats:
        print("no dialer has reported to this database")
    for b in beats:
        age = max(0, int(now - b["seen"]))
        seen = f"{age}s ago" if age <= STALE_AFTER else f"NOT REPORTING for {age}s"
        print(f"{b['instance']:<20} {b.get('host', '?'):<20} {b.get('version', '?'):<8} {seen:<24} "
              f"{b.get('status', '')}")
    sys.stdout.flush()
    return EXIT_OK
