"""Synthetic signals with planted patterns, for demos, tests and benchmarks where ground truth is
the point."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from .._validation import as_count
from ..errors import InvalidParameterError

__all__ = ["Planted", "planted_signal", "random_walk"]


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
