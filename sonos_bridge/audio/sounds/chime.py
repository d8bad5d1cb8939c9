"""The chime before speech: the bridge's own two-tone sound, and a chime + speech as one MP3.

The default chime is synthesised here (two decaying bell-like tones, no third-party
audio) and encoded once with lame; the cache keeps it. For takeover mode the chime (or a
sound) and the speech are joined into one clip so that the speaker plays one URL with no
pause between them: all are decoded to PCM at the speech's rate, joined, and encoded once.
Joining MP3 frames directly was measured too (15 ms against 49 ms for a 3 s sentence)
but needs equal rate, mode and bitrate and leaves lame's padding (~70 ms of silence)
between the parts; the joined clip is cached per set of parts, so the cost is paid once.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from pathlib import Path

from sonos_bridge.audio import lame
from sonos_bridge.audio.info import audio_info

CHIME_RATE = 22050  # speech rate of espeak-ng (gTTS: 24 kHz, resampled when joined)
# (frequency Hz, start s, length s): E5 then C5, a doorbell's "ding-dong".
TONES = ((659.25, 0.0, 0.55), (523.25, 0.32, 0.75))
PEAK = 0.45  # of full scale, for each tone; they overlap a little
VERSION = "two-tone-22k"  # change it when the sound changes: it is part of the cache key


def chime_pcm(rate: int = CHIME_RATE) -> bytes:
    """The default chime as mono 16-bit PCM."""
    length = max(start + seconds for _, start, seconds in TONES)
    samples = [0.0] * int(length * rate)
    for frequency, start, seconds in TONES:
        first = int(start * rate)
        for index in range(int(seconds * rate)):
            t = index / rate
            envelope = min(1.0, t / 0.005) * math.exp(-5.0 * t / seconds)
            # A touch of the octave makes it ring like a bell rather than beep.
            tone = math.sin(2 * math.pi * frequency * t) + 0.3 * math.sin(
                4 * math.pi * frequency * t
            )
            samples[first + index] += PEAK / 1.3 * envelope * tone
    return b"".join(struct.pack("<h", round(max(-1.0, min(1.0, s)) * 32767)) for s in samples)


def write_default_chime(target: Path, timeout: float) -> None:
    lame.encode_pcm(chime_pcm(), CHIME_RATE, 1, target, timeout)


def join_clips(parts: Sequence[Path], target: Path, timeout: float) -> None:
    """One MP3 of `parts` one after the other, at the last part's rate and channels.

    The last part is the speech when there is some: it keeps its own format and only the
    chime or sound before it is resampled.
    """
    last = audio_info(parts[-1])
    rate, channels = last.sample_rate, last.channels
    samples = [_pcm(part, rate, channels, timeout) for part in parts]
    lame.encode_pcm(b"".join(samples), rate, channels, target, timeout)


def _pcm(mp3: Path, rate: int, channels: int, timeout: float) -> bytes:
    info = audio_info(mp3)
    if (info.sample_rate, info.channels) == (rate, channels):
        return lame.decode_pcm(mp3, timeout)
    return lame.resampled_pcm(mp3, rate, channels, timeout)
