"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_readme_has_examples() -> None:
    assert BLOCKS


def test_readme_examples_run_in_order(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The blocks build on each other, as a reader types them into one session (in a fresh
    directory: they write stores)."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "readme"}
    for block in BLOCKS:
        exec(compile(block, "README.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "Motif(" in out and "Discord(" in out and "<Perception" in out


def test_readme_starts_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    first_block = re.search(r"```bash\n(.*?)```", text, flags=re.S)
    assert first_block is not None and text.index("```bash") < text.index("## ")
    commands = [ln for ln in first_block.group(1).splitlines() if ln.strip()]
    assert len(commands) == 2
    assert "patternlab demo" in commands[0] and "pytest" in commands[1]
