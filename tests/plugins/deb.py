"""Fixtures of the Debian package tests (issue 7)."""
import fcntl
import tempfile
from pathlib import Path

import pytest

LOCK = Path(tempfile.gettempdir()) / "dialer-package-test.lock"


@pytest.fixture(scope="module")
def dialer_package_lock():
    """Held by a test module that builds (`make deb` rebuilds build/deb/) or installs, upgrades
    or purges the dialer package on this machine. test_deb and test_ansible both do; the lock
    keeps them apart even when two pytest runs overlap."""
    with open(LOCK, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield
