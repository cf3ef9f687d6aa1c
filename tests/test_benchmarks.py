"""Smoke run of the benchmark suite: every asv benchmark and the STUMPY comparison run once on
small inputs (no timing is asserted; figures come from the real runs)."""

from __future__ import annotations

import importlib
import inspect
import itertools
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _benchmarks_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))


def _cases(module: str) -> list[tuple[type, str, tuple[object, ...]]]:
    mod = importlib.import_module(f"benchmarks.{module}")
    out = []
    for _, cls in inspect.getmembers(mod, inspect.isclass):
        if cls.__module__ != mod.__name__:
            continue
        params = getattr(cls, "params", [])
        if params and not isinstance(params[0], list):
            params = [params]
        for combo in itertools.product(*params) if params else [()]:
            for name in dir(cls):
                if name.startswith(("time_", "track_", "peakmem_", "mem_")):
                    out.append((cls, name, combo))
    return out


@pytest.mark.parametrize("module", sorted(p.stem for p in (ROOT / "benchmarks").glob("bench_*.py")))
def test_asv_benchmarks_run(module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    mod = importlib.import_module(f"benchmarks.{module}")
    if hasattr(mod, "SCALE"):
        monkeypatch.setattr(mod, "SCALE", 0.01)
    cases = _cases(module)
    assert cases
    for cls, name, combo in cases:
        bench = cls()
        if hasattr(bench, "setup"):
            bench.setup(*combo)
        try:
            getattr(bench, name)(*combo)
        finally:
            if hasattr(bench, "teardown"):
                bench.teardown(*combo)


def test_compare_stumpy_script_agrees(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import compare_stumpy

    assert compare_stumpy.main(["--n", "3000", "--m", "50", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "results agree" in out and "vs stumpy" in out
    assert sys.modules["stumpy"]
