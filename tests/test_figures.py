"""The README's pictures (docs/images, made by docs/figures.py) are current: each PNG is the one the
script recorded, and shows what the code does today (the motifs and discords drawn, the code that
renders each picture). When this fails, run ``python docs/figures.py`` and commit the pictures."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"


def _figures():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("docs_figures", ROOT / "docs" / "figures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["motifs.png", "report.png", "dashboard.png"])
def test_the_readme_pictures_are_current(name: str) -> None:
    figures = _figures()
    record = json.loads((IMAGES / "figures.json").read_text())[name]
    assert figures._digest(IMAGES / name) == record["png"], f"{name} was changed by hand"
    stale = {k: v for k, v in figures.facts(name).items() if record.get(k) != v}
    assert not stale, (f"{name} no longer shows what the code does ({sorted(stale)}): "
                       "run python docs/figures.py")
    assert f"docs/images/{name}" in (ROOT / "README.md").read_text()
