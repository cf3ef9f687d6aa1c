"""``patternlab demo``: motifs and discords of a real electrocardiogram, then a pattern library
learned from the GunPoint motion series on a local Dask cluster, and an HTML report."""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import patternlab as pl

from .._text import plural
from .report import PALETTE, Report, Series, Span, line_chart

#: The ECG window: 216 samples, 0.6 s at 360 Hz, about one beat of record 208 (QRS and T wave).
ECG_WINDOW = 216
#: The GunPoint pattern length: a third of a series (150 samples).
GUNPOINT_WINDOW = 50
GUNPOINT_BATCH = 25
#: Colours of the motif pairs (the discords are red, PALETTE[3]).
MOTIF_COLORS = (PALETTE[2], PALETTE[6], PALETTE[8], PALETTE[4], PALETTE[9], PALETTE[5])

DESCRIPTION = """\
Run patternlab on real signals, with no server to set up:

  1. the exact matrix profile of five minutes of an electrocardiogram (MIT-BIH Arrhythmia
     Database, record 208, 360 Hz): its top motifs (the most alike pairs of beats) and its
     top discords (windows unlike any other: ectopic beats, noise artifacts), in seconds;
  2. batch_perceive over the 200 GunPoint motion series (UCR archive) on a local Dask cluster
     (2 worker processes; the dashboard link is printed), learning one pattern library;
  3. an HTML report (OUTPUT/report.html) with the motifs, the discords and the learned library,
     and OUTPUT/summary.json with the same figures.

OUTPUT is -o DIR, by default patternlab/demo in the user's cache folder ($XDG_CACHE_HOME, else
~/.cache): outside any working tree, and kept, so that a rerun resumes from its run store.
"""

EPILOG = """\
examples:
  patternlab demo                       # report in ~/.cache/patternlab/demo/
  patternlab demo -o /tmp/demo -k 5     # five motifs and five discords
  patternlab demo --no-cluster          # everything in this process, no Dask cluster

data: Moody & Mark, IEEE Eng Med Biol 20(3):45-50 (2001); Goldberger et al., Circulation
101(23):e215-e220 (2000) (PhysioNet, ODC-By); Dau et al., IEEE/CAA J Autom Sinica 6(6):1293-1305
(2019) (UCR archive). See patternlab.datasets.
"""


@dataclass
class DemoResult:
    """What the demo computed (also written to ``summary.json``)."""

    recording: pl.datasets.Recording
    profile: pl.MatrixProfile
    motifs: list[pl.Motif]
    discords: list[pl.Discord]
    gunpoint: pl.datasets.LabelledSeries
    batch: pl.BatchResult
    class_counts: dict[str, tuple[int, int]]
    output: Path
    report: Path
    summary: dict[str, Any] = field(default_factory=dict)


def register(subparsers: Any) -> None:
    """Add the ``demo`` command."""
    p = subparsers.add_parser(
        "demo", help="motifs and discords of a real ECG, a library learned from GunPoint on a local "
        "cluster, and an HTML report (no server needed)",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--output", "-o", default=None, metavar="DIR",
                   help="folder for report.html, summary.json and the run store (default: "
                        "$XDG_CACHE_HOME/patternlab/demo, else ~/.cache/patternlab/demo)")
    p.add_argument("-k", type=int, default=3, metavar="K",
                   help="how many motifs and discords to show (default 3)")
    p.add_argument("--window", "-m", type=int, default=ECG_WINDOW, metavar="M",
                   help=f"ECG window in samples (default {ECG_WINDOW}, 0.6 s)")
    p.add_argument("--workers", type=int, default=2, metavar="N",
                   help="worker processes of the local cluster (default 2, one thread each)")
    p.add_argument("--no-cluster", action="store_true",
                   help="run batch_perceive in this process, without a Dask cluster")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    for name in ("k", "window", "workers"):
        value = getattr(args, name)
        if value < 1:
            flag = "-k" if name == "k" else f"--{name}"
            raise pl.InvalidParameterError(f"{flag}={value}: pass a positive integer")
    run_demo(args.output, window=args.window, k=args.k, cluster=not args.no_cluster,
             workers=args.workers, progress=not args.no_progress)
    return 0


def default_output() -> Path:
    """Where the demo writes when no ``-o`` is given: ``patternlab/demo`` in the user's cache
    folder (``$XDG_CACHE_HOME``, else ``~/.cache``), outside any working tree."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "patternlab" / "demo"


def nearest_pattern_correlations(X: Any, library: pl.PatternLibrary) -> np.ndarray:
    """``(len(X), len(library))``: the best Pearson correlation of each pattern with any window of
    each series (from :func:`patternlab.distance_profile`: ``r = 1 - d**2 / (2 m)``)."""
    return best_windows(X, library)[0]


def best_windows(X: Any, library: pl.PatternLibrary) -> tuple[np.ndarray, np.ndarray]:
    """For each series and pattern, the best Pearson correlation of the pattern with a window of
    the series and where that window starts: two ``(len(X), len(library))`` arrays."""
    m = library.window
    corr = np.empty((len(X), len(library)))
    where = np.empty((len(X), len(library)), dtype=np.int64)
    for j, proto in enumerate(library.prototypes):
        for i, x in enumerate(X):
            d = pl.distance_profile(proto, x)
            k = int(np.argmin(d))
            where[i, j] = k
            corr[i, j] = 1.0 - float(d[k]) ** 2 / (2 * m)
    return corr, where


def _sec(rec: pl.datasets.Recording, i: int) -> float:
    return round(rec.seconds(i), 2)


def run_demo(output: str | Path | None = None, *, window: int = ECG_WINDOW, k: int = 3,
             cluster: bool = True, workers: int = 2, progress: bool = True,
             echo: Callable[[str], Any] = print) -> DemoResult:
    """Run the demo: print as it goes, write ``report.html``, ``summary.json`` and the run store
    ``gunpoint.zarr`` to ``output`` (default: :func:`default_output`)."""
    t_start = time.perf_counter()
    out_dir = Path(output) if output is not None else default_output()
    out_dir.mkdir(parents=True, exist_ok=True)
    echo(f"patternlab {pl.__version__} demo: motifs and discords of a real electrocardiogram, "
         "then a pattern library learned from 200 motion series\n")

    # -- 1. the electrocardiogram ----------------------------------------------------------------
    rec = pl.datasets.ecg()
    fs = rec.sampling_rate
    echo(f"1. {rec!r}")
    echo(f"   {rec.source}")
    t0 = time.perf_counter()
    mp = pl.matrix_profile(rec.signal, window)
    dt = time.perf_counter() - t0
    echo(f"   exact matrix profile, window {window} samples ({window / fs:.2f} s): {len(mp):,} windows "
         f"in {dt:.2f} s (a fresh install compiles the kernels first)")
    motifs = mp.motifs(k)
    discords = mp.discords(k)
    echo(f"   top {len(motifs)} motifs (the most alike pairs of windows: the recurring beat shapes):")
    for r, mo in enumerate(motifs, 1):
        echo(f"     #{r}  {_sec(rec, mo.a):7.2f} s and {_sec(rec, mo.b):7.2f} s   "
             f"distance {mo.distance:6.3f}")
    echo(f"   top {len(discords)} discords (windows unlike any other: ectopic beats, noise, artifacts):")
    for r, d in enumerate(discords, 1):
        echo(f"     #{r}  {_sec(rec, d.index):7.2f} s to {_sec(rec, d.index + window):7.2f} s   "
             f"distance {d.distance:6.3f}   (nearest alike window at {_sec(rec, d.neighbor):.2f} s)")

    # -- 2. GunPoint on a local cluster ----------------------------------------------------------
    gp = pl.datasets.gunpoint("all")
    assert isinstance(gp.X, np.ndarray) and gp.y is not None
    echo(f"\n2. {gp.name}: {len(gp)} series of {gp.X.shape[1]} samples, classes 1 (Gun-Draw) and "
         "2 (Point)")
    echo(f"   {gp.source}")
    config = pl.EngineConfig(window=GUNPOINT_WINDOW, seed=0)
    library = pl.PatternLibrary(GUNPOINT_WINDOW, "gunpoint", config=config)
    store = out_dir / "gunpoint.zarr"
    resumed = store.exists()
    kwargs: dict[str, Any] = {"domain": "gunpoint", "library": library, "batch_size": GUNPOINT_BATCH,
                              "progress": progress, "store": str(store)}
    if cluster:
        with pl.Lab.local(n_workers=workers, threads_per_worker=1) as lab:
            echo(f"   batch_perceive on a LocalCluster ({plural(workers, 'worker')} x 1 thread); dashboard: "
                 f"{lab.dashboard_link}")
            batch = pl.batch_perceive(list(gp.X), client=lab, **kwargs)
    else:
        echo("   batch_perceive in this process (--no-cluster)")
        batch = pl.batch_perceive(list(gp.X), client=False, **kwargs)
    lib = batch.library
    m = batch.metrics
    run = pl.open_run(str(store))
    done, total = run.progress
    echo(f"   run store: {store} ({done} of {total} partitions checkpointed"
         f"{', resumed: finished partitions were skipped' if resumed else ''}; pl.open_run reads it)")
    echo(f"   learned {plural(len(lib), 'pattern')} (window {lib.window}) in {m['wall_seconds']:.2f} s: "
         f"{partitions_wording(m, total)}")
    labels = gp.y
    best, where = best_windows(gp.X, lib)
    held = best >= lib.config.cluster_threshold  # (series, pattern): a window correlates enough
    class_counts = {pid: (int(np.sum(held[labels == 1, j])), int(np.sum(held[labels == 2, j])))
                    for j, pid in enumerate(lib.ids)}
    echo("   top patterns by support (series holding each, by class: Gun-Draw / Point):")
    order = np.argsort(-lib.supports, kind="stable")[:5]
    for i in order:
        pat = lib[int(i)]
        c1, c2 = class_counts[pat.id]
        sid, off = pat.first_seen
        echo(f"     {pat.id}  support {pat.support:3d}   in {c1:3d} / {c2:3d} series   first seen in "
             f"series {sid} (class {labels[int(sid)]}) at {off}")

    # -- 3. the report ---------------------------------------------------------------------------
    summary = {
        "ecg": {"window": window, "sampling_rate": fs,
                "motifs": [{"a_s": _sec(rec, mo.a), "b_s": _sec(rec, mo.b), "distance": mo.distance}
                           for mo in motifs],
                "discords": [{"start_s": _sec(rec, d.index), "stop_s": _sec(rec, d.index + window),
                              "distance": d.distance, "neighbor_s": _sec(rec, d.neighbor)}
                             for d in discords]},
        "gunpoint": {"series": len(gp), "window": lib.window, "patterns": len(lib),
                     "metrics": dict(m),
                     "class_counts": class_counts},
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    report = _report(rec, mp, motifs, discords, gp, batch, class_counts, best, where, cluster, workers,
                     store)
    path = report.write(out_dir / "report.html")
    echo(f"\n3. report: {path}   (open it in a browser; figures also in {out_dir / 'summary.json'})")
    echo(f"done in {time.perf_counter() - t_start:.1f} s")
    return DemoResult(rec, mp, motifs, discords, gp, batch, class_counts, out_dir, path, summary)


def partitions_wording(metrics: dict[str, Any], total: int) -> str:
    """``"8 partitions run now"``, ``"3 partitions run now, 5 read back from the run store"``."""
    now, back = int(metrics["tasks_processed"]), int(metrics.get("partitions_resumed", 0))
    if back == 0:
        return f"{plural(now, 'partition')} run now" + (" (all of them)" if now == total and now > 1 else "")
    if now == 0:
        return f"none run now, {plural(back, 'partition')} read back from the run store"
    return f"{plural(now, 'partition')} run now, {back:,} read back from the run store"


def _report(rec: pl.datasets.Recording, mp: pl.MatrixProfile, motifs: list[pl.Motif],
            discords: list[pl.Discord], gp: pl.datasets.LabelledSeries, batch: pl.BatchResult,
            class_counts: dict[str, tuple[int, int]], best: np.ndarray, where: np.ndarray, cluster: bool,
            workers: int,
            store: Path) -> Report:
    fs, m, T = rec.sampling_rate, mp.m, rec.signal
    t = rec.times
    r = Report("patternlab demo")
    r.text("Motifs and discords of a real electrocardiogram with the exact matrix profile, then a "
           "library of patterns learned from the GunPoint motion series with batch_perceive.")

    r.heading("1. Electrocardiogram: MIT-BIH Arrhythmia Database, record 208")
    r.text(rec.description + f" {len(rec):,} samples at {fs:g} Hz, lead MLII, 5 minutes. "
           f"Matrix profile window: {m} samples ({m / fs:.2f} s).")
    spans = [Span(x / fs, (x + m) / fs, MOTIF_COLORS[j % len(MOTIF_COLORS)], f"M{j + 1}")
             for j, mo in enumerate(motifs) for x in (mo.a, mo.b)]
    spans += [Span(d.index / fs, (d.index + m) / fs, PALETTE[3], f"D{j + 1}", 0.35)
              for j, d in enumerate(discords)]
    r.figure(line_chart([Series(T, t, "#555", 0.6)], height=180, spans=spans, ylabel="mV",
                        title="the whole recording: the two windows of each motif M1, M2, ... and the "
                              "discords D (red)"))
    r.figure(line_chart([Series(mp.P, t[:len(mp)], PALETTE[0], 0.8)], height=130, spans=spans,
                        xlabel="seconds", ylabel="distance",
                        title="matrix profile: distance of each window to its nearest neighbour"),
             "Low values: windows with a close twin elsewhere (motifs). High values: windows unlike any "
             "other (discords).")

    r.heading("Top motifs", 3)
    r.text("Each pair z-normalized by its window (shaded), as the matrix profile compares them.", note=True)
    figs = []
    for j, mo in enumerate(motifs):
        x = np.arange(-m // 2, m + m // 2)
        series = []
        for idx, color in ((mo.a, PALETTE[0]), (mo.b, PALETTE[1])):
            seg = np.full(x.shape, np.nan)
            lo, hi = idx + x[0], idx + x[-1] + 1
            a, b = max(lo, 0), min(hi, len(T))
            win = T[idx:idx + m]
            seg[a - lo:b - lo] = (T[a:b] - win.mean()) / win.std()
            series.append(Series(seg, x / fs, color, 1.0, f"{idx / fs:.2f} s"))
        figs.append((line_chart(series, width=440, height=170, spans=[Span(0, m / fs, PALETTE[2], "", 0.12)],
                                xlabel="seconds from the window start", ylabel="z-normalized"),
                     f"M{j + 1}: windows at {mo.a / fs:.2f} s and {mo.b / fs:.2f} s, distance "
                     f"{mo.distance:.3f}"))
    r.grid(figs)

    r.heading("Top discords", 3)
    figs = []
    for j, d in enumerate(discords):
        lo, hi = max(d.index - int(fs), 0), min(d.index + m + int(fs), len(T))
        figs.append((line_chart([Series(T[lo:hi], t[lo:hi], "#555", 0.8)], width=440, height=170,
                                spans=[Span(d.index / fs, (d.index + m) / fs, PALETTE[3], f"D{j + 1}")],
                                xlabel="seconds", ylabel="mV"),
                     f"D{j + 1}: {d.index / fs:.2f} s to {(d.index + m) / fs:.2f} s, distance "
                     f"{d.distance:.2f} to its nearest window (at {d.neighbor / fs:.2f} s)"))
    r.grid(figs)
    r.text(f"Data: {rec.source}. License: {rec.license}. Cite: {rec.citation}", note=True)

    lib = batch.library
    mt = batch.metrics
    assert isinstance(gp.X, np.ndarray) and gp.y is not None
    r.heading("2. A pattern library learned from GunPoint")
    where_run = (f"a LocalCluster of {workers} worker processes" if cluster else "this process")
    total = -(-len(gp) // GUNPOINT_BATCH)
    r.text(f"{gp.description} batch_perceive over all {len(gp)} series on {where_run}, in "
           f"{total} partitions of {GUNPOINT_BATCH} series ({partitions_wording(mt, total)}), "
           f"{mt['wall_seconds']:.2f} s: {plural(len(lib), 'pattern')} of {lib.window} samples learned. "
           f"pl.open_run({str(store)!r}).library reads the library back.")
    figs = []
    for c, color in ((1, PALETTE[0]), (2, PALETTE[1])):
        rows = gp.X[gp.y == c][:10]
        figs.append((line_chart([Series(x, None, color, 0.8) for x in rows], width=440, height=170,
                                xlabel="sample"),
                     f"ten series of class {c} ({'Gun-Draw' if c == 1 else 'Point'})"))
    r.grid(figs)
    _patterns_section(r, gp, lib, class_counts, best, where)
    r.text(f"Data: {gp.source}. Cite: {gp.citation}", note=True)
    return r


def _patterns_section(r: Report, gp: pl.datasets.LabelledSeries, lib: pl.PatternLibrary,
                      class_counts: dict[str, tuple[int, int]], best: np.ndarray, where: np.ndarray) -> None:
    """The learned patterns: one table (by support) and a plot of each, in the same order."""
    assert isinstance(gp.X, np.ndarray) and gp.y is not None
    w, thr = lib.window, lib.config.cluster_threshold
    order = [int(i) for i in np.argsort(-lib.supports, kind="stable")]
    r.heading("The learned patterns", 3)
    r.text(f"A pattern is a shape of {w} samples that recurs across the series: batch_perceive found "
           "it without looking at the classes, and its support counts the windows it absorbed while "
           f"learning. A series holds a pattern when one of its windows correlates >= {thr} with it. A "
           "pattern held by most series of one class and few of the other tells the classes apart; "
           "one held by nearly every series is a part of the movement both classes share (the hand "
           "at rest, lifting the arm).")
    rows = []
    for n, i in enumerate(order, 1):
        pat = lib[i]
        c1, c2 = class_counts[pat.id]
        rows.append((f"P{n}", pat.id, pat.support, f"series {pat.first_seen[0]}, offset {pat.first_seen[1]}",
                     c1, c2))
    r.table(["", "pattern", "support", "first seen", "Gun-Draw series (of 100)", "Point series (of 100)"],
            rows)
    r.text("Each plot: the pattern (black) over the windows that hold it in up to eight series of each "
           "class, all z-normalized (as they are compared); the caption says where in the series these "
           "windows start (the median).", note=True)
    figs = []
    x = np.arange(w)
    for n, i in enumerate(order, 1):
        pat = lib[i]
        series, starts = [], []
        for c, color, name in ((1, PALETTE[0], "Gun-Draw"), (2, PALETTE[1], "Point")):
            idx = np.flatnonzero((gp.y == c) & (best[:, i] >= thr))
            for q, s_ in enumerate(idx[:8]):
                k = int(where[s_, i])
                win = gp.X[s_, k:k + w]
                series.append(Series((win - win.mean()) / win.std(), x, color, 0.8,
                                     f"{name} series holding it" if q == 0 else ""))
            if len(idx):
                starts.append(f"{int(np.median(where[idx, i]))} ({name})")
        series.append(Series(np.asarray(pat.prototype) * np.sqrt(w), x, "#111", 2.2, "pattern"))
        c1, c2 = class_counts[pat.id]
        figs.append((line_chart(series, width=440, height=190, xlabel="sample in the window",
                                ylabel="z-normalized"),
                     f"P{n}: support {pat.support}, held by {c1} Gun-Draw and {c2} Point series"
                     + (f", whose windows start near sample {' and '.join(starts)}" if starts else "")
                     + f" ({pat.id})"))
    r.grid(figs)
