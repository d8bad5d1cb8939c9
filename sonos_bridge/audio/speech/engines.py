"""Text-to-speech engines: Google's (gTTS, online), espeak-ng (offline) and Piper (offline).

Each engine writes an MP3 to a path it is given and raises `EngineError` with a reason a
person can act on. Network calls always carry a timeout: gTTS waits forever by default.
An `online` engine may hang on a bad network, so the synthesizer hedges it (see there).
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

from sonos_bridge.audio.lame import lame_failed, start_lame
from sonos_bridge.audio.speech.piper_engine import PiperEngine, piper_installed
from sonos_bridge.audio.speech.voices import load_catalog
from sonos_bridge.errors import EngineError

logger = logging.getLogger(__name__)


class Engine(Protocol):
    """What the synthesizer needs from an engine."""

    name: str
    online: bool

    def voice_for(self, lang: str, named: str | None = None) -> str | None:
        """The engine's own code for `lang` (or for the voice `named`), None if it has none."""

    def voice_language(self, name: str) -> str | None:
        """The language of the engine's voice called `name`; None if it has no such voice."""

    def voice_names(self) -> list[str]:
        """Names a request's "voice" may use with this engine."""

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
    online = True

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._languages = {code.casefold(): code for code in tts_langs()}

    def voice_for(self, lang: str, named: str | None = None) -> str | None:
        return _match_language(lang, self._languages)

    def voice_language(self, name: str) -> str | None:
        return None

    def voice_names(self) -> list[str]:
        return []

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
    online = False

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

    def voice_for(self, lang: str, named: str | None = None) -> str | None:
        return _match_language(lang, self._languages)

    def voice_language(self, name: str) -> str | None:
        return None

    def voice_names(self) -> list[str]:
        return []

    def close(self) -> None:
        """Nothing to release: each clip runs its own short-lived processes."""

    def synthesize(self, text: str, voice: str, target: Path) -> None:
        # Text goes through stdin, never the command line: it may start with "-".
        speak_command = [self.espeak, "-b", "1", "-v", voice, "--stdout"]
        encoder: subprocess.Popen[bytes] | None = None
        speak: subprocess.Popen[bytes] | None = None
        try:
            encoder = start_lame(self.lame, target)
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
            raise lame_failed("encode MP3", encode_errors, encoder.returncode)


def _empty(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return True


def build_engines(
    names: list[str],
    timeout: float,
    *,
    piper_voices_dir: Path | None = None,
    piper_voice: str | None = None,
    default_lang: str = "en",
) -> list[Engine]:
    engines: list[Engine] = []
    for name in names:
        if name == "gtts":
            engines.append(GttsEngine(timeout))
        elif name == "espeak":
            engines.append(EspeakEngine(timeout))
        elif name == "piper":
            piper = _piper_engine(timeout, piper_voices_dir, piper_voice, default_lang)
            if piper is not None:
                engines.append(piper)
    return engines


def _piper_engine(
    timeout: float, voices_dir: Path | None, preferred: str | None, default_lang: str
) -> Engine | None:
    """The Piper engine, or None (said once) when the image or the voices rule it out."""
    if not piper_installed():
        logger.info(
            "piper-tts is not installed (the slim image): TTS_ENGINES' piper is left out "
            "and the other engines speak"
        )
        return None
    catalog = load_catalog(voices_dir, preferred)
    if not catalog.names:
        logger.warning(
            "No Piper voice found (PIPER_VOICES_DIR=%s); the other engines speak instead",
            voices_dir or "unset",
        )
        return None
    logger.info("Piper voices: %s", ", ".join(catalog.names))
    chosen = catalog.for_language(default_lang)
    if catalog.preferred is not None and chosen is not catalog.preferred:
        logger.warning(
            'PIPER_VOICE=%s speaks %s, not TTS_LANG=%s: requests without "lang" use %s',
            catalog.preferred.name,
            catalog.preferred.language,
            default_lang,
            chosen.name if chosen is not None else "the next engine",
        )
    return PiperEngine(catalog, timeout)
