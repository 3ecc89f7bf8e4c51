"""The store's exceptions; str(e) is always one line for the user."""


class StoreError(Exception):
    """A user-level problem: missing campaign, table exists, bad name, bad input."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or refused us (down, lost, wrong password, locked).

    A subclass of StoreError so a caller that only reports errors needs one except clause;
    the engine catches it first to buffer results instead of failing.
    """


class StoreNotWritable(StoreError):
    """The database files are there but this process may not write them (owner, mode, read-only
    file system). Not an outage: waiting does not fix it, a chown does; the message says which."""


class BulkLoadRefused(StoreError):
    """The server refuses LOAD DATA LOCAL INFILE (MySQL 8's default): use plain INSERTs."""
