"""Audio files for tests: a quiet tone of a given length as WAV, or as MP3 through lame."""

from __future__ import annotations

import math
import struct
import subprocess
import wave
from pathlib import Path

RATE = 22050


def write_wav(target: Path, seconds: float, rate: int = RATE, channels: int = 1) -> Path:
    # 441 Hz repeats exactly every 1/441 s at the usual rates: build one period, repeat it.
    period = rate // 441 if rate % 441 == 0 else rate // 10
    one = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 441 * index / rate))) * channels
        for index in range(period)
    )
    whole, rest = divmod(int(seconds * rate), period)
    frames = one * whole + one[: rest * 2 * channels]
    with wave.open(str(target), "wb") as output:
        output.setnchannels(channels)
        output.setsampwidth(2)
        output.setframerate(rate)
        output.writeframes(bytes(frames))
    return target


def write_mp3(target: Path, seconds: float, rate: int = RATE, channels: int = 1) -> Path:
    source = write_wav(target.with_suffix(".src.wav"), seconds, rate, channels)
    subprocess.run(["lame", "--quiet", str(source), str(target)], check=True)
    source.unlink()
    return target
