"""The package's structure, measured from its imports: no import cycle, imports of our own modules at
the top of a module (never hidden inside functions), and the folders in their dependency order.

The graph is read from the source with :mod:`ast` (nothing is imported). Importing ``a.b.c`` runs
``a/__init__.py`` and ``a/b/__init__.py`` first, so the sub-packages on the way count as imported
too (the top package, which gathers the public API from everything, counts only where it is
imported by name); imports under ``if TYPE_CHECKING:`` are for type checkers only and do not count.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PKG = SRC / "patternlab"

#: Folders (and root modules) that may not import each other's way up: each may import only from
#: the names listed (besides itself). This is the order of DESIGN.md's layout.
ALLOWED: dict[str, set[str]] = {
    "kernels": {"_numba", "errors"},
    "profiles": {"kernels", "_numba", "_validation", "errors", "_integrity", "_events", "_extras"},
    "store": {"kernels", "config", "errors", "library", "_version", "_validation", "_integrity"},
    "batch": {"kernels", "profiles", "engine", "library", "store", "config", "errors", "_numba",
              "_events", "_validation", "_version", "_text"},
    "stream": {"kernels", "profiles", "engine", "library", "store", "config", "errors", "_numba",
               "_validation", "_version", "_extras"},
    "dashboard": {"_events", "errors", "_text"},
    # the HTTP gateway sits above lab/ (it runs work on a Lab and learns into the stores); only
    # the command line (and nothing below it) imports it
    "gateway": {"lab", "batch", "store", "engine", "library", "config", "errors", "_numba", "_validation",
                "_version"},
    "datasets": {"_validation", "errors"},
}

#: Function-local imports of our own modules that are allowed, with the reason.
LOCAL_IMPORTS_ALLOWED: dict[str, str] = {
    "patternlab._cli.serve:patternlab.gateway": "the gateway needs aiohttp, an optional extra that takes "
                                                "about 0.4 s to import: only `patternlab serve` loads it",
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _resolve(mod: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                skip.update(id(n) for n in ast.walk(sub))
    return skip


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


@functools.cache
def _imports() -> tuple[dict[str, set[str]], list[tuple[str, int, str]]]:
    """Module -> our modules it imports at import time; and the function-local imports."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    local: list[tuple[str, int, str]] = []
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(), str(path))
        skip = _type_checking_nodes(tree)
        in_function: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                in_function.update(id(n) for n in ast.walk(node) if n is not node)
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                base = _resolve(mod, _is_package(path), node)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            targets = [t for t in targets if t == "patternlab" or t.startswith("patternlab.")]
            if not targets:
                continue
            if id(node) in in_function:
                local.append((mod, node.lineno, ", ".join(targets)))
                continue
            for t in targets:
                parts = t.split(".")
                for k in range(2 if len(parts) > 1 else 1, len(parts) + 1):  # sub-packages on the way
                    name = ".".join(parts[:k])
                    # a package above the importing module is already initializing, not imported
                    if name in mods and name != mod and not mod.startswith(name + "."):
                        graph[mod].add(name)
    return graph, local


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _room(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_the_graph_is_read():
    graph, _ = _imports()
    # a few edges the code certainly has, so that an empty graph cannot pass the checks below
    assert "patternlab.kernels.matching" in graph["patternlab.engine"]
    assert "patternlab.batch.partition" in graph["patternlab.batch.graph"]
    assert "patternlab.lab.client" in graph["patternlab.lab.api"]
    assert "patternlab.errors" in graph["patternlab.kernels"] or graph["patternlab.kernels.exact"]


def test_the_cycle_finder_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle():
    graph, _ = _imports()
    assert _cycles(graph) == []


def test_no_function_local_imports_of_our_own_modules():
    _, local = _imports()
    unexplained = [(m, line, what) for m, line, what in local if f"{m}:{what}" not in LOCAL_IMPORTS_ALLOWED]
    assert unexplained == []


def test_only_the_command_line_imports_the_gateway():
    graph, local = _imports()
    users = {_room(m) for m, targets in graph.items() for t in targets
             if _room(t) == "gateway" and _room(m) != "gateway"}
    users |= {_room(m) for m, _, what in local if what.startswith("patternlab.gateway")}
    assert sorted(users) == ["_cli"]


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_folders_import_only_below_them(room: str):
    graph, _ = _imports()
    ok = ALLOWED[room] | {room, "__init__"}
    wrong = sorted((m, t) for m, targets in graph.items() if _room(m) == room
                   for t in targets if _room(t) not in ok or t == "patternlab")
    assert wrong == []
