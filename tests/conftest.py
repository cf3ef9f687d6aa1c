"""Shared fixtures and helpers of the test suite.

The naive NumPy twins of the kernels live in ``tests/reference.py``; this directory is put on
``sys.path`` so that test modules can ``import reference`` (pytest runs with
``--import-mode=importlib``, which does not do it for us).
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

# When a property test fails, Hypothesis's pytest plugin imports hypothesis.extra._patching (and
# with it libcst) to print a patch. libcst 1.0 uses mypy_extensions.TypedDict, which warns that it
# is deprecated; under filterwarnings=error that import, made inside a pytest hook, aborts the
# whole session with an INTERNALERROR instead of reporting the failing test. Import it once here,
# ignoring only that warning.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "mypy_extensions.TypedDict is deprecated", DeprecationWarning)
    with contextlib.suppress(ImportError):
        import hypothesis.extra._patching  # noqa: F401


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator: every test that draws random data is reproducible."""
    return np.random.default_rng(20240601)


@pytest.fixture
def tiles(monkeypatch: pytest.MonkeyPatch):
    """Set the canonical tile shape ``(rows, diagonals)`` of the float64 (and float32) search.

    ``tiles(R, K)`` patches ``patternlab.profiles.matrix.TILES`` for the rest of the test;
    tiny tiles make every tile edge and every exclusion zone that straddles tiles show up on small inputs.
    """
    import patternlab.profiles.matrix as profile

    def set_tiles(R: int, K: int) -> None:
        monkeypatch.setitem(profile.TILES, np.float64, (R, K))
        monkeypatch.setitem(profile.TILES, np.float32, (R, K))

    return set_tiles
