"""``patternlab`` command-line entry point."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import patternlab as pl

from .._extras import missing

EXIT_OK = 0
EXIT_USAGE = 2  # a user mistake: bad argument, unreadable file, bad input
EXIT_ERROR = 1

#: Subcommands that live in their own module ``patternlab._cli.<name>``; each module defines
#: ``register(subparsers)``, which adds its parser and sets ``func`` (returning an exit code).
COMMAND_MODULES: tuple[str, ...] = ("demo", "status", "start", "perceive", "batch", "patterns", "bench",
                                    "serve")

EPILOG = """\
Run `patternlab COMMAND --help` for a command's options and examples.

exit codes:
  0  success
  1  a failure while running: a server (Dask scheduler, Redis) that cannot be reached, a wrong
     result
  2  a user mistake: a bad option, a missing or unreadable file, a store of another run
  3, 4  patternlab status only: scheduler unreachable, cluster unhealthy
"""


def _read_signal(path: str) -> np.ndarray:
    f = Path(path)
    if not f.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if f.suffix == ".npy":
        return np.load(f, allow_pickle=False)
    if f.suffix in (".csv", ".txt"):
        return np.loadtxt(f, delimiter="," if f.suffix == ".csv" else None, ndmin=1)
    raise ValueError(f"{path}: unsupported file type {f.suffix!r}; pass a .npy, .csv or .txt file")


def _profile(args: argparse.Namespace) -> int:
    T = _read_signal(args.file)
    if np.ndim(T) == 2:  # pl.matrix_profile would take it as dimensions; this command shows one signal
        raise pl.InvalidSignalError(
            f"{args.file} holds an array of shape {np.shape(T)}; `patternlab profile` takes one signal "
            "(a 1-D .npy file, or a .csv/.txt file of one column)")
    t0 = time.perf_counter()
    mp = pl.matrix_profile(T, args.window, dtype=args.dtype)
    dt = time.perf_counter() - t0
    print(f"{mp} in {dt:.2f} s")
    print("motifs:   " + "; ".join(f"{x.a} & {x.b} (d={x.distance:.3f})" for x in mp.motifs(args.k)))
    print("discords: " + "; ".join(f"{x.index} (d={x.distance:.3f})" for x in mp.discords(args.k)))
    if args.output:
        np.savez(args.output, P=mp.P, I=mp.I, PL=mp.PL, IL=mp.IL, PR=mp.PR, IR=mp.IR, m=mp.m)
        print(f"saved P, I, PL, IL, PR, IR to {args.output}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``patternlab`` command."""
    parser = argparse.ArgumentParser(
        prog="patternlab",
        description="Discover recurring patterns (motifs) and anomalies (discords) in signals.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"patternlab {pl.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    prof = sub.add_parser(
        "profile", help="matrix profile, motifs and discords of a .npy/.csv signal",
        description="The exact matrix profile of one signal (pl.matrix_profile, all cores): prints its "
                    "top-k motif pairs and discords, and saves P, I, PL, IL, PR, IR with -o.",
        epilog="example:\n  patternlab profile ecg.npy -m 216 -k 2 -o ecg_mp.npz",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    prof.add_argument("file", help="a 1-D signal: .npy, .csv (comma-separated) or .txt")
    prof.add_argument("--window", "-m", type=int, required=True, help="window length")
    prof.add_argument("-k", type=int, default=3, help="how many motifs and discords to show")
    prof.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    prof.add_argument("--output", "-o", help="save the profile arrays to this .npz file")
    prof.set_defaults(func=_profile)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError as exc:  # an optional dependency: the command says which extra
            extra = "serve" if name == "serve" else "dask"
            _unavailable(sub, name, missing(exc, f"patternlab {name}", extra))
            continue
        module.register(sub)
    return parser


def _unavailable(sub: Any, name: str, error: Exception) -> None:
    """A command whose dependencies are not installed: listed, and running it says what to install."""
    if not isinstance(error, pl.MissingDependencyError):
        raise error

    def run(args: argparse.Namespace) -> int:
        raise error

    p = sub.add_parser(name, help=f"(not installed: {str(error).split(': ', 1)[-1]})", add_help=True)
    p.set_defaults(func=run, any_arguments=True)  # its options are unknown here: say what to install


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``patternlab`` command; return its exit code."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "any_arguments", False):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except ConnectionError as exc:  # a server that cannot be reached is a failure, not a mistake
        print(f"patternlab {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except (pl.PatternlabError, OSError, ValueError) as exc:
        print(f"patternlab {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
