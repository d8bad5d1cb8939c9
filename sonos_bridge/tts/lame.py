"""MP3 encoding with lame, for the offline engines (espeak-ng's WAV, Piper's raw samples).

lame starts in a few milliseconds, so every clip gets its own short-lived process rather
than a spare kept running. The caller's thread writes the audio and waits; lame writes
the MP3 straight to the target path, which the cache then checks and renames.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterable
from pathlib import Path

from sonos_bridge.errors import EngineError

logger = logging.getLogger(__name__)

MP3_KBITS = 48


def lame_command(lame: str, target: Path, *, raw_rate: int | None = None) -> list[str]:
    """lame reading WAV (or, with `raw_rate`, 16-bit mono samples) from stdin.

    `-q 7` is lame's fast mode ("-f"); at 22.05 kHz mono this is MPEG-2 layer III.
    """
    command = [lame, "--quiet", "-q", "7", "-b", str(MP3_KBITS)]
    if raw_rate is not None:
        kilohertz = f"{raw_rate / 1000:g}"
        command += ["-r", "-s", kilohertz, "--bitwidth", "16", "--signed", "--little-endian"]
        command += ["-m", "m"]
    return [*command, "-", str(target)]


def start_lame(lame: str, target: Path, *, raw_rate: int | None = None) -> subprocess.Popen[bytes]:
    """lame reading from a pipe (its `stdin`), writing the MP3 to `target`."""
    try:
        return subprocess.Popen(
            lame_command(lame, target, raw_rate=raw_rate),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    except OSError as exc:
        raise EngineError(f"cannot run {lame}: {exc.strerror}") from None


def encode_samples(
    lame: str, chunks: Iterable[bytes], sample_rate: int, target: Path, timeout: float
) -> int:
    """Encode 16-bit little-endian mono `chunks` to MP3 at `target`; returns bytes of audio.

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
        raise EngineError(f"lame took longer than {timeout:g} s") from None
    finally:
        if encoder.poll() is None:
            encoder.kill()
            encoder.communicate()
        if not finished:
            target.unlink(missing_ok=True)
    if not finished:
        reason = errors.decode(errors="replace").strip() or f"exit {encoder.returncode}"
        raise EngineError(f"lame could not encode MP3: {reason}")
    return written
