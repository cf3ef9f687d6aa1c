"""asv: zarr checkpoints -- a batch run with a store, and library save/load."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

SCALE = 1.0


class CheckpointedBatch:
    """batch_perceive in one process with a zarr run store (compare with BatchInProcess)."""

    timeout = 300

    def setup(self) -> None:
        import patternlab as pl
        from benchmarks.compare_checkpoint import _signals

        self.signals = _signals(max(8, int(400 * SCALE)), 1000)
        self.cfg = pl.EngineConfig(window=64)
        self.tmp = Path(tempfile.mkdtemp(prefix="asv-ckpt-"))
        self.k = 0
        pl.batch_perceive(self.signals[:4], config=self.cfg, client=False, batch_size=2, progress=False)

    def teardown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def time_batch_with_store(self) -> None:
        import patternlab as pl

        self.k += 1
        pl.batch_perceive(self.signals, config=self.cfg, client=False, batch_size=100,
                          progress=False, store=self.tmp / f"run{self.k}.zarr")


class LibraryStorage:
    """Library snapshot write and read (zarr v3), 20,000 patterns of 64 samples."""

    def setup(self) -> None:
        from benchmarks.compare_checkpoint import _library

        self.lib = _library(max(10, int(20_000 * SCALE)), 64)
        self.tmp = Path(tempfile.mkdtemp(prefix="asv-lib-"))
        self.lib.save(self.tmp / "lib.zarr")  # type: ignore[attr-defined]
        self.k = 0

    def teardown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def time_save(self) -> None:
        self.k += 1
        self.lib.save(self.tmp / f"lib{self.k}.zarr")  # type: ignore[attr-defined]

    def time_load(self) -> None:
        import patternlab as pl

        pl.PatternLibrary.load(self.tmp / "lib.zarr")

    def track_bytes_per_pattern(self) -> float:
        files = [f for f in (self.tmp / "lib.zarr").rglob("*") if f.is_file()]
        return float(sum(f.stat().st_size for f in files)) / max(1, len(np.asarray(self.lib.ids)))  # type: ignore[attr-defined]
