"""No dead code in dialer/: vulture (Debian's package) finds nothing that tools/vulture_whitelist.py
does not explain. Code that only tests call counts as dead: tests read the product, they are
not its users."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WHITELIST = ROOT / "tools" / "vulture_whitelist.py"
# Called by name rather than by code: the pbxsim's act_<action> and the engine's _on_<kind>
# dispatch, web routes.
IGNORE_NAMES = "act_*,_on_*"
IGNORE_DECORATORS = "@*.route,@*.get,@*.post"


def vulture(*paths):
    exe = shutil.which("vulture") or pytest.fail("vulture not found; install Debian's vulture (make test does)")
    return subprocess.run([exe, *map(str, paths), "--ignore-names", IGNORE_NAMES,
                           "--ignore-decorators", IGNORE_DECORATORS], capture_output=True, text=True, cwd=ROOT)


def test_vulture_finds_no_dead_code():
    proc = vulture("dialer", WHITELIST)
    assert proc.returncode == 0 and not proc.stdout, (
        "dead code (remove it, or add it with its reason to tools/vulture_whitelist.py):\n"
        + proc.stdout + proc.stderr)


def test_vulture_reports_dead_code(tmp_path):
    """The check itself works: an uncalled function in a copy of a module is reported."""
    (tmp_path / "mod.py").write_text("def used():\n    return 1\n\n\ndef never_called():\n    return 2\n\n\nused()\n")
    proc = vulture(tmp_path / "mod.py")
    assert proc.returncode != 0 and "never_called" in proc.stdout, proc.stdout + proc.stderr


def test_every_whitelisted_name_still_exists():
    code = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "dialer").rglob("*.py"))
    listed = re.findall(r"^(?:_\.)?([A-Za-z_][A-Za-z0-9_]*)\s+#", WHITELIST.read_text(encoding="utf-8"), re.M)
    assert len(listed) > 10
    gone = [name for name in listed if not re.search(rf"\b{name}\b", code)]
    assert not gone, f"tools/vulture_whitelist.py lists names dialer/ no longer has: {gone}"
