"""What is inside an audio file: MP3 (read by mutagen) or 16-bit PCM WAV (read by `wave`).

A speaker handed an empty or broken file stays silent and reports nothing useful, so
every file is checked here before it is cached or served: speech from the engines must
be MP3 (`mp3_info`, `mp3_duration`), a sound may be MP3 or WAV (`audio_info`). Pure
functions that read the file; any thread may call them.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mutagen import MutagenError
from mutagen.mp3 import MP3


class NotAudioError(ValueError):
    """The file is empty, unreadable, or not audio a speaker can play."""


@dataclass(frozen=True, slots=True)
class AudioInfo:
    kind: Literal["mp3", "wav"]
    duration: float
    sample_rate: int
    channels: int


def mp3_info(path: Path) -> AudioInfo:
    """The format of the MP3 at `path`; raises `NotAudioError` when it is not usable MP3."""
    _first_bytes(path)
    return _with_audio(_read_mp3(path, "not decodable as MP3"))


def mp3_duration(path: Path) -> float:
    """The clip's length in seconds; raises `NotAudioError` when it is not usable MP3."""
    return mp3_info(path).duration


def audio_info(path: Path) -> AudioInfo:
    """The format of `path`; raises `NotAudioError` unless it is MP3 or 16-bit PCM WAV."""
    head = _first_bytes(path)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return _with_audio(_read_wav(path))
    return _with_audio(_read_mp3(path, "not MP3 or WAV audio"))


def _first_bytes(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            head = handle.read(12)
    except OSError as exc:
        raise NotAudioError(f"cannot read {path.name}: {exc.strerror}") from None
    if not head:
        raise NotAudioError("the file is empty")
    return head


def _with_audio(info: AudioInfo) -> AudioInfo:
    if info.duration <= 0:
        raise NotAudioError(f"the {info.kind.upper()} holds no audio")
    return info


def _read_mp3(path: Path, failure: str) -> AudioInfo:
    try:
        info: Any = MP3(str(path)).info  # type: ignore[no-untyped-call]
        return AudioInfo("mp3", float(info.length), int(info.sample_rate), int(info.channels))
    except (MutagenError, OSError, ValueError) as exc:
        raise NotAudioError(f"{failure} ({exc})") from None


def _read_wav(path: Path) -> AudioInfo:
    try:
        with wave.open(str(path), "rb") as reader:
            frames, rate = reader.getnframes(), reader.getframerate()
            channels, width = reader.getnchannels(), reader.getsampwidth()
    except (wave.Error, EOFError) as exc:
        raise NotAudioError(f"not a PCM WAV file ({exc})") from None
    if width != 2 or channels not in (1, 2):
        raise NotAudioError("WAV must be 16-bit PCM, mono or stereo")
    return AudioInfo("wav", frames / rate if rate else 0.0, rate, channels)
