"""Text-to-speech engines: Google's (gTTS, online) and espeak-ng (offline fallback).

Each engine writes an MP3 to a path it is given and raises `EngineError` with a reason a
person can act on. Network calls always carry a timeout: gTTS waits forever by default.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Protocol

from gtts import gTTS, gTTSError
from gtts.lang import tts_langs

from sonos_bridge.errors import EngineError

logger = logging.getLogger(__name__)

MP3_BITRATE = "48k"


class Engine(Protocol):
    """What the synthesizer needs from an engine."""

    name: str

    def voice_for(self, lang: str) -> str | None:
        """The engine's own code for `lang`, or None when it cannot speak it."""

    def synthesize(self, text: str, voice: str, target: Path) -> None:
        """Write `text` spoken in `voice` as MP3 to `target`, or raise EngineError."""

    def close(self) -> None:
        """Release helper processes."""


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
    """espeak-ng piped into ffmpeg: robotic but offline and fast.

    Starting ffmpeg costs ~150 ms of library loading, more than the synthesis itself, so
    one encoder process is kept started ahead, waiting on its stdin; espeak-ng writes
    straight into it and a fresh spare is started in the background after each use.
    """

    name = "espeak"

    def __init__(self, timeout: float, espeak: str = "espeak-ng", ffmpeg: str = "ffmpeg") -> None:
        self.timeout = timeout
        self.espeak = shutil.which(espeak) or espeak
        self.ffmpeg = shutil.which(ffmpeg) or ffmpeg
        self._languages = self._list_voices()
        self._lock = threading.Lock()
        self._spare: subprocess.Popen[bytes] | None = None
        self._closed = False

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

    # ------------------------------------------------------------ encoder
    def _encoder_command(self) -> list[str]:
        return [
            self.ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin",
            "-f", "wav", "-i", "pipe:0",
            "-codec:a", "libmp3lame", "-compression_level", "9", "-b:a", MP3_BITRATE,
            "-f", "mp3", "pipe:1",
        ]  # fmt: skip

    def _spawn_encoder(self) -> subprocess.Popen[bytes]:
        try:
            return subprocess.Popen(
                self._encoder_command(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            raise EngineError(f"cannot run {self.ffmpeg}: {exc.strerror}") from None

    def _take_encoder(self) -> subprocess.Popen[bytes]:
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None and spare.poll() is None:
            return spare
        return self._spawn_encoder()

    def _refill(self) -> None:
        try:
            encoder = self._spawn_encoder()
        except EngineError:
            return
        with self._lock:
            if self._spare is None and not self._closed:
                self._spare, encoder = encoder, None  # type: ignore[assignment]
        if encoder is not None:
            encoder.kill()
            encoder.wait()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            spare, self._spare = self._spare, None
        if spare is not None:
            spare.kill()
            spare.communicate()

    # ---------------------------------------------------------- synthesis
    def synthesize(self, text: str, voice: str, target: Path) -> None:
        # Text goes through stdin, never the command line: it may start with "-".
        encoder = self._take_encoder()
        speak: subprocess.Popen[bytes] | None = None
        try:
            assert encoder.stdin is not None
            try:
                speak = subprocess.Popen(
                    [self.espeak, "-b", "1", "-v", voice, "--stdout"],
                    stdin=subprocess.PIPE,
                    stdout=encoder.stdin,
                    stderr=subprocess.PIPE,
                )
            except OSError as exc:
                raise EngineError(f"cannot run {self.espeak}: {exc.strerror}") from None
            encoder.stdin.close()  # espeak-ng holds the only write end now
            encoder.stdin = None
            _out, speak_errors = speak.communicate(text.encode(), timeout=self.timeout)
            mp3, encode_errors = encoder.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise EngineError(f"espeak-ng/ffmpeg took longer than {self.timeout:g} s") from None
        finally:
            for process in (speak, encoder):
                if process is not None and process.poll() is None:
                    process.kill()
                    process.communicate()
            if not self._closed:
                threading.Thread(target=self._refill, name="espeak-spare", daemon=True).start()
        if speak.returncode != 0:
            reason = speak_errors.decode(errors="replace").strip() or f"exit {speak.returncode}"
            raise EngineError(f"espeak-ng failed: {reason}")
        if encoder.returncode != 0 or not mp3:
            reason = encode_errors.decode(errors="replace").strip() or f"exit {encoder.returncode}"
            raise EngineError(f"ffmpeg could not encode MP3: {reason}")
        try:
            target.write_bytes(mp3)
        except OSError as exc:
            raise EngineError(f"cannot write the clip: {exc.strerror or exc}") from None


def build_engines(names: list[str], timeout: float) -> list[Engine]:
    engines: list[Engine] = []
    for name in names:
        if name == "gtts":
            engines.append(GttsEngine(timeout))
        elif name == "espeak":
            engines.append(EspeakEngine(timeout))
    return engines
