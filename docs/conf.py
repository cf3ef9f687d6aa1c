"""Sphinx configuration of patternlab's API reference (built by ``tests/test_api_docs.py`` with
warnings as errors: ``python -m sphinx -W -b html docs docs/_build/html``)."""

from __future__ import annotations

import inspect
from pathlib import Path

import patternlab

project = "patternlab"
author = "patternlab developers"
release = version = patternlab.__version__
extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary", "numpydoc", "sphinx.ext.viewcode"]
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
autosummary_generate = True
autodoc_typehints = "none"  # the numpydoc sections carry the types
html_theme = "alabaster"
html_static_path: list[str] = []
exclude_patterns = ["_build"]
suppress_warnings = ["autosummary.import_cycle"]


def _api_page() -> str:
    """The API page, from ``patternlab.__all__`` (a name exported is a name documented)."""
    groups: dict[str, list[str]] = {"Functions": [], "Classes": [], "Errors and warnings": [],
                                    "Modules": []}
    for name in sorted(patternlab.__all__):
        if name.startswith("__"):
            continue
        obj = getattr(patternlab, name)
        if inspect.ismodule(obj):
            groups["Modules"].append(name)
        elif isinstance(obj, type) and issubclass(obj, (Exception, Warning)):
            groups["Errors and warnings"].append(name)
        elif isinstance(obj, type):
            groups["Classes"].append(name)
        else:
            groups["Functions"].append(name)
    lines = ["API reference", "=============", "",
             "Everything ``import patternlab as pl`` exports (``pl.__all__``).", "",
             ".. currentmodule:: patternlab", ""]
    for title, names in groups.items():
        if not names:
            continue
        lines += [title, "-" * len(title), "", ".. autosummary::", "   :toctree: generated", ""]
        lines += [f"   {n}" for n in names] + [""]
    return "\n".join(lines)


Path(__file__).with_name("api.rst").write_text(_api_page())
