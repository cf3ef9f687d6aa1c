"""The core install: ``import patternlab`` and the profiles, discords, motifs, searches, streams
and libraries in memory work without the optional dependencies (imports of them blocked in a
fresh interpreter, as where they are not installed); every feature that needs one raises
``MissingDependencyError`` naming the extra; pyproject's extras are the ones the README lists."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = ("distributed", "dask", "zarr", "numcodecs", "redis", "bokeh", "prometheus_client", "yaml",
            "tqdm", "aiohttp", "asyncssh", "dask_kubernetes", "sklearn")

BLOCK = textwrap.dedent(f"""
    import importlib.abc, sys
    class Blocked(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] in {OPTIONAL!r}:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None
    sys.meta_path.insert(0, Blocked())
""")


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", BLOCK + textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_the_core_works_without_the_extras() -> None:
    out = _run("""
        import numpy as np, patternlab as pl
        from patternlab.datasets.synthetic import planted_signal
        T = np.cumsum(np.random.default_rng(0).standard_normal(3000))
        mp = pl.matrix_profile(T, 50)
        assert pl.find_discords(T, 50, 2) == mp.discords(2)
        assert len(pl.match(T[100:150], T)) > 0 and len(pl.motifs(T, 50, 2)) == 2
        lib = pl.PatternLibrary(window=64)
        for i in range(3):
            pl.perceive(planted_signal(3000, 64, seed=i).signal, "d", lib, signal_id=i)
        assert len(lib) > 0
        sp = pl.StreamingProfile(T[:500], 50)
        sp.update(1.0)
        pl.approximate_profile(T, 50, percentage=0.1, seed=0)
        assert pl.load_config(window=40).window == 40  # no Dask config to read without Dask
        assert pl.EngineConfig.from_dask_config() == pl.EngineConfig()
        print(sorted(m for m in sys.modules if m.split(".")[0] in {optional!r}))
    """.replace("{optional!r}", repr(set(OPTIONAL))))
    assert out.strip() == "[]"


@pytest.mark.parametrize(("code", "extra"), [
    ("pl.batch_perceive([T], client=False)", "dask"),
    ("pl.Lab.local()", "dask"),
    ("pl.open_run('x.zarr')", "dask"),
    ("pl.RedisPatternStore('redis://127.0.0.1:1')", "redis"),
    ("pl.perceive(T, library=pl.PatternLibrary(window=32), redis='redis://127.0.0.1:1')", "redis"),
    ("pl.PatternLibrary(window=32).save('lib.zarr')", "zarr"),
    ("pl.PatternLibrary.load('lib.zarr')", "zarr"),
    ("pl.matrix_profile(T, 50, out='mp.zarr')", "zarr"),
    ("pl.StreamingProfile(T[:500], 50).save('s.zarr')", "zarr"),
    ("pl.MemoryPatternStore()", "zarr"),
    ("pl.PatternFeatures()", "features"),
    ("pl.load_config(os.path.join(os.getcwd(), 'c.yaml'))", "dask"),
    ("pl.matrix_profile(T, 50, client=object())", "dask"),
    ("pl.lab.ClusterConfig", "dask"),
])
def test_a_missing_extra_is_named(code: str, extra: str, tmp_path: Path) -> None:
    out = _run(f"""
        import os, numpy as np, patternlab as pl
        os.chdir({str(tmp_path)!r})
        with open("c.yaml", "w") as f:
            f.write("window: 40")
        T = np.cumsum(np.random.default_rng(0).standard_normal(3000))
        try:
            {code}
        except pl.MissingDependencyError as exc:
            assert isinstance(exc, ImportError)
            print(exc)
    """)
    assert f'pip install "patternlab[{extra}]"' in out, out


def test_the_names_of_a_missing_extra_are_there_until_used() -> None:
    out = _run("""
        import patternlab as pl
        from patternlab import *  # every public name, those of the missing extras included
        assert hasattr(pl, "Lab") and "pip install" in repr(pl.Lab)
        assert not isinstance(object(), pl.RedisPatternStore)
        try:
            class Mine(pl.Lab):
                pass
        except pl.MissingDependencyError as exc:
            print(exc)
    """)
    assert 'pip install "patternlab[dask]"' in out, out


def test_the_command_line_lists_every_command_and_names_the_extra() -> None:
    out = _run("""
        from patternlab._cli.main import main
        try:
            main(["--help"])
        except SystemExit:
            pass
        print("rc", main(["status"]))
        print("rc", main(["status", "--scheduler", "tcp://10.0.0.5:8786"]))  # its options, unknown here
    """)
    assert "profile" in out and "demo" in out and "status" in out
    assert out.count("rc 2") == 2  # (an unrecognized option would exit the child with 2)


def test_import_patternlab_does_not_import_the_extras() -> None:
    heavy = set(OPTIONAL) - {"yaml"}  # (numba reads its configuration file with yaml where installed)
    out = subprocess.run([sys.executable, "-c", "import sys, patternlab; print(sorted(m for m in "
                          f"sys.modules if m.split('.')[0] in {heavy!r}))"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr


def test_the_sub_packages_of_the_extras_load_on_first_use() -> None:
    code = ("import patternlab as pl; print(pl.lab.ClusterConfig.__name__, pl.batch.open_run.__name__, "
            "pl.dashboard.__name__, 'lab' in dir(pl))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.stdout.split() == ["ClusterConfig", "open_run", "patternlab.dashboard", "True"], out.stderr


def test_the_extras_are_the_readmes() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    readme = (ROOT / "README.md").read_text()
    for name in ("dask", "zarr", "redis", "notebook", "serve", "features", "all"):
        assert name in extras and f"| `{name}`" in readme, name
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert sorted(d.split(">")[0] for d in deps) == ["numba", "numpy"]
    for heavy in ("distributed", "zarr", "redis"):
        assert any(heavy in d for e in ("dask", "zarr", "redis") for d in extras[e]), heavy
    assert "patternlab[dask,zarr,redis,notebook,ssh,kube,features,serve]" in extras["all"]
