"""Every lame run of the bridge: speech streamed into MP3, and the one-shot runs of sounds.

lame starts in ~4 ms (ffmpeg: ~120 ms) and is in the image for espeak-ng anyway, so each
clip gets its own short-lived process rather than a spare kept running. Two presets:
speech (the engines' mono voice, lame's fast mode at 48 kbit/s) and sounds (WAV files,
chimes, chime + speech joined: better quality, 64 kbit/s mono or 128 stereo). Raw PCM is
always signed 16-bit little-endian. lame only resamples while it encodes, so PCM at
another rate is made by encoding at that rate and decoding again.

Threads: every function blocks its caller (a TTS or sounds worker) until lame is done.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from sonos_bridge.errors import EngineError

LAME = shutil.which("lame") or "lame"
# `-q 7` is lame's fast mode ("-f"); at 22.05 kHz mono this is MPEG-2 layer III.
SPEECH = ["-q", "7", "-b", "48"]


def _sound_quality(channels: int) -> list[str]:
    return ["-q", "5", "-b", "64" if channels == 1 else "128"]


def _mode(channels: int) -> list[str]:
    return ["-m", "m" if channels == 1 else "j"]


def _raw_input(rate: int, channels: int) -> list[str]:
    raw = ["-r", "-s", f"{rate / 1000:g}", "--bitwidth", "16", "--signed", "--little-endian"]
    return [*raw, *_mode(channels)]


# ------------------------------------------------------------------ speech (streamed)
def start_lame(lame: str, target: Path, *, raw_rate: int | None = None) -> subprocess.Popen[bytes]:
    """lame reading WAV (or, with `raw_rate`, mono samples) from its `stdin`, MP3 to `target`."""
    command = [lame, "--quiet", *SPEECH]
    if raw_rate is not None:
        command += _raw_input(raw_rate, 1)
    try:
        return subprocess.Popen(
            [*command, "-", str(target)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    except OSError as exc:
        raise EngineError(f"cannot run {lame}: {exc.strerror}") from None


def encode_samples(
    lame: str, chunks: Iterable[bytes], sample_rate: int, target: Path, timeout: float
) -> int:
    """Encode 16-bit mono `chunks` to MP3 at `target`; returns bytes of audio.

    `chunks` may be a generator that synthesizes as it goes (one sentence at a time): lame
    encodes each while the next is being made. An exception from the generator stops lame
    and leaves no target behind.
    """
    encoder = start_lame(lame, target, raw_rate=sample_rate)
    assert encoder.stdin is not None
    written = 0
    finished = False
    try:
        try:
            for chunk in chunks:
                encoder.stdin.write(chunk)
                written += len(chunk)
        except BrokenPipeError:
            pass  # lame gave up: its exit code and message say why
        finally:
            encoder.stdin.close()
            encoder.stdin = None
        _, errors = encoder.communicate(timeout=timeout)
        finished = encoder.returncode == 0
    except subprocess.TimeoutExpired:
        raise _too_slow(timeout) from None
    finally:
        if encoder.poll() is None:
            encoder.kill()
            encoder.communicate()
        if not finished:
            target.unlink(missing_ok=True)
    if not finished:
        raise lame_failed("encode MP3", errors, encoder.returncode)
    return written


def lame_failed(doing: str, errors: bytes, returncode: int) -> EngineError:
    """The error for a lame run that exited non-zero, with lame's own reason."""
    reason = errors.decode(errors="replace").strip() or f"exit {returncode}"
    return EngineError(f"lame could not {doing}: {reason}")


# ------------------------------------------------------------------ sounds (one shot)
def wav_to_mp3(source: Path, target: Path, channels: int, timeout: float) -> None:
    _run([LAME, "--quiet", *_sound_quality(channels), str(source), str(target)], timeout)


def encode_pcm(pcm: bytes, rate: int, channels: int, target: Path, timeout: float) -> None:
    command = [LAME, "--quiet", *_sound_quality(channels), *_raw_input(rate, channels)]
    _run([*command, "-", str(target)], timeout, pcm)


def decode_pcm(mp3: Path, timeout: float) -> bytes:
    """The samples of `mp3` at its own rate and channel count."""
    return _run([LAME, "--quiet", "--decode", "-t", str(mp3), "-"], timeout, doing="decode MP3")


def resampled_pcm(mp3: Path, rate: int, channels: int, timeout: float) -> bytes:
    """The samples of `mp3` at `rate` Hz and `channels` (a near-lossless re-encode between)."""
    encode = [LAME, "--quiet", "--mp3input", "--resample", f"{rate / 1000:g}", *_mode(channels)]
    reencoded = _run([*encode, "-b", "320", str(mp3), "-"], timeout)
    decode = [LAME, "--quiet", "--decode", "--mp3input", "-t", "-", "-"]
    return _run(decode, timeout, reencoded, doing="decode MP3")


def _run(
    command: list[str], timeout: float, data: bytes | None = None, doing: str = "encode MP3"
) -> bytes:
    try:
        done = subprocess.run(
            command, input=data, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise _too_slow(timeout) from None
    except OSError as exc:
        raise EngineError(f"cannot run {command[0]}: {exc.strerror}") from None
    if done.returncode != 0:
        raise lame_failed(doing, done.stderr, done.returncode)
    return done.stdout


def _too_slow(timeout: float) -> EngineError:
    return EngineError(f"lame took longer than {timeout:g} s")
