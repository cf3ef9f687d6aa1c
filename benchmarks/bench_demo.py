"""asv benchmark of ``patternlab demo`` as a newcomer meets it: the checkout built into a wheel and
installed into a fresh virtual environment, then ``patternlab demo`` in a fresh process (a
LocalCluster of 2 workers x 1 thread, the run store and the HTML report included).

* ``numba_cache="cold"``: an empty numba cache, as right after ``pip install .``: every kernel is
  compiled (in the client and in the workers). The target: under a minute on two cores.
* ``numba_cache="warm"``: the second run, the kernels loaded from numba's on-disk cache.

``python benchmarks/bench_demo.py`` prints both figures. The test suite's smoke run
(``SCALE < 1``) runs the demo once per case in this environment, in process (``--no-cluster``) and
with the checkout's own numba cache, to check that the benchmark runs, not to time it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

SCALE = float(os.environ.get("PATTERNLAB_BENCH_SCALE", "1"))
ROOT = Path(__file__).resolve().parents[1]


def install(folder: Path) -> Path:
    """Build a wheel of the checkout (``python -m build``, as a user would) and install it into a
    new virtual environment that borrows this one's dependencies; return its Python."""
    src = folder / "src-copy"
    src.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "src", src / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.nbi", "*.nbc"))
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(folder / "dist"), str(src)],
                   check=True, capture_output=True)
    env_dir = folder / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    (wheel,) = (folder / "dist").glob("patternlab-*.whl")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True,
                   capture_output=True)
    return python


def run_demo(python: Path | str, out: Path, cache: Path | None, *extra: str) -> float:
    """Wall time of ``patternlab demo`` in a fresh process (``cache``: the numba cache folder)."""
    env = dict(os.environ)
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = str(cache)
    t0 = time.perf_counter()
    subprocess.run([str(python), "-m", "patternlab", "demo", "-o", str(out), "--no-progress", *extra],
                   check=True, env=env, cwd=out.parent, capture_output=True)
    return time.perf_counter() - t0


class Demo:
    """``patternlab demo`` after install, in a fresh process, compile included or not."""

    params = (["cold", "warm"],)
    param_names = ["numba_cache"]
    timeout = 900
    number = 1
    repeat = 2

    def setup(self, numba_cache: str) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="pl-demo-bench-"))
        self.runs = 0
        if SCALE >= 1:
            self.python: Path | str = install(self.tmp)
            self.cache: Path | None = self.tmp / "numba-cache"
            self.extra: tuple[str, ...] = ()
        else:  # smoke run: this environment, in process, the checkout's cache
            self.python, self.cache, self.extra = sys.executable, None, ("--no-cluster", "-k", "1")
        if numba_cache == "warm" and self.cache is not None:
            run_demo(self.python, self.tmp / "out-warmup", self.cache, *self.extra)

    def teardown(self, *params: object) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def time_demo(self, numba_cache: str) -> None:
        if numba_cache == "cold" and self.cache is not None:
            shutil.rmtree(self.cache, ignore_errors=True)
        self.runs += 1
        run_demo(self.python, self.tmp / f"out-{self.runs}", self.cache, *self.extra)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="pl-demo-bench-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        python = install(folder)
        print(f"wheel built and installed in {time.perf_counter() - t0:.1f} s")
        cache = folder / "numba-cache"
        cold = run_demo(python, folder / "out-cold", cache)
        warm = run_demo(python, folder / "out-warm", cache)
        print(f"patternlab demo after install, fresh process, {os.cpu_count()} cores: "
              f"empty numba cache (compile included) {cold:.1f} s; warm cache {warm:.1f} s "
              f"(target: under 60 s with compilation: {'met' if cold < 60 else 'missed'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
