"""Wording shared by messages, reports and the command line."""

from __future__ import annotations

__all__ = ["plural"]


def plural(n: int, word: str, words: str | None = None) -> str:
    """``n`` and ``word`` in agreement: ``1 task``, ``2 tasks``, ``0 batches`` (thousands separated).

    Examples
    --------
    >>> plural(1, "task"), plural(2, "task"), plural(1_000, "batch", "batches")
    ('1 task', '2 tasks', '1,000 batches')
    """
    return f"{n:,} {word if n == 1 else (words or word + 's')}"
