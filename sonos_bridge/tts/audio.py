"""Checks that a file is playable MP3 before anyone caches or serves it.

A speaker handed an empty or broken file stays silent and reports nothing useful, so
every clip is decoded once (header and frame scan by mutagen) before it is accepted.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mutagen import MutagenError
from mutagen.mp3 import MP3

logger = logging.getLogger(__name__)


class NotAudioError(ValueError):
    """The file is empty or does not decode as MP3."""


def mp3_duration(path: Path) -> float:
    """The clip's length in seconds; raises `NotAudioError` when it is not usable MP3."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise NotAudioError(f"cannot read {path.name}: {exc.strerror}") from None
    if size == 0:
        raise NotAudioError("the file is empty")
    try:
        info: Any = MP3(str(path)).info  # type: ignore[no-untyped-call]
        length = float(info.length)
    except (MutagenError, OSError, ValueError) as exc:
        raise NotAudioError(f"not decodable as MP3 ({exc})") from None
    if length <= 0:
        raise NotAudioError("the MP3 holds no audio")
    return length
