"""The session key file (websecretfile): the one place that makes it and reads it.

dialer-web makes it before gunicorn forks, and hands it to the service user when root runs the
launcher; a worker started without the launcher (a WSGI server of the admin's) may race
another one, so the file appears atomically (a hard link of a complete temporary file)."""
import os
import secrets
import stat
import sys
import tempfile

from dialer import serviceuser


class SecretKeyError(Exception):
    """The key file cannot serve; str() is the one-line message."""


def ensure(path) -> bytes:
    """The key in `path`, which is made with a random key (mode 0600) when missing."""
    path = os.fspath(path)
    if not os.path.exists(path):
        _create(path)
    return _read(path)


def _create(path):
    try:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".web-secret.")
    except OSError as exc:
        raise SecretKeyError(f"websecretfile {path}: cannot create it ({exc.strerror}); create the directory, "
                             "or set websecretfile to a writable place") from None
    try:
        os.write(fd, secrets.token_hex(32).encode() + b"\n")
        os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:     # another worker won the race: its key is the key
            return
    finally:
        os.unlink(tmp)
    try:
        serviceuser.hand_over([path])
    except serviceuser.NotHandedOver as exc:
        raise SecretKeyError(f"websecretfile {exc}") from None


def _read(path) -> bytes:
    try:
        with open(path, "rb") as f:
            key = f.read().strip()
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise SecretKeyError(f"websecretfile {path}: cannot read it ({exc.strerror})") from None
    if len(key) < 32:
        raise SecretKeyError(f"websecretfile {path}: expected a key of at least 32 characters; delete the file "
                             "and dialer-web makes a new one")
    if mode & stat.S_IROTH:
        print(f"dialer-web: warning: websecretfile {path} is readable by every user: chmod 0600 it",
              file=sys.stderr)
    return key
