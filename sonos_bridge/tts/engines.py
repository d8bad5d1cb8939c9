"""Text-to-speech engines: Google's (gTTS, online) and espeak-ng (offline fallback).

Each engine writes an MP3 to a path it is given and raises `EngineError` with a reason a
person can act on. Network calls always carry a timeout: gTTS waits forever by default.
"""

from __future__ import annotations

import logging
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Protocol

from gtts import gTTS, gTTSError
from gtts.lang import tts_langs

from sonos_bridge.errors import EngineError

logger = logging.getLogger(__name__)

MP3_KBITS = 48


class Engine(Protocol):
    """What the synthesizer needs from an engine."""

    name: str

    def voice_for(self, lang: str) -> str | None:
        """The engine's own code for `lang`, or None when it cannot speak it."""

    def synthesize(self, text: str, voice: str, target: Path) -> None:
        """Write `text` spoken in `voice` as MP3 to `target`, or raise EngineError."""

    def close(self) -> None:
        """Release anything the engine holds."""


def _match_language(lang: str, known: dict[str, str]) -> str | None:
    """Case-insensitive match, falling back from a region variant to its base language."""
    wanted = lang.strip().replace("_", "-").casefold()
    if wanted in known:
        return known[wanted]
    base = wanted.split("-", 1)[0]
    return known.get(base)


class GttsEngine:
    """Google Translate's voice through gTTS; needs the internet."""

    name = "gtts"

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._languages = {code.casefold(): code for code in tts_langs()}

    def voice_for(self, lang: str) -> str | None:
        return _match_language(lang, self._languages)

    def synthesize(self, text: str, voice: str, target: Path) -> None:
        try:
            speech = gTTS(text, lang=voice, lang_check=False, timeout=self.timeout)
            with target.open("wb") as output:
                speech.write_to_fp(output)
        except gTTSError as exc:
            raise EngineError(f"Google TTS failed: {exc}") from None
        except OSError as exc:
            raise EngineError(f"cannot write the clip: {exc.strerror or exc}") from None

    def close(self) -> None:
        """Nothing to release: each request opens its own connection."""


class EspeakEngine:
    """espeak-ng piped into lame: robotic but offline and fast.

    espeak-ng writes a WAV to its stdout (its header gives no length, which lame accepts)
    straight into lame's stdin, and lame writes the MP3 to the target. Both start in a few
    milliseconds, so a process per clip costs nothing worth keeping a spare for.
    """

    name = "espeak"

    def __init__(self, timeout: float, espeak: str = "espeak-ng", lame: str = "lame") -> None:
        self.timeout = timeout
        self.espeak = shutil.which(espeak) or espeak
        self.lame = shutil.which(lame) or lame
        self._languages = self._list_voices()

    def _list_voices(self) -> dict[str, str]:
        try:
            listing = subprocess.run(
                [self.espeak, "--voices"],
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=True,
            ).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            logger.warning("espeak-ng is not usable (%s); it cannot speak anything", exc)
            return {}
        voices: dict[str, str] = {}
        for line in listing.splitlines()[1:]:
            columns = line.split()
            if len(columns) >= 2:
                voices.setdefault(columns[1].casefold(), columns[1])
        # Plain regional voices first ("en-gb" before "en-029" or "en-gb-scotland").
        for code, voice in sorted(voices.items(), key=lambda item: (len(item[0]), item[0])):
            if not any(char.isdigit() for char in code):
                voices.setdefault(code.split("-", 1)[0], voice)
        return voices

    def voice_for(self, lang: str) -> str | None:
        return _match_language(lang, self._languages)

    def close(self) -> None:
        """Nothing to release: each clip runs its own short-lived processes."""

    def synthesize(self, text: str, voice: str, target: Path) -> None:
        # -q 7 is lame's fast mode ("-f"); MPEG-2 at espeak-ng's 22.05 kHz, mono.
        encode = [self.lame, "--quiet", "-q", "7", "-b", str(MP3_KBITS), "-", str(target)]
        # Text goes through stdin, never the command line: it may start with "-".
        speak_command = [self.espeak, "-b", "1", "-v", voice, "--stdout"]
        encoder: subprocess.Popen[bytes] | None = None
        speak: subprocess.Popen[bytes] | None = None
        try:
            try:
                encoder = subprocess.Popen(
                    encode,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            except OSError as exc:
                raise EngineError(f"cannot run {self.lame}: {exc.strerror}") from None
            assert encoder.stdin is not None
            try:
                speak = subprocess.Popen(
                    speak_command,
                    stdin=subprocess.PIPE,
                    stdout=encoder.stdin,
                    stderr=subprocess.PIPE,
                )
            except OSError as exc:
                raise EngineError(f"cannot run {self.espeak}: {exc.strerror}") from None
            finally:
                encoder.stdin.close()  # espeak-ng holds the only write end now
                encoder.stdin = None
            deadline = time.monotonic() + self.timeout
            _, speak_errors = speak.communicate(text.encode(), timeout=self.timeout)
            remaining = max(deadline - time.monotonic(), 0.1)
            _, encode_errors = encoder.communicate(timeout=remaining)
        except subprocess.TimeoutExpired:
            target.unlink(missing_ok=True)
            raise EngineError(f"espeak-ng/lame took longer than {self.timeout:g} s") from None
        except EngineError:
            target.unlink(missing_ok=True)
            raise
        finally:
            for process in (speak, encoder):
                if process is not None and process.poll() is None:
                    process.kill()
                    process.communicate()
        encoder_failed = encoder.returncode != 0
        # lame giving up first kills espeak-ng with SIGPIPE: the reason is then lame's.
        broken_pipe = encoder_failed and speak.returncode == -signal.SIGPIPE
        if speak.returncode != 0 and not broken_pipe:
            target.unlink(missing_ok=True)
            reason = speak_errors.decode(errors="replace").strip() or f"exit {speak.returncode}"
            raise EngineError(f"espeak-ng failed: {reason}")
        if encoder_failed or _empty(target):
            target.unlink(missing_ok=True)
            reason = encode_errors.decode(errors="replace").strip() or f"exit {encoder.returncode}"
            raise EngineError(f"lame could not encode MP3: {reason}")


def _empty(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return True


def build_engines(names: list[str], timeout: float) -> list[Engine]:
    engines: list[Engine] = []
    for name in names:
        if name == "gtts":
            engines.append(GttsEngine(timeout))
        elif name == "espeak":
            engines.append(EspeakEngine(timeout))
    return engines
