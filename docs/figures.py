"""The README's pictures, made from the code and the data in this repository.

    python docs/figures.py              # writes docs/images/*.png and docs/images/figures.json

* ``motifs.png``: five minutes of ECG (``pl.datasets.ecg()``), its matrix profile, the top motifs and
  discords marked (matplotlib);
* ``report.png``: the top of the demo's HTML report (``patternlab demo``), in headless Chromium;
* ``dashboard.png``: the patternlab page of the Dask dashboard after a small batch on a LocalCluster,
  in headless Chromium (selenium and chromedriver, as the tests drive it).

``figures.json`` records, for each picture, the digest of the PNG and what the picture shows: the
motifs and discords drawn, and the digests of the code that renders them (this script, the demo
report, the dashboard page). ``tests/test_figures.py`` recomputes those facts and fails when a
picture no longer shows what the code does today: run this script again and commit the result.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import patternlab as pl

HERE = Path(__file__).resolve().parent
IMAGES = HERE / "images"
SRC = HERE.parent / "src" / "patternlab"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
BROWSER_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--hide-scrollbars")
#: The code each picture is drawn by (besides this script): a change to it makes the picture stale.
RENDERERS = {"motifs.png": [], "report.png": ["_cli/report.py", "_cli/demo.py"],
             "dashboard.png": ["dashboard/_page.py", "dashboard/_monitor.py"]}
ECG_WINDOW = 216  # 0.6 s at 360 Hz, the demo's window


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def ecg_facts(k: int = 3) -> dict[str, Any]:
    """What ``motifs.png`` shows: the ECG's top ``k`` motifs and discords (window 216)."""
    ecg = pl.datasets.ecg()
    mp = pl.matrix_profile(ecg.signal, ECG_WINDOW)
    return {"window": ECG_WINDOW,
            "motifs": [[int(m.a), int(m.b), round(float(m.distance), 3)] for m in mp.motifs(k)],
            "discords": [[int(d.index), round(float(d.distance), 3)] for d in mp.discords(k)]}


def facts(name: str) -> dict[str, Any]:
    """What the picture ``name`` shows, as recorded in ``figures.json``."""
    code = {p: _digest(SRC / p) for p in RENDERERS[name]}
    code["docs/figures.py"] = _digest(Path(__file__))
    out: dict[str, Any] = {"code": code}
    if name == "motifs.png":
        out["ecg"] = ecg_facts()
    return out


def draw_motifs(path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ecg = pl.datasets.ecg()
    T, rate = ecg.signal, ecg.sampling_rate
    mp = pl.matrix_profile(T, ECG_WINDOW)
    t = np.arange(len(T)) / rate
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(11, 4.6), sharex=True,
                                 gridspec_kw={"height_ratios": [3, 2]})
    ax.plot(t, T, lw=0.5, color="0.35", label="ECG, MIT-BIH record 208 (mV)")
    colors = ["tab:blue", "tab:green", "tab:purple"]
    for k, m in enumerate(mp.motifs(3)):
        for s in (m.a, m.b):
            ax.axvspan(s / rate, (s + ECG_WINDOW) / rate, color=colors[k], alpha=0.35,
                       label=f"motif {k + 1} (distance {m.distance:.2f})" if s == m.a else None)
    for k, d in enumerate(mp.discords(3)):
        ax.axvspan(d.index / rate, (d.index + ECG_WINDOW) / rate, color="tab:red", alpha=0.3,
                   label="discords" if k == 0 else None)
    ax.set_ylabel("mV")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.set_title("pl.matrix_profile(ecg, m=216): motifs (pairs of PVCs) and discords (artifacts)",
                 fontsize=10)
    bx.plot(t[: len(mp.P)], mp.P, lw=0.6, color="tab:orange", label="matrix profile P")
    bx.set_xlabel("seconds")
    bx.set_ylabel("distance")
    bx.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def shoot_report(path: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "patternlab._cli.main", "demo", "-o", tmp, "--no-progress"],
                       check=True, capture_output=True, text=True)
        report = Path(tmp) / "report.html"
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run([CHROMIUM, *BROWSER_FLAGS, f"--user-data-dir={profile}",
                            "--window-size=1200,1500", f"--screenshot={path}", report.as_uri()],
                           check=True, capture_output=True, timeout=120)


def shoot_dashboard(path: Path) -> None:
    from distributed import Client, LocalCluster
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    cfg = pl.EngineConfig(window=32, top_k=3)
    rng = np.random.default_rng(0)
    signals = [np.cumsum(rng.standard_normal(2_000)) for _ in range(48)]
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    with tempfile.TemporaryDirectory() as profile, \
            LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0",
                         scheduler_kwargs={"preload": ["patternlab.dashboard"]}) as cluster, \
            Client(cluster) as client:
        for arg in (*BROWSER_FLAGS, f"--user-data-dir={profile}", "--window-size=1400,900"):
            opts.add_argument(arg)
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        try:
            base = client.dashboard_link.rsplit("/", 1)[0]
            driver.get(f"{base}/patternlab")
            pl.batch_perceive(signals, config=cfg, client=client, batch_size=4, progress=False)
            time.sleep(6)  # the page's periodic callback brings the run to the open page
            driver.save_screenshot(str(path))
        finally:
            driver.quit()


def main() -> int:
    IMAGES.mkdir(exist_ok=True)
    makers = {"motifs.png": draw_motifs, "report.png": shoot_report, "dashboard.png": shoot_dashboard}
    record: dict[str, Any] = {}
    for name, make in makers.items():
        target = IMAGES / name
        make(target)
        record[name] = {"png": _digest(target), **facts(name)}
        print(f"wrote {target.relative_to(HERE.parent)}")
    (IMAGES / "figures.json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
