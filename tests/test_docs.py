"""The README's Python examples run as written, and print what their comments say."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest

import patternlab as pl

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
#: ``(first line in README.md, code)`` of every block fenced as ```python (run by the tests) or
#: ```py (shown, not run: they need servers, SSH hosts or a Kubernetes cluster)
FENCE = re.compile(r"^```(python|py)[ \t]*\n(.*?)^```", flags=re.S | re.M)
_FOUND = [(m.group(1), README[: m.start(2)].count("\n") + 1, m.group(2)) for m in FENCE.finditer(README)]
BLOCKS = [(line, code) for lang, line, code in _FOUND if lang == "python"]
SHOWN = [(line, code) for lang, line, code in _FOUND if lang == "py"]


def test_every_python_block_is_found() -> None:
    # a block the pattern missed would silently go untested
    opening = re.findall(r"^```(\w*)", README, flags=re.M)[::2]
    assert opening.count("python") == len(BLOCKS) >= 5
    assert opening.count("py") == len(SHOWN) >= 2
    assert all(lang in {"python", "py", "bash", "text", ""} for lang in opening), opening


def _literal(text: str) -> object:
    """The Python literal a comment or an output spells, with a trailing unit word dropped
    (``[53.57, 85.86] s``); ``None`` when it is prose."""
    text = text.strip()
    for candidate in (text, re.sub(r"\s+[A-Za-z/%]+$", "", text)):
        try:
            return ast.literal_eval(candidate)
        except (ValueError, SyntaxError):
            continue
    return None


def test_readme_examples_run_in_order(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The blocks build on each other, as a reader types them into one session (in a fresh
    directory: they write stores). Statement by statement: every ``print`` prints, and one whose
    comment is a literal (``print(x)  # [53.57, 85.86, 99.43] s``) prints that value."""
    monkeypatch.chdir(tmp_path)
    ns: dict[str, object] = {"__name__": "readme"}
    lines = README.splitlines()
    printed: list[str] = []
    checked = 0
    for k, (first, block) in enumerate(BLOCKS):
        tree = ast.parse(block)
        ast.increment_lineno(tree, first - 1)  # tracebacks name README.md's own lines
        for stmt in tree.body:
            capsys.readouterr()
            exec(compile(ast.Module([stmt], type_ignores=[]), "README.md", "exec"), ns)
            out = capsys.readouterr().out
            call = stmt.value if isinstance(stmt, ast.Expr) else None
            func = call.func if isinstance(call, ast.Call) else None
            if not (isinstance(func, ast.Name) and func.id == "print"):
                continue
            where = f"README.md line {stmt.lineno}"
            assert out.strip(), f"{where} printed nothing"
            printed.append(out)
            _, _, comment = lines[stmt.lineno - 1].partition("#")
            want = _literal(comment)
            if want is not None:
                said = comment.strip()
                assert _literal(out) == want, f"{where} prints {out.strip()!r}; its comment says {said!r}"
                checked += 1
        if k == 1:  # the library, empty before, learned in place what the perception says
            res, lib = ns["res"], ns["lib"]
            assert isinstance(res, pl.Perception) and isinstance(lib, pl.PatternLibrary)
            assert len(lib) == len(res.new_patterns) and set(lib.ids) == set(res.new_patterns)
            assert lib.counters["seen"] > 0  # its candidates were weighed (a random walk founds little)
    assert checked >= 1  # the ECG discords
    text = "".join(printed)
    # what the first blocks print, and the state they leave, as their comments describe it
    T, mp, d = ns["T"], ns["mp"], ns["d"]
    assert isinstance(T, np.ndarray) and isinstance(mp, pl.MatrixProfile) and isinstance(d, np.ndarray)
    assert text.count("Motif(") >= 3 and text.count("Discord(") >= 3
    assert d.shape == (len(T) - 100 + 1,) and int(np.argmin(d)) == 500 and d[500] < 1e-6
    assert "<Perception" in text and "<BatchResult" in text
    lib, out = ns["lib"], ns["out"]
    assert isinstance(lib, pl.PatternLibrary)
    assert isinstance(out, pl.BatchResult) and int(out.metrics["signals"]) == 40
    # the snapshot round trip is exact
    again = pl.PatternLibrary.load("lib.zarr")
    assert again.ids == lib.ids and all(again[i] == lib[i] for i in lib.ids)
    assert ns["X"].shape == (50, 150) and ns["X_test"].shape == (150, 150)  # type: ignore[attr-defined]


def _public_names(code: str) -> list[str]:
    """Dotted names under ``pl.`` that a block uses (``pl.Lab.ssh``, ``pl.errors.StoreConnectionError``)."""
    names = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Attribute):
            parts = []
            while isinstance(node, ast.Attribute):
                parts.append(node.attr)
                node = node.value
            if isinstance(node, ast.Name) and node.id == "pl":
                names.append(".".join(reversed(parts)))
    return names


def test_shown_blocks_compile_and_name_real_api() -> None:
    """The blocks that are not run still parse, and every ``pl.`` name in them exists."""
    seen = 0
    for first, block in SHOWN:
        compile(block, f"README.md (block at line {first})", "exec")
        for name in _public_names(block):
            obj: object = pl
            for part in name.split("."):
                assert hasattr(obj, part), f"README.md block at line {first}: pl.{name} does not exist"
                obj = getattr(obj, part)
            seen += 1
    assert seen >= 5


def test_readme_starts_with_the_two_commands() -> None:
    first_block = re.search(r"```bash\n(.*?)```", README, flags=re.S)
    assert first_block is not None and README.index("```bash") < README.index("## ")
    commands = [ln.split("#")[0].strip() for ln in first_block.group(1).splitlines() if ln.strip()]
    assert len(commands) == 2
    assert commands[0] == 'python -m pip install ".[dask]" && patternlab demo'
    assert commands[1].endswith('python -m pip install -e ".[test]" && python -m pytest')
    assert (ROOT / commands[1].split(" && ")[0].split()[-1]).is_file()  # .ci/system-packages
