"""What a sound's name may look like: one file name in SOUNDS_DIR, never a path."""

from __future__ import annotations

import re

# A stem of letters, digits, "_", "-" and spaces, optionally with its .mp3/.wav suffix.
# No dots or slashes anywhere else: a name can only ever mean a file directly in SOUNDS_DIR.
SOUND_NAME = re.compile(r"(?P<stem>\w[\w -]{0,63})(?:\.(?P<suffix>mp3|wav))?", re.IGNORECASE)
SOUND_SUFFIXES = ("mp3", "wav")


def file_names(name: str) -> list[str]:
    """The file names `name` may refer to, in the order they are tried; [] when invalid."""
    match = SOUND_NAME.fullmatch(name.strip())
    if match is None:
        return []
    stem, suffix = match.group("stem"), match.group("suffix")
    if suffix:
        return [f"{stem}.{suffix.lower()}"]
    return [f"{stem}.{extension}" for extension in SOUND_SUFFIXES]
