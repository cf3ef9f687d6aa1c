"""The notebook of multi-dimensional profiles, segmentation, consensus motifs and window choice
runs from top to bottom on the shipped data sets and says what it should."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_beyond_one_series_notebook_executes(tmp_path: Path) -> None:
    nb = nbformat.read(ROOT / "notebooks" / "beyond_one_series.ipynb", as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(o.get("text", "") for o in outputs)
    images = [o for o in outputs if "image/png" in o.get("data", {})]

    # the planted two-channel trace, its channels and MDL's choice
    assert "<MultiProfile: 3 dimensions x 3901 windows of m=100>" in text
    assert "best two-channel motif: windows 800 and 3000" in text
    assert "its channels: [0, 2]" in text and "MDL chooses [0, 2]" in text
    # GunPoint: the change from drawing to pointing, found within 30 samples
    found = re.search(r"regime boundary at (\d+) \(the recordings change at 1500\)", text)
    assert found and abs(int(found.group(1)) - 1500) <= 30
    assert re.search(r"ConsensusMotif\(radius=0\.\d+, series=\d+, index=\d+\)", text)
    # the pan profile, anytime, and its suggestions on the ECG
    assert "6 computed" in text and "36 computed" in text
    assert "suggested windows (typical match): [80, 40]" in text
    assert "suggested windows (motif length): [360, 20, 40]" in text
    assert len(images) == 4
