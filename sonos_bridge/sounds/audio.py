"""What is inside a sound file: MP3 (checked by mutagen) or PCM WAV (checked by `wave`).

Sonos plays only MP3 and WAV clips, and a file that does not decode leaves a speaker
silent with no useful error, so every sound is checked before it is stored.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mutagen import MutagenError
from mutagen.mp3 import MP3

from sonos_bridge.sounds.errors import UndecodableSoundError


@dataclass(frozen=True, slots=True)
class AudioInfo:
    kind: Literal["mp3", "wav"]
    duration: float
    sample_rate: int
    channels: int


def audio_info(path: Path) -> AudioInfo:
    """The format of `path`; raises `UndecodableSoundError` unless it is MP3 or PCM WAV."""
    with path.open("rb") as handle:
        head = handle.read(12)
    if not head:
        raise UndecodableSoundError("the sound is empty")
    info = _wav_info(path) if head[:4] == b"RIFF" and head[8:12] == b"WAVE" else _mp3_info(path)
    if info.duration <= 0:
        raise UndecodableSoundError("the sound holds no audio")
    return info


def _wav_info(path: Path) -> AudioInfo:
    try:
        with wave.open(str(path), "rb") as reader:
            frames, rate, channels = (
                reader.getnframes(),
                reader.getframerate(),
                reader.getnchannels(),
            )
            width = reader.getsampwidth()
    except (wave.Error, EOFError) as exc:
        raise UndecodableSoundError(f"not a PCM WAV file ({exc})") from None
    if width != 2 or channels not in (1, 2):
        raise UndecodableSoundError("WAV must be 16-bit PCM, mono or stereo")
    return AudioInfo("wav", frames / rate if rate else 0.0, rate, channels)


def _mp3_info(path: Path) -> AudioInfo:
    try:
        info: Any = MP3(str(path)).info  # type: ignore[no-untyped-call]
    except (MutagenError, OSError, ValueError) as exc:
        raise UndecodableSoundError(f"not MP3 or WAV audio ({exc})") from None
    return AudioInfo("mp3", float(info.length), int(info.sample_rate), int(info.channels))
