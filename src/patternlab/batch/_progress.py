"""A progress bar for long runs: a Jupyter widget when ipywidgets is there, text otherwise."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class ProgressBar:
    """Counts signals done out of ``total_tasks`` partitions; a no-op when disabled."""

    def __init__(self, total_tasks: int, *, enabled: bool = True, total_signals: int | None = None,
                 desc: str = "perceive") -> None:
        self._bar: Any = None
        if not enabled:
            return
        try:
            if _in_notebook():
                import ipywidgets  # noqa: F401 - the widget bar needs it
                from tqdm.notebook import tqdm
            else:
                from tqdm import tqdm
        except ImportError:
            from tqdm import tqdm
        self._bar = tqdm(total=total_signals if total_signals is not None else total_tasks,
                         desc=desc, unit="signal" if total_signals is not None else "task",
                         file=sys.stderr, leave=True, dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.close()
