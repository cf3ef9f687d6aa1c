"""Synthetic signals with planted patterns, for demos, tests and benchmarks where ground truth is
the point."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._validation import as_count
from ..errors import InvalidParameterError

__all__ = ["BACKGROUNDS", "Planted", "PlantedCorpus", "corpus_shapes", "planted_corpus", "planted_signal",
           "random_walk"]


@dataclass(frozen=True)
class Planted:
    """A generated signal and what was planted in it.

    Attributes
    ----------
    signal : ndarray of float64
        The samples.
    window : int
        Length of the planted shapes.
    motifs : dict of str to list of int
        Start offsets of each planted recurring shape, by name.
    anomalies : list of int
        Start offsets of the planted one-off anomalies.
    """

    signal: NDArray[np.float64]
    window: int
    motifs: dict[str, list[int]] = field(default_factory=dict)
    anomalies: list[int] = field(default_factory=list)


def random_walk(n: int, seed: int = 0) -> NDArray[np.float64]:
    """A Gaussian random walk of ``n`` samples (the usual matrix-profile benchmark series).

    Examples
    --------
    >>> from patternlab.datasets.synthetic import random_walk
    >>> random_walk(5, seed=1).shape
    (5,)
    """
    n = as_count(n, "n")
    return np.cumsum(np.random.default_rng(seed).standard_normal(n))


def _shapes(m: int) -> dict[str, NDArray[np.float64]]:
    t = np.linspace(0.0, 1.0, m)
    return {
        "chirp": np.sin(2 * np.pi * (2 + 6 * t) * t) * np.hanning(m) * 3.0,
        "spike-train": np.exp(-(((t * 4) % 1.0 - 0.5) ** 2) / 0.005) * 3.0,
        "ramp": 3.0 * np.tanh(8.0 * (t - 0.5)) * np.hanning(m),
    }


def planted_signal(
    n: int = 20_000,
    window: int = 100,
    *,
    occurrences: int = 3,
    anomalies: int = 1,
    noise: float = 0.1,
    seed: int = 0,
) -> Planted:
    """A noisy quasi-periodic signal with planted recurring shapes and anomalies.

    The background is a slowly drifting oscillation (period ``0.7 * window``) with Gaussian noise,
    so ordinary windows have close neighbours. Three distinct shapes (``chirp``, ``spike-train``,
    ``ramp``) are each planted ``occurrences`` times (with fresh noise each time) and ``anomalies``
    one-off chirped bursts, all at non-overlapping random offsets that share the background's
    phase.

    Parameters
    ----------
    n : int
        Number of samples.
    window : int
        Length of each planted shape.
    occurrences : int
        How many times each shape recurs.
    anomalies : int
        How many one-off anomalies.
    noise : float
        Standard deviation of the noise (the background has amplitude 1, the shapes ~3).
    seed : int
        Seed of the generator: the same seed gives the same signal.

    Returns
    -------
    Planted

    Examples
    --------
    >>> from patternlab.datasets.synthetic import planted_signal
    >>> p = planted_signal(5000, 50, seed=1)
    >>> sorted(p.motifs), len(p.anomalies)
    (['chirp', 'ramp', 'spike-train'], 1)
    """
    n = as_count(n, "n")
    window = as_count(window, "window")
    occurrences = as_count(occurrences, "occurrences")
    if isinstance(anomalies, bool) or not isinstance(anomalies, int) or anomalies < 0:
        raise InvalidParameterError(f"anomalies={anomalies!r} must be an integer >= 0")
    if not np.isfinite(noise) or noise < 0:
        raise InvalidParameterError(f"noise={noise!r} must be a finite number >= 0")
    shapes = _shapes(window)
    slots_needed = len(shapes) * occurrences + anomalies
    period = max(4, round(0.7 * window))
    # slots are whole periods long, so that every planted window starts at the same phase of the
    # background
    slot = period * -(-2 * window // period)
    n_slots = n // slot
    if window < 8 or n_slots < slots_needed:
        raise InvalidParameterError(
            f"n={n} is too short for {slots_needed} planted windows of {window} samples: pass "
            f"n >= {slots_needed * slot} (or a smaller window, at least 8)"
        )
    rng = np.random.default_rng(seed)
    phase = 2 * np.pi * np.arange(n) / period
    base = np.sin(phase) + 0.3 * np.sin(2 * phase + 0.5) + np.cumsum(rng.standard_normal(n)) * 0.01
    signal = base + rng.standard_normal(n) * noise
    chosen = np.sort(rng.choice(n_slots, size=slots_needed, replace=False))
    # every planted window starts at the same phase of the background, so that windows which only
    # partly overlap one occurrence look like the same part of the other occurrences
    offsets = [int(c * slot + period * rng.integers(0, (slot - window) // period + 1))
               for c in chosen]
    order = rng.permutation(slots_needed)
    planted: dict[str, list[int]] = {name: [] for name in shapes}
    names = [name for name in shapes for _ in range(occurrences)]
    found_anomalies: list[int] = []
    for k, idx in enumerate(order):
        off = offsets[idx]
        if k < len(names):
            signal[off:off + window] += shapes[names[k]]
            planted[names[k]].append(off)
        else:
            t = np.linspace(0, 1, window)
            signal[off:off + window] = base[off] + 2.5 * np.sin(9 * np.pi * t**2) * np.hanning(window)
            found_anomalies.append(off)
    return Planted(signal, window, {k: sorted(v) for k, v in planted.items()}, sorted(found_anomalies))


#: The backgrounds of :func:`planted_corpus`.
BACKGROUNDS = ("walk", "noise", "periodic")


def corpus_shapes(window: int = 64) -> dict[str, NDArray[np.float64]]:
    """The four shapes :func:`planted_corpus` plants, z-normalized (unit standard deviation):
    a chirp, three spikes, a square wave and a damped oscillation. No two correlate above 0.6
    at any shift of up to half a window.

    Examples
    --------
    >>> from patternlab.datasets.synthetic import corpus_shapes
    >>> sorted(corpus_shapes(32))
    ['chirp', 'damped', 'spikes', 'square']
    """
    window = as_count(window, "window")
    t = np.linspace(0.0, 1.0, window)
    raw = {
        "chirp": np.sin(2 * np.pi * (2 + 6 * t) * t) * np.hanning(window),
        "spikes": np.sum([np.exp(-((t - c) ** 2) / 0.0015) for c in (0.2, 0.45, 0.8)], axis=0),
        "square": np.sign(np.sin(2 * np.pi * 2 * t + 0.3)),
        "damped": np.exp(-3 * t) * np.sin(2 * np.pi * 5 * t),
    }
    return {k: (v - v.mean()) / v.std() for k, v in raw.items()}


@dataclass(frozen=True)
class PlantedCorpus:
    """Signals with planted recurring shapes (see :func:`planted_corpus`) and how to score a
    library learned from them.

    Attributes
    ----------
    signals : list of ndarray
        The signals.
    labels : list of str
        The shape planted in each signal.
    shapes : dict of str to ndarray
        The planted shapes, z-normalized.
    offsets : list of list of int
        Where the copies of each signal's shape start.
    """

    signals: list[NDArray[np.float64]]
    labels: list[str]
    shapes: dict[str, NDArray[np.float64]]
    offsets: list[list[int]]

    def score(self, library: Any, *, threshold: float = 0.9, max_lag: int | None = None) -> dict[str, Any]:
        """How well ``library`` holds the planted shapes.

        A pattern *is* a planted shape when it correlates ``>= threshold`` with it on their
        overlap, one shifted against the other by up to ``max_lag`` samples (default half the
        window: the shapes are told apart at any such shift). Returns ``recall`` (share of the
        shapes that some pattern is), ``precision`` (share of the ``K = len(shapes)`` patterns
        of highest support that are a shape), ``duplicates`` (patterns per shape, by name),
        ``junk`` (share of patterns with support 1) and ``patterns`` (the library's size).
        """
        Z = np.asarray(library.prototypes, dtype=np.float64)
        support = np.asarray(library.supports)
        w = Z.shape[1] if Z.ndim == 2 and Z.shape[0] else len(next(iter(self.shapes.values())))
        lag = w // 2 if max_lag is None else int(max_lag)
        names = list(self.shapes)
        hit = np.array([[_lagged_corr(self.shapes[k], z, lag) >= threshold for z in Z] for k in names],
                       dtype=bool).reshape(len(names), len(Z))
        top = np.argsort(-support, kind="stable")[:len(names)]
        n = len(Z)
        return {
            "patterns": n,
            "recall": float(hit.any(axis=1).mean()),
            "precision": float(hit[:, top].any(axis=0).mean()) if n else 0.0,
            "duplicates": {k: int(h.sum()) for k, h in zip(names, hit)},
            "junk": float((support == 1).mean()) if n else 0.0,
        }


def _lagged_corr(a: NDArray[np.float64], b: NDArray[np.float64], lag: int) -> float:
    """The best Pearson correlation of ``a`` and ``b`` on their overlap, shifted by up to ``lag``."""
    w = len(a)
    best = -1.0
    for d in range(-lag, lag + 1):
        x = a[max(0, d):w + min(0, d)]
        y = b[max(0, -d):w + min(0, -d)]
        x, y = x - x.mean(), y - y.mean()
        nx, ny = float(np.linalg.norm(x)), float(np.linalg.norm(y))
        if nx > 0 and ny > 0:
            best = max(best, float(x @ y) / (nx * ny))
    return best


def planted_corpus(n_signals: int, background: str = "walk", *, window: int = 64, copies: int = 2,
                   min_length: int = 600, max_length: int = 1400, seed: int = 0) -> PlantedCorpus:
    """A corpus of signals of random length, each carrying ``copies`` noisy copies of one of four
    shapes (:func:`corpus_shapes`) on a background.

    Backgrounds: ``"walk"`` (a Gaussian random walk), ``"noise"`` (white noise) and
    ``"periodic"`` (the quasi-periodic background of :func:`planted_signal`). Each copy gets a
    random amplitude (2 to 4 times the background's spread), offset and noise (5% to 20% of its
    amplitude), at a random position; copies never overlap.

    Examples
    --------
    >>> from patternlab.datasets.synthetic import planted_corpus
    >>> c = planted_corpus(3, "noise", window=32, min_length=200, max_length=300, seed=1)
    >>> len(c.signals), set(c.labels) <= set(c.shapes)
    (3, True)
    """
    n_signals = as_count(n_signals, "n_signals")
    window = as_count(window, "window")
    copies = as_count(copies, "copies")
    if background not in BACKGROUNDS:
        raise InvalidParameterError(f"background={background!r}: pass one of {', '.join(BACKGROUNDS)}")
    slot = window + window // 8
    if window < 8 or min_length > max_length or min_length // slot < copies:
        raise InvalidParameterError(
            f"min_length={min_length}, max_length={max_length} cannot hold {copies} copies of window "
            f"{window}: pass min_length >= {copies * slot} and max_length >= min_length")
    rng = np.random.default_rng([seed, BACKGROUNDS.index(background)])
    shapes = corpus_shapes(window)
    names = list(shapes)
    signals, labels, offsets = [], [], []
    period = max(4, round(0.7 * window))
    for _ in range(n_signals):
        n = int(rng.integers(min_length, max_length + 1))
        if background == "walk":
            x = np.cumsum(rng.standard_normal(n))
        elif background == "noise":
            x = rng.standard_normal(n)
        else:
            phase = 2 * np.pi * np.arange(n) / period
            x = (np.sin(phase) + 0.3 * np.sin(2 * phase + 0.5) + np.cumsum(rng.standard_normal(n)) * 0.01
                 + rng.standard_normal(n) * 0.1)
        name = names[int(rng.integers(len(names)))]
        where = []
        for s in rng.choice((n - window) // slot, size=copies, replace=False):
            off = int(s * slot + rng.integers(0, slot - window + 1))
            seg = x[off:off + window]
            scale = max(float(seg.std()), 1.0) if background == "walk" else max(float(x.std()), 0.5)
            amp = scale * rng.uniform(2.0, 4.0)
            x[off:off + window] += (amp * shapes[name] + rng.uniform(-3, 3) * scale
                                    + rng.standard_normal(window) * amp * rng.uniform(0.05, 0.2))
            where.append(off)
        signals.append(x)
        labels.append(name)
        offsets.append(sorted(where))
    return PlantedCorpus(signals, labels, shapes, offsets)
