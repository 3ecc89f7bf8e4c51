"""What `dialer --check-config` prints: the effective campaigns, and with --all every setting.

Values print as they would be written in dialer.conf, passwords as ***; the --all listing
names the file and line each value comes from and loads back as an equivalent dialer.conf.
"""
from typing import List, TextIO

from dialer.config import CodeFilter, Config, MODE_NEEDS
from dialer.config.settings import CAMPAIGN_SETTINGS, GENERAL_SETTINGS, Setting

# What a campaign does, in the order a reader asks: what it runs, how fast, how often, when, whom.
KEY_SETTINGS = ("dialformat", "maxlines", "maxcaps", "trunk", "attempts", "attemptsdelay", "timeslot", "pause",
                "timezone", "leadtimezone", "filter", "f_mode", "blacklist", "usednc")


def show(value, setting: Setting) -> str:
    if setting.secret and value:
        return "***"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, CodeFilter):
        return ",".join(list(value.include) + ["!" + c for c in value.exclude]) or "none"
    return str(getattr(value, "text", value))


def summary(cfg: Config, warnings: int) -> List[str]:
    """One line for the files, then one per campaign with its key settings."""
    lines = [f"{cfg.path}: ok: {len(cfg.files)} file(s), {len(cfg.campaigns)} campaign(s), {warnings} warning(s)"]
    if not cfg.campaigns:
        lines.append("no campaign section: nothing would be dialled")
    for name, camp in cfg.campaigns.items():
        keys = ("mode",) + MODE_NEEDS[camp.mode] + KEY_SETTINGS
        state = "" if camp.active else " (paused: active=false)"
        lines.append(f"[{name}]{state} " + ", ".join(f"{k}={show(getattr(camp, k), CAMPAIGN_SETTINGS[k])}"
                                                       for k in keys))
    return lines


def _section(out: TextIO, cfg: Config, name: str, obj, table) -> None:
    out.write(f"[{name}]\n")
    for key, setting in table.items():
        out.write(f"{key}={show(getattr(obj, key), setting)}    ; {cfg.origin(name, key)}\n")
    out.write("\n")


def every_setting(cfg: Config, out: TextIO) -> None:
    """[general], [default] and every campaign after layering, each value with its origin."""
    _section(out, cfg, "general", cfg.general, GENERAL_SETTINGS)
    _section(out, cfg, "default", cfg.default, CAMPAIGN_SETTINGS)
    for name, campaign in cfg.campaigns.items():
        _section(out, cfg, name, campaign, CAMPAIGN_SETTINGS)
