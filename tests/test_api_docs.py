"""The API reference (docs/, Sphinx with numpydoc) builds without a single warning, and documents
every name of ``patternlab.__all__``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import patternlab as pl

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_the_api_reference_builds_without_warnings(tmp_path: Path) -> None:
    out = tmp_path / "html"
    run = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                          "-d", str(tmp_path / "doctrees"), str(DOCS), str(out)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "WARNING" not in run.stderr, run.stderr[-4000:]
    pages = {p.stem for p in (out / "generated").glob("patternlab.*.html")}
    public = {f"patternlab.{n}" for n in pl.__all__ if not n.startswith("__")}
    assert public <= pages, sorted(public - pages)
    # a page holds the docstring's sections rendered, not the raw text
    page = (out / "generated" / "patternlab.matrix_profile.html").read_text()
    assert "Parameters" in page and "Examples" in page and "&gt;&gt;&gt;" in page
