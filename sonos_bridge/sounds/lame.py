"""The few lame runs sounds need: WAV to MP3, MP3 to raw PCM (resampled), PCM to MP3.

lame is already in the image for espeak-ng (it starts in ~4 ms, against ~120 ms for
ffmpeg). Raw PCM is always signed 16-bit little-endian. lame only resamples while it
encodes, so PCM at another rate is made by encoding at that rate and decoding again.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from sonos_bridge.errors import EngineError

LAME = shutil.which("lame") or "lame"
RAW = ["-r", "--signed", "--little-endian", "--bitwidth", "16"]


def _bitrate(channels: int) -> list[str]:
    return ["-b", "64" if channels == 1 else "128"]


def _mode(channels: int) -> list[str]:
    return ["-m", "m" if channels == 1 else "j"]


def wav_to_mp3(source: Path, target: Path, channels: int, timeout: float) -> None:
    _run([LAME, "--quiet", "-q", "5", *_bitrate(channels), str(source), str(target)], timeout)


def encode_pcm(pcm: bytes, rate: int, channels: int, target: Path, timeout: float) -> None:
    command = [LAME, "--quiet", "-q", "5", *RAW, "-s", f"{rate / 1000:g}", *_mode(channels)]
    _run([*command, *_bitrate(channels), "-", str(target)], timeout, pcm)


def decode_pcm(mp3: Path, timeout: float) -> bytes:
    """The samples of `mp3` at its own rate and channel count."""
    return _run([LAME, "--quiet", "--decode", "-t", str(mp3), "-"], timeout)


def resampled_pcm(mp3: Path, rate: int, channels: int, timeout: float) -> bytes:
    """The samples of `mp3` at `rate` Hz and `channels` (a near-lossless re-encode between)."""
    encode = [LAME, "--quiet", "--mp3input", "--resample", f"{rate / 1000:g}", *_mode(channels)]
    reencoded = _run([*encode, "-b", "320", str(mp3), "-"], timeout)
    return _run([LAME, "--quiet", "--decode", "--mp3input", "-t", "-", "-"], timeout, reencoded)


def _run(command: list[str], timeout: float, data: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(
            command, input=data, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise EngineError(f"lame took longer than {timeout:g} s") from None
    except OSError as exc:
        raise EngineError(f"cannot run {LAME}: {exc.strerror}") from None
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}"
        raise EngineError(f"lame failed: {reason}")
    return done.stdout
