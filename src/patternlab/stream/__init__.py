"""Streams and anytime profiles whose state survives a restart.

:mod:`.profile` holds :class:`StreamingProfile` (the exact profile of a stream, checkpointed to
zarr or Redis with a journal of samples), :mod:`.anytime` :func:`approximate_profile` (the
anytime profile, checkpointable), :mod:`.patterns` :class:`PatternStream` (library matches and
left-discords as events), :mod:`.segmentation` :class:`StreamingSegmentation` (regime changes as
they arrive, FLOSS); :mod:`._persist` the checkpoint and journal formats. The profile
math itself is :mod:`patternlab.profiles`'s.
"""

from __future__ import annotations

from .anytime import ApproximateProfile, approximate_profile
from .patterns import PatternStream, StreamEvent
from .profile import StreamingProfile
from .segmentation import StreamingSegmentation

__all__ = ["ApproximateProfile", "PatternStream", "StreamEvent", "StreamingProfile", "StreamingSegmentation",
           "approximate_profile"]
