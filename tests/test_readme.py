"""README.md is assembled from docs/*.md (tools/mkreadme.py) and must not drift from them."""
import subprocess
import sys

from tests.conftest import ROOT


def test_readme_is_generated_from_docs():
    proc = subprocess.run([sys.executable, "tools/mkreadme.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_readme_gives_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert "make demo" in text and "make test" in text
