"""Streams and anytime profiles whose state survives a restart.

:mod:`.profile` holds :class:`StreamingProfile` (the exact profile of a stream, checkpointed to
zarr or Redis with a journal of samples); :mod:`._persist` the checkpoint and journal formats.
The profile math itself is :mod:`patternlab.profiles.streaming`'s.
"""

from __future__ import annotations

from .profile import StreamingProfile

__all__ = ["StreamingProfile"]
