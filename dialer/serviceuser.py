"""Files the `dialer` command makes for the service stay usable by the service's user.

On a packaged install the service runs as the `dialer` system user (User=dialer) and owns its
state, log and runtime directories. An administrator who runs the command as root must not
leave files there that the service cannot write (the SQLite file, the journal, the call log,
the pid file): root hands the SQLite file it creates to that user, and the dialing modes run
as that user. Where that cannot be done the command refuses, saying what to run instead.
Nothing changes for other users, or where there is no such account (an install from source).
"""
import grp
import os
import pwd
import shlex
import sys
from typing import Iterable, Optional

SERVICE_USER = "dialer"
# systemd/dialer.service: StateDirectory=, LogsDirectory=, RuntimeDirectory= (all "dialer").
SERVICE_DIRS = ("/var/lib/dialer", "/var/log/dialer", "/run/dialer")


class NotHandedOver(OSError):
    """The service's files cannot be made usable by its user; str() is the one-line message."""


def account() -> Optional[pwd.struct_passwd]:
    """The service's account, when this process runs as root and the account exists."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        return None


def service_dir(path: str) -> Optional[str]:
    """The service directory `path` lies in (or is), else None."""
    path = os.path.abspath(path)
    return next((d for d in SERVICE_DIRS if path == d or path.startswith(d + "/")), None)


def instead() -> str:
    return f"run it as that user instead: runuser -u {SERVICE_USER} -- dialer {shlex.join(sys.argv[1:])}".rstrip()


def hand_over(paths: Iterable[str]) -> None:
    """Give root's files among `paths` that lie in a service directory to the service's user."""
    acct = account()
    if acct is None:
        return
    for path in paths:
        if not service_dir(path):
            continue
        try:
            if os.lstat(path).st_uid == 0:
                os.chown(path, acct.pw_uid, acct.pw_gid, follow_symlinks=False)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise NotHandedOver(f"cannot give {path} to user {SERVICE_USER} ({exc.strerror}); {instead()}") from None


def _groups(acct: pwd.struct_passwd) -> set:
    return {acct.pw_gid} | {g.gr_gid for g in grp.getgrall() if acct.pw_name in g.gr_mem}


def _allowed(acct, groups, path: str, bit: int) -> bool:
    st = os.stat(path)
    shift = 6 if st.st_uid == acct.pw_uid else 3 if st.st_gid in groups else 0
    return bool((st.st_mode >> shift) & bit)


def readable_by(acct: pwd.struct_passwd, path: str) -> bool:
    """Whether the account may read `path` (mode bits along the way; ACLs are not looked at)."""
    groups = _groups(acct)
    path = os.path.abspath(path)
    try:
        parents = [os.path.dirname(path)]
        while parents[-1] != "/":
            parents.append(os.path.dirname(parents[-1]))
        return all(_allowed(acct, groups, d, 1) for d in parents) and _allowed(acct, groups, path, 4)
    except OSError:
        return False


def become_for(paths: Iterable[str], config_files: Iterable[str]) -> bool:
    """As root, before the dialing modes: when files would be made in a service directory for a
    configuration the service's user can read, become that user (making missing service
    directories first, as systemd would, and handing it root's files among `paths`). Returns
    whether it did; NotHandedOver when it cannot."""
    acct = account()
    paths = list(paths)
    dirs = {service_dir(p) for p in paths} - {None}
    if acct is None or not dirs or not all(readable_by(acct, f) for f in config_files):
        return False
    hand_over(paths)
    try:
        for d in sorted(dirs):
            if not os.path.isdir(d):
                os.makedirs(d, mode=0o750)
                os.chown(d, acct.pw_uid, acct.pw_gid)
        os.setgroups(sorted(_groups(acct)))
        os.setgid(acct.pw_gid)
        os.setuid(acct.pw_uid)
    except OSError as exc:
        raise NotHandedOver(f"cannot run as user {SERVICE_USER} ({exc.strerror}); {instead()}") from None
    os.environ.update(HOME=acct.pw_dir, USER=acct.pw_name, LOGNAME=acct.pw_name)
    return True
