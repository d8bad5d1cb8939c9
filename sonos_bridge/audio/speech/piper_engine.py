"""Piper: a natural neural voice computed on this machine, encoded to MP3 by lame.

piper-tts and onnxruntime (absent from the slim image) are imported the first time a voice
is loaded, and a voice's model (60 MB for a medium voice) is kept once loaded. By default
the bridge loads its default voice in the background at start (`preload`, PIPER_PRELOAD),
so the first announcement after a start is as fast as the next: measured here, the bridge
idles at 181 MB instead of 55 MB with it (36 MB for the imports, 91 MB for the voice's
session), and loading takes 1-5 s on a busy two-core machine, which the first announcement
would otherwise wait for. With PIPER_PRELOAD=false a voice is loaded the first time it
speaks (measured in the container: 52 MB idle; 216-235 MB once Piper has spoken).

onnxruntime runs without its memory arena and memory-pattern planning: each sentence has a
different length, so both keep growing buffers. Measured here after a dozen sentences:
~170 MB resident instead of 325-400 MB, for synthesis ~1.5x slower (a short sentence
110-150 ms instead of 70-85 ms; a 24-word one 0.6-0.9 s instead of 0.3-0.4 s).

Threads: `synthesize` runs on the synthesizer's worker threads, possibly two at once;
`preload` on the "piper-preload" thread the service starts.
Loading is serialised by a lock; an onnxruntime session may run from several threads and
piper-tts guards its phonemizer with its own lock.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import logging
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sonos_bridge.audio.lame import encode_samples
from sonos_bridge.audio.speech.voices import VoiceCatalog, VoiceFile
from sonos_bridge.errors import EngineError, UnspeakableTextError, VoiceUnusableError

if TYPE_CHECKING:
    from piper import PiperVoice

logger = logging.getLogger(__name__)


def piper_installed() -> bool:
    """Whether this image has piper-tts (the slim one has not), without importing it."""
    return all(importlib.util.find_spec(name) is not None for name in ("piper", "onnxruntime"))


def load_voice(voice: VoiceFile) -> PiperVoice:
    """The model and config of `voice`, ready to speak; raises whatever the files cause."""
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    options = onnxruntime.SessionOptions()
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    config = PiperConfig.from_dict(json.loads(voice.config.read_text(encoding="utf-8")))
    session = onnxruntime.InferenceSession(
        str(voice.model), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return PiperVoice(session=session, config=config)


class PiperEngine:
    """Speaks with the catalog's voices; a voice that cannot be loaded is set aside."""

    name = "piper"
    online = False

    def __init__(self, catalog: VoiceCatalog, timeout: float, lame: str = "lame") -> None:
        self.catalog = catalog
        self.timeout = timeout
        self.lame = shutil.which(lame) or lame
        self._lock = threading.Lock()
        self._loaded: dict[str, PiperVoice] = {}
        self._unusable: dict[str, str] = {}
        # Replaced whole (never changed in place) so readers need not take the lock,
        # which a first load holds for half a second.
        self._set_aside: frozenset[str] = frozenset()
        self._unvoiced: set[str] = set()

    def voice_for(self, lang: str, named: str | None = None) -> str | None:
        if named is not None:
            voice = self.catalog.named(named)
        else:
            voice = self.catalog.for_language(lang, exclude=self._set_aside)
            if voice is None:
                self._report_no_voice(lang)
        if voice is None or voice.name in self._set_aside:
            return None
        return voice.name

    def voice_language(self, name: str) -> str | None:
        voice = self.catalog.named(name)
        return voice.language if voice is not None else None

    def voice_names(self) -> list[str]:
        return self.catalog.names

    def _report_no_voice(self, lang: str) -> None:
        key = lang.casefold()
        if key not in self._unvoiced:
            self._unvoiced.add(key)
            logger.info(
                "No Piper voice speaks %r (voices: %s); the next engine speaks it",
                lang,
                ", ".join(self.catalog.names) or "none",
            )

    def preload(self, lang: str, named: str | None = None) -> None:
        """Load the voice `lang` (or `named`) would use, so its first announcement need not."""
        voice = self.voice_for(lang, named)
        if voice is None:
            return
        started = time.monotonic()
        try:
            self._voice(voice)
        except VoiceUnusableError:
            return  # said once by `_voice`; the next voice or engine speaks instead
        logger.info("Piper voice %s ready in %.1f s", voice, time.monotonic() - started)

    def synthesize(self, text: str, voice: str, target: Path) -> None:
        piper_voice = self._voice(voice)
        samples = self._samples(piper_voice, text)
        first = next(samples, None)
        if first is None:
            raise UnspeakableTextError("Piper found nothing it can pronounce in this text")
        rate = piper_voice.config.sample_rate
        encode_samples(self.lame, itertools.chain([first], samples), rate, target, self.timeout)

    @staticmethod
    def _samples(voice: PiperVoice, text: str) -> Iterator[bytes]:
        """16-bit samples, one sentence at a time, so lame encodes while Piper speaks."""
        try:
            for chunk in voice.synthesize(text):
                yield chunk.audio_int16_bytes
        except ValueError as exc:  # e.g. a NUL character: espeak-ng refuses the text
            raise UnspeakableTextError(f"Piper cannot speak this text: {exc}") from None
        except Exception as exc:  # onnxruntime's errors derive from Exception only
            raise EngineError(f"Piper failed: {exc}") from None

    def _voice(self, name: str) -> PiperVoice:
        with self._lock:
            loaded = self._loaded.get(name)
            if loaded is not None:
                return loaded
            if name in self._unusable:
                raise VoiceUnusableError(self._unusable[name])
            voice = self.catalog.named(name)
            if voice is None:
                raise VoiceUnusableError(f"no Piper voice is called {name!r}")
            try:
                loaded = load_voice(voice)
            except Exception as exc:  # onnxruntime, JSON and file errors alike
                reason = f"Piper voice {name} cannot be loaded from {voice.model}: {exc}"
                self._unusable[name] = reason
                self._set_aside = frozenset(self._unusable)
                logger.warning("%s; using the next voice or engine instead", reason)
                raise VoiceUnusableError(reason) from None
            self._loaded[name] = loaded
            logger.info("Loaded Piper voice %s (%s)", name, voice.language)
            return loaded

    def close(self) -> None:
        with self._lock:
            self._loaded.clear()


def preload_in_background(
    engines: Iterable[object], lang: str, named: str | None
) -> threading.Thread | None:
    """Load the default voice of the Piper engine among `engines` on a thread of its own
    ("piper-preload"), off the start-up path; nothing (None) without Piper."""
    piper = next((engine for engine in engines if isinstance(engine, PiperEngine)), None)
    if piper is None:
        return None

    def run() -> None:
        try:
            piper.preload(lang, named)
        except Exception:
            logger.exception("Loading the Piper voice at start failed; it loads when it speaks")

    thread = threading.Thread(target=run, name="piper-preload", daemon=True)
    thread.start()
    return thread
