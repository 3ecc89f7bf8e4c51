"""The console's user actions of `dialer`: user-add and user-passwd (docs/web.md).

The password never comes from argv (it would show in `ps` and the shell history): it is read
from the terminal without echo, twice, or as the first line of stdin when stdin is not a
terminal (Ansible, scripts).
"""
import getpass
import sys

from .cli import EXIT_OK, _params


class UsageError(ValueError):
    """Bad input; dialer.cli turns it into its one-line usage error (exit 2)."""


def read_password(name, stdin=None):
    stdin = stdin or sys.stdin
    if stdin.isatty():
        first = getpass.getpass(f"password for {name}: ")
        if getpass.getpass(f"password for {name} (again): ") != first:
            raise UsageError(f"the two passwords typed for {name} differ; nothing changed")
        return first
    line = stdin.readline()
    password = line[:-1] if line.endswith("\n") else line
    if password.endswith("\r"):
        password = password[:-1]
    if not password:
        raise UsageError(f"no password on stdin for {name} (expected one line)")
    return password


def run(st, cfg, args, action):
    ps = _params(args)
    if len(ps) != 1:
        raise UsageError(f"-a {action} needs one user name: -p NAME (got {len(ps)} values)")
    name = ps[0]
    st.ensure_console()
    if action == "user-add":
        if not args.role:
            raise UsageError("-a user-add needs a role: --role viewer|operator|admin")
        if st.user(name) is not None:
            raise UsageError(f"user {name!r} already exists (change its password with: dialer -a user-passwd -p {name})")
        st.user_add(name, read_password(name), args.role)
        st.audit("cli", "", "user-add", detail=f"{name} ({args.role})")
        print(f"user {name} added with role {args.role}")
    else:
        if args.role:
            raise UsageError("-a user-passwd changes the password only (--role is for user-add)")
        if st.user(name) is None:
            raise UsageError(f"user {name!r} does not exist (create it with: dialer -a user-add -p {name} --role viewer)")
        st.user_set_password(name, read_password(name))
        st.audit("cli", "", "user-passwd", detail=name)
        print(f"password of user {name} changed")
    return EXIT_OK
