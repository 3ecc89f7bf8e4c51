"""Names that config, rules and store must agree on: SQL identifiers and lead orderings.

Each rule is written here once; config validates dialer.conf with it, the store checks table
names with it before they go near SQL, and the store maps each ordering to its index.
"""
import re

# Campaign, database and blacklist table names: safe to quote as an SQL identifier on both
# backends, and short enough for MariaDB (64).
IDENTIFIER_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}\Z")
IDENTIFIER_EXPECTED = "an identifier: a letter then up to 63 letters, digits or '_'"

# The orderings a campaign's `orderby` may ask for (the first is the default).
ORDERBY = ("attempts_pickups", "id", "phone", "random")


def is_identifier(name) -> bool:
    return isinstance(name, str) and IDENTIFIER_RE.match(name) is not None
