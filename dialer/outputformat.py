"""--format for the actions that print tables: one rule for which formats each one prints.

Apart from dialer.cli because `python -m dialer.cli` runs that module as __main__: an exception
class defined there is not the one the action modules would import, and this one is."""


class FormatError(ValueError):
    """A --format the action cannot print; dialer.cli makes it its one-line usage error (exit 2)."""


def output_format(args, action, allowed):
    """The --format of an action that prints in the formats `allowed` (the first is its default):
    a format it cannot print is an error, not silently a table."""
    fmt = args.format or allowed[0]
    if fmt not in allowed:
        raise FormatError(f"--format {fmt}: expected {' or '.join(allowed)} for -a {action}")
    return fmt
