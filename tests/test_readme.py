"""README.md is assembled from docs/*.md (tools/mkreadme.py) and must not drift from them."""
import re
import subprocess
import sys

from tests.conftest import ROOT


def test_readme_is_generated_from_docs():
    proc = subprocess.run([sys.executable, "tools/mkreadme.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_readme_gives_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert "make demo" in text and "make test" in text


def test_readme_is_a_front_door_linking_every_manual_page():
    """The README fits a newcomer's first read and links every page of the manual in docs/."""
    text = (ROOT / "README.md").read_text()
    assert len(text) < 12_000, f"README.md is {len(text)} bytes: keep the manual in docs/"
    pages = sorted(p.name for p in (ROOT / "docs").glob("*.md") if p.stem not in ("overview", "DESIGN"))
    missing = [p for p in pages if f"(docs/{p})" not in text]
    assert not missing, f"README.md does not link {missing}"
    for link in re.findall(r"\]\((docs/[^)#]+)\)", text):
        assert (ROOT / link).is_file(), f"README.md links {link}, which does not exist"
