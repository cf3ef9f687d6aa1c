"""The exceptions patternlab raises.

Every error is a :class:`PatternlabError` and also the builtin exception a Python user would
expect (``ValueError``, ``TypeError``, ...), so ``except ValueError`` keeps working. Messages name
the value that was received and say how to fix it.
"""

from __future__ import annotations

__all__ = [
    "ClusterConnectionError",
    "ConfigError",
    "InvalidParameterError",
    "InvalidSignalError",
    "InvalidWindowError",
    "PatternNotFoundError",
    "PatternlabError",
    "SignalTypeError",
]


class PatternlabError(Exception):
    """Base class of all patternlab errors."""


class InvalidSignalError(PatternlabError, ValueError):
    """A signal has the wrong shape, is empty, or holds no usable (finite) window."""


class SignalTypeError(PatternlabError, TypeError):
    """A signal is not numeric (strings, objects, complex numbers, ...)."""


class InvalidWindowError(PatternlabError, ValueError):
    """A window (subsequence) length is out of range for the signal it is applied to."""


class InvalidParameterError(PatternlabError, ValueError):
    """A parameter other than the signal or the window is out of range or of the wrong type."""


class ConfigError(InvalidParameterError):
    """An :class:`~patternlab.EngineConfig` setting, file or environment variable is invalid."""


class PatternNotFoundError(PatternlabError, KeyError):
    """No pattern with the id (or index) asked for."""

    def __str__(self) -> str:  # KeyError would show the message with quotes
        return str(self.args[0]) if self.args else ""


class ClusterConnectionError(PatternlabError, ConnectionError):
    """A Dask scheduler (or another server) cannot be reached."""
