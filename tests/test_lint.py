"""The code base is ruff clean (the configuration lives in pyproject.toml)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_clean() -> None:
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "src", "tests", "benchmarks"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_typed_outside_kernels() -> None:
    """Type hints outside the numba kernels are checked by mypy (configuration in pyproject)."""
    out = subprocess.run([sys.executable, "-m", "mypy", "src/patternlab"], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_modules_stay_small() -> None:
    """STYLE: a file per idea, well under 800 lines."""
    big = {str(p.relative_to(ROOT)): n for p in (ROOT / "src").rglob("*.py")
           if (n := len(p.read_text().splitlines())) > 800}
    assert not big, big


def test_kernels_are_pure() -> None:
    """Kernels import nothing from Dask, zarr or Redis, and numba's config is never assigned."""
    for p in (ROOT / "src" / "patternlab").rglob("*.py"):
        text = p.read_text()
        assert not re.search(r"numba\.config\.[A-Z_]+\s*=(?!=)", text), p
        if "kernels" in p.parts:
            for mod in ("dask", "distributed", "zarr", "redis"):
                assert f"import {mod}" not in text and f"from {mod}" not in text, (p, mod)
