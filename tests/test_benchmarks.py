"""Smoke run of the benchmark suite: every asv benchmark and the STUMPY comparison run once on
small inputs (no timing is asserted; figures come from the real runs)."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import itertools
import math
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: What a smoke run's ``track_*`` figures may be (tiny inputs, a busy 2-core machine included):
#: every track benchmark needs an entry, so a new one comes with its range
TRACK_RANGES = {
    "track_cells_per_second": (1e4, 1e13),  # exact matrix-profile cells a second
    "track_signals_per_second": (0.1, 1e6),
    "track_task_overhead_ms": (-1e3, 1e5),  # an estimate: wall share less the measured latency
    "track_bytes_per_pattern": (64.0, 1e5),  # a 64-sample prototype is 512 bytes raw
}


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
            try:
                bench.setup(*combo)
            except NotImplementedError:  # asv's skip: only for an optional peer that is missing
                optional = getattr(mod, "OPTIONAL", ())
                assert any(importlib.util.find_spec(o) is None for o in optional), (module, name, combo)
                continue
        try:
            value = getattr(bench, name)(*combo)
        finally:
            if hasattr(bench, "teardown"):
                bench.teardown(*combo)
        where = f"{module}.{cls.__name__}.{name}{combo}"
        if name.startswith("track_"):
            assert name in TRACK_RANGES, f"{where}: give it a plausible range in TRACK_RANGES"
            lo, hi = TRACK_RANGES[name]
            assert isinstance(value, (int, float)) and not isinstance(value, bool), (where, value)
            assert math.isfinite(value) and lo <= value <= hi, f"{where} = {value!r}: not in [{lo:g}, {hi:g}]"
        else:
            assert value is None, (where, value)  # asv ignores what time_/peakmem_ return


@pytest.mark.parametrize("module", sorted(p.stem for p in (ROOT / "benchmarks").glob("bench_*.py")))
def test_scale_is_read_when_a_benchmark_runs(module: str) -> None:
    """The smoke run shrinks the inputs by patching ``SCALE``: that only works where ``SCALE`` is
    read inside functions, never in a module- or class-level expression evaluated at import."""
    tree = ast.parse((ROOT / "benchmarks" / f"{module}.py").read_text())
    in_functions = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            in_functions |= {id(n) for n in ast.walk(node)}
    names = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "SCALE"]
    uses = [n for n in names if isinstance(n.ctx, ast.Load)]
    at_import = [n.lineno for n in uses if id(n) not in in_functions]
    assert not at_import, f"benchmarks/{module}.py reads SCALE at import on lines {at_import}"
    mod = importlib.import_module(f"benchmarks.{module}")
    assert not hasattr(mod, "SCALE") or uses, f"benchmarks/{module}.py defines SCALE but never reads it"


def test_compare_stumpy_script_agrees(capsys: pytest.CaptureFixture[str]) -> None:
    """The comparison runs on the series it was asked for and prints sane, consistent figures."""
    from benchmarks import compare_stumpy

    n, m = 3000, 50
    assert compare_stumpy.main(["--n", str(n), "--m", str(m), "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert sys.modules["stumpy"]
    head = re.search(r"random walk n=([\d,]+), m=(\d+), (\d+) numba threads, ([\d.e+]+) distinct cells", out)
    assert head, out
    ell, excl = n - m + 1, math.ceil(m / 4)
    cells = (ell - excl - 1) * (ell - excl) / 2
    assert int(head[1].replace(",", "")) == n and int(head[2]) == m and int(head[3]) >= 1
    assert float(head[4]) == pytest.approx(cells, rel=1e-2)
    row = r"^(stumpy\.stump|patternlab float(?:64|32))\s+(\S+)\s+(\S+)\s+(\S+)x"
    rows = {name: tuple(map(float, xs)) for name, *xs in re.findall(row, out, flags=re.M)}
    assert set(rows) == {"stumpy.stump", "patternlab float64", "patternlab float32"}, out
    rate_st = rows["stumpy.stump"][1]
    for name, (seconds, rate, ratio) in rows.items():
        # cells/s has three significant digits, seconds three decimals, the ratio one
        assert 0 < rate and 0 < cells / rate < 120, (name, rate)
        assert abs(seconds - cells / rate) <= 5e-4 + 5e-3 * cells / rate, (name, seconds, rate)
        assert ratio == pytest.approx(rate / rate_st, rel=0.01, abs=0.06), (name, ratio)
    d64 = re.search(r"patternlab float64 .*max \|dP\| (\S+), neighbours differing beyond ties: (\d+)", out)
    d32 = re.search(r"patternlab float32 .*max \|dP\| (\S+)", out)
    assert d64 and d32, out
    assert float(d64[1]) <= 1e-6 and int(d64[2]) == 0 and float(d32[1]) <= 1e-3
    assert out.rstrip().endswith("results agree")
