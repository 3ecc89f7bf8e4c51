"""python3 -m dialer.config [--show] [PATH]: check dialer.conf (+ dialer.d) without starting anything.

Exit 0 when it loads (warnings go to stderr), 2 with the one-line error otherwise. --show prints
the effective settings of [general], [default] and every campaign after layering, each with the
file and line it comes from; passwords are masked. Usable as an Ansible `validate:` command.
"""
import argparse
import sys

from dialer import config
from dialer.config.settings import CAMPAIGN_SETTINGS, GENERAL_SETTINGS


def _show(value, setting):
    if setting.secret and value:
        return "***"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, config.CodeFilter):
        return ",".join(list(value.include) + ["!" + c for c in value.exclude]) or "none"
    return str(getattr(value, "text", value))


def _section(out, cfg, name, obj, table):
    out.write(f"[{name}]\n")
    for key, setting in table.items():
        out.write(f"{key}={_show(getattr(obj, key), setting)}    ; {cfg.origin(name, key)}\n")
    out.write("\n")


def main(argv=None, out=sys.stdout, err=sys.stderr):
    parser = argparse.ArgumentParser(prog="python3 -m dialer.config", description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", help="main file (default: $DIALER_CONFIG or /etc/dialer.conf)")
    parser.add_argument("--show", action="store_true", help="print the effective settings and where each comes from")
    args = parser.parse_args(argv)
    try:
        cfg = config.load(args.path)
    except config.ConfigError as exc:
        err.write(f"dialer: {exc}\n")
        return 2
    for warning in cfg.warnings:
        err.write(f"dialer: warning: {warning}\n")
    if args.show:
        _section(out, cfg, "general", cfg.general, GENERAL_SETTINGS)
        _section(out, cfg, "default", cfg.default, CAMPAIGN_SETTINGS)
        for name, campaign in cfg.campaigns.items():
            _section(out, cfg, name, campaign, CAMPAIGN_SETTINGS)
    else:
        names = ", ".join(cfg.campaigns) or "none"
        out.write(f"{cfg.path}: ok ({len(cfg.files)} file(s); campaigns: {names}; {len(cfg.warnings)} warning(s))\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:   # `... --show | head`
        sys.exit(0)
