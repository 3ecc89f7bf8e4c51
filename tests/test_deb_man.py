"""The manual pages the package installs document the same options as --help (issue 7)."""
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

MAN = ROOT / "packaging" / "man"
OPTION = re.compile(r"(?:^|[\s,\[|])(-{1,2}[A-Za-z][\w-]*)")


def help_text(module):
    proc = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def section(lines, start, stop):
    out, inside = [], False
    for line in lines:
        if start(line):
            inside = True
            continue
        if inside and stop(line):
            break
        if inside:
            out.append(line)
    return out


def help_options(text):
    """Option spellings of an argparse --help: the invocation column of the options section."""
    opts = set()
    for line in section(text.splitlines(), lambda l: l.rstrip() in ("options:", "optional arguments:"),
                        lambda l: l and not l.startswith(" ")):
        if line.startswith("  -"):
            opts.update(OPTION.findall(re.split(r"\s{2,}", line.strip())[0]))
    return opts


def man_tags(page, name):
    """The .TP tags of a section of a roff man page, as plain text."""
    lines = page.read_text().splitlines()
    body = section(lines, lambda l: l.startswith(".SH") and name in l, lambda l: l.startswith(".SH"))
    tags = [body[i + 1] for i, line in enumerate(body[:-1]) if line.startswith(".TP")]
    return [re.sub(r'\\f[BIRP]|"', "", re.sub(r"^\.\w+\s*", "", t)).replace("\\-", "-") for t in tags]


def man_options(page):
    return {o for tag in man_tags(page, "OPTIONS") for o in OPTION.findall(tag)}


@pytest.mark.parametrize("module,page", [("dialer.cli", "dialer.8"), ("dialer.pbxsim", "dialer-pbxsim.1"),
                                         ("dialer.web.serve", "dialer-web.8")])
def test_man_page_documents_exactly_the_help_options(module, page):
    in_help, in_man = help_options(help_text(module)), man_options(MAN / page)
    assert in_help, "no option found in --help"
    assert not in_help - in_man, f"{page} lacks {sorted(in_help - in_man)} (in {module} --help)"
    assert not in_man - in_help, f"{page} documents {sorted(in_man - in_help)}, unknown to --help"


def help_actions(text):
    names = set()
    for line in section(text.splitlines(), lambda l: l.startswith("actions"), lambda l: not l.startswith("  ")):
        for cell in re.split(r"\s{2,}", line.strip())[0::2]:
            first, *more = cell.split()[0].split("/")
            names.add(first)
            names.update(first.rsplit("-", 1)[0] + m for m in more)
    return names


def test_dialer_man_page_lists_every_action():
    in_help = help_actions(help_text("dialer.cli"))
    in_man = {a.strip() for tag in man_tags(MAN / "dialer.8", "ACTIONS") for a in tag.split(",")}
    assert {"create", "file", "statistics", "dnc-add", "blacklist-dump"} <= in_help, in_help
    assert not in_help - in_man, f"dialer.8 lacks actions {sorted(in_help - in_man)}"
