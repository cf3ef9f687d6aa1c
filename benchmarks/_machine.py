"""The machine a figure was measured on: CPU model, vector extensions, cores and load, printed first
by every comparison script (these machines differ: AVX2 on one, AVX-512 on another)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

#: Vector extensions worth naming, in the order printed.
VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl",
                "avx512_vnni", "amx_tile", "asimd", "sve")


def describe() -> str:
    """One line: CPU model, the vector extensions it has, cores, and the load average."""
    model, flags = platform.processor() or platform.machine(), set()
    info = Path("/proc/cpuinfo")
    if info.exists():
        for line in info.read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("model name", "Model") and model in ("", platform.machine(), platform.processor()):
                model = value.strip()
            elif key in ("flags", "Features") and not flags:
                flags = set(value.split())
    vector = " ".join(f for f in VECTOR_FLAGS if f in flags) or "unknown"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return (f"machine: {model}; vector: {vector}; {os.cpu_count()} cores; load average {load}")
