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
    "MissingDependencyError",
    "NoFiniteWindowWarning",
    "PatternNotFoundError",
    "PatternlabError",
    "PatternlabWarning",
    "SignalTypeError",
    "StoreConnectionError",
    "StoreDataError",
    "UnknownSettingError",
]


class PatternlabError(Exception):
    """Base class of all patternlab errors."""


class PatternlabWarning(UserWarning):
    """Base class of the warnings patternlab emits (a ``UserWarning``)."""


class NoFiniteWindowWarning(PatternlabWarning):
    """A series (or a query) has no window of finite samples: every distance is inf and every
    neighbour index -1, as STUMPY answers it. Filter it with
    ``warnings.simplefilter("ignore", pl.NoFiniteWindowWarning)`` where that is expected."""


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


class UnknownSettingError(ConfigError, TypeError):
    """A keyword or setting name that does not exist (a misspelt one: the message names the
    closest valid name). Also a ``TypeError``, as Python raises for an unexpected keyword."""


class PatternNotFoundError(PatternlabError, KeyError):
    """No pattern with the id (or index) asked for."""

    def __str__(self) -> str:  # KeyError would show the message with quotes
        return str(self.args[0]) if self.args else ""


class MissingDependencyError(PatternlabError, ImportError):
    """A feature's optional dependency is not installed: the message names the extra that
    installs it (``pip install "patternlab[dask]"``). Also an ``ImportError``."""


class ClusterConnectionError(PatternlabError, ConnectionError):
    """A Dask scheduler (or another server) cannot be reached."""


class StoreError(PatternlabError, OSError):
    """A zarr store (library snapshot, archive or run store) is missing, unreadable or of another
    format."""


class RunMismatchError(PatternlabError, ValueError):
    """A run store belongs to a different run (other input, config or batch size)."""


class StoreConnectionError(PatternlabError, ConnectionError):
    """A pattern store (Redis) cannot be reached, refused the credentials, or stayed unreachable
    after every retry. The message never contains a password."""


class StoreDataError(PatternlabError, ValueError):
    """Stored data is missing, damaged or not patternlab's: a zarr chunk or array that is absent
    or fails its checksum or digest (library, run store, pattern store, archive, corpus), a
    loaded library that breaks its invariants, or a Redis value of another type or shape. It is
    refused, never read back as zeros or interpreted as code; the message names the path or key
    (and the array and chunk where known) and what to do."""


class DataFormatError(PatternlabError, ValueError):
    """A data file (e.g. a ``.ts`` time-series file) is malformed; the message names the file and
    the line."""
