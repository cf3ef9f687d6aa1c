"""Learn a pattern library on machines reachable by SSH -- an example.

Configure the machines in Dask's configuration (``patternlab.yaml`` in this directory, copied to
``~/.config/dask/``), then::

    python run.py --signals 200

It opens the Lab the configuration describes (``pl.Lab.from_config()``: here an SSH cluster that
adapts between ``min-workers`` and ``max-workers``), learns a library from generated signals with
planted patterns, and prints what it found.
"""

from __future__ import annotations

import argparse

import patternlab as pl
from patternlab.datasets.synthetic import planted_signal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=200, help="how many signals to generate")
    parser.add_argument("--window", type=int, default=64, help="pattern length")
    args = parser.parse_args()

    signals = [planted_signal(2_000, args.window, seed=i, occurrences=2).signal for i in range(args.signals)]
    config = pl.load_config(window=args.window)
    with pl.Lab.from_config() as lab:
        print(f"{lab.kind} cluster at {lab.scheduler_address}, dashboard {lab.dashboard_link}")
        out = lab.batch_perceive(signals, domain="example", config=config,
                                 batch_size=max(1, args.signals // 20), progress=False)
    lib = out.library
    best = max(zip(lib.supports, lib.ids), default=(0, "-"))
    print(f"{out.metrics['signals']:.0f} signals in {out.metrics['tasks_processed']:.0f} tasks: "
          f"{len(lib)} patterns, the most supported {best[1]} ({best[0]} instances)")


if __name__ == "__main__":
    main()
