"""How a fake player fetches the audio it is given: one GET, then decode it as a player would.

Both fakes use it: `speaker.FakeSpeaker` on UPnP `Play`, `s2.FakeS2Player` on
`loadAudioClip`. A real player plays MP3 and WAV and reports anything else as a media
error; so does this. Runs on the fake's own playback thread.
"""

from __future__ import annotations

import io
import urllib.request
import wave
from dataclasses import dataclass
from typing import Any

from mutagen.mp3 import MP3

FETCH_TIMEOUT = 10.0


@dataclass
class FetchRecord:
    """What a player got from a URL."""

    url: str
    status: int = 0
    size: int = 0
    kind: str = ""  # "mp3" or "wav"
    duration: float = 0.0
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def fetch_and_decode(url: str) -> FetchRecord:
    """GET the audio and check it decodes as MP3 or WAV, as a player does before playing."""
    record = FetchRecord(url)
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response:
            record.status = response.status
            data = response.read()
        record.size = len(data)
        if data[:4] == b"RIFF":
            with wave.open(io.BytesIO(data)) as clip:
                record.kind, record.duration = "wav", clip.getnframes() / clip.getframerate()
        else:
            info: Any = MP3(io.BytesIO(data)).info  # type: ignore[no-untyped-call]
            record.kind, record.duration = "mp3", float(info.length)
        if record.duration <= 0:
            record.error = "no audio"
    except Exception as exc:  # what a player reports as a media error
        record.error = f"{type(exc).__name__}: {exc}"
    return record
