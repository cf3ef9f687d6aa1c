"""The quickstart notebook runs from top to bottom on the shipped data sets, with a real Redis
server for its optional Redis cell, and says what it should."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from redis_servers import RedisServer

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_quickstart_notebook_executes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = RedisServer(tmp_path / "redis").start()
    try:
        monkeypatch.setenv("PATTERNLAB_REDIS_URL", server.url)  # the kernel inherits it
        nb = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
        with server.client() as admin:
            stored = admin.keys("quickstart*")
    finally:
        server.stop()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(o.get("text", "") for o in outputs)
    html = "\n".join(o.get("data", {}).get("text/html", "") for o in outputs)
    images = [o for o in outputs if "image/png" in o.get("data", {})]

    # the ECG: the top discord is the noise burst at 53.6 s, the top motif a pair of PVCs
    assert "discord 1:  53.57 s to  54.17 s" in text
    assert "motif 1: 258.43 s and 276.76 s" in text
    assert re.search(r"\d+ non-overlapping windows within distance 5 of the PVC", text)
    assert "same discords: True" in text
    assert "<Perception signal='ecg-0-30s'" in text and "occurrences" in text
    # batch_perceive on a Lab, the library's HTML view, resume, Redis
    assert re.search(r"cluster: 2 workers; \d+ tasks processed", text)
    assert "identical to the in-process run: True" in text
    # no dashboard link printed: the cluster (and its dashboard) closed with its cell
    assert not re.search(r"https?://(127\.0\.0\.1|localhost|\[::1\])", text + html)
    assert "<b>PatternLibrary</b> domain <code>gunpoint</code>" in html
    assert "complete: True" in text and "resumed: 0 partitions recomputed; same library: True" in text
    assert "library read back from Redis: True" in text and stored
    # GunPoint: the learned patterns separate the classes far better than chance
    found = re.search(r"1-NN error with learned-pattern features: (\d\.\d+) \(published 1-NN Euclidean: "
                      r"0\.087\)", text)
    assert found and float(found.group(1)) <= 0.087
    linear = re.search(r"linear classifier on pattern features, test error (\d\.\d+)", text)
    assert linear and float(linear.group(1)) <= 0.087  # at most the 1-NN Euclidean error
    assert len(re.findall(r"window (25|50|75): \d+ patterns, 1-NN error", text)) == 3
    assert len(images) >= 5
    # every figure says what its lines and shadings are
    for cell in nb.cells:
        if cell.cell_type == "code" and "plt.subplots" in cell.source:
            assert cell.source.count(".legend(") >= cell.source.count("plt.subplots"), cell.source
    assert (tmp_path / "gunpoint-train.zarr").is_dir()
