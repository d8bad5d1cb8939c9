"""Why a sound cannot be played; each message is what the user reads in `error`."""

from __future__ import annotations

from sonos_bridge.errors import RequestError


class SoundError(RequestError):
    """Base of every refused sound."""


class UnknownSoundError(SoundError):
    """No such file in SOUNDS_DIR (or no SOUNDS_DIR at all)."""


class SoundTooLargeError(SoundError):
    """Bigger than SOUND_MAX_MB."""

    def __init__(self, what: str, max_bytes: int) -> None:
        super().__init__(f"{what} is larger than {max_bytes / 1024 / 1024:.3g} MB (SOUND_MAX_MB)")


class SoundUnreachableError(SoundError):
    """A sound_url that could not be fetched: no connection, an HTTP error, too slow."""


class UndecodableSoundError(SoundError):
    """Not MP3 or PCM WAV audio."""
