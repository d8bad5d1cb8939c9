"""The engine chain: cached clip first, else the engines in TTS_ENGINES order.

An engine that fails is logged once with its reason and then rested for a while, so a
dead internet connection costs one timeout, not one per announcement; its cached clips
are still served. Concurrent requests for the same text share one synthesis.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

from sonos_bridge.errors import EngineError, SpeechError, UnknownLanguageError
from sonos_bridge.tts.cache import Clip, ClipCache
from sonos_bridge.tts.engines import Engine

logger = logging.getLogger(__name__)

ENGINE_REST_SECONDS = 60.0


class Synthesizer:
    """Gives a playable clip for (text, language), from the cache or the engines."""

    def __init__(
        self,
        engines: list[Engine],
        cache: ClipCache,
        *,
        workers: int = 2,
        rest_seconds: float = ENGINE_REST_SECONDS,
    ) -> None:
        self.engines = engines
        self.cache = cache
        self.rest_seconds = rest_seconds
        self._lock = threading.Lock()
        self._failed_until: dict[str, float] = {}
        self._in_flight: dict[tuple[str, str], Future[Clip]] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tts")

    def supports(self, lang: str) -> bool:
        return any(engine.voice_for(lang) is not None for engine in self.engines)

    def check_language(self, lang: str) -> None:
        if not self.supports(lang):
            names = ", ".join(engine.name for engine in self.engines)
            raise UnknownLanguageError(f"unknown language {lang!r} (engines: {names})")

    def submit(self, text: str, lang: str) -> Future[Clip]:
        """Start making the clip in the background; same text and language share a job."""
        cached = self.cached(text, lang)
        if cached is not None:  # the common case: no thread hand-off on the hot path
            done: Future[Clip] = Future()
            done.set_result(cached)
            return done
        job = (lang.casefold(), text)
        with self._lock:
            future = self._in_flight.get(job)
            if future is not None:
                return future
            future = self._pool.submit(self.speak, text, lang)
            self._in_flight[job] = future

        def forget(_done: Future[Clip]) -> None:
            with self._lock:
                if self._in_flight.get(job) is future:
                    del self._in_flight[job]

        future.add_done_callback(forget)
        return future

    def cached(self, text: str, lang: str) -> Clip | None:
        """The clip of the first engine (in order) that has one cached."""
        for engine in self.engines:
            voice = engine.voice_for(lang)
            if voice is None:
                continue
            clip = self.cache.get(engine.name, voice, text)
            if clip is not None:
                return clip
            if not self._resting(engine.name):
                return None  # this engine would be asked first: not a cache hit
        return None

    def speak(self, text: str, lang: str) -> Clip:
        """Blocking: a clip for `text` in `lang`, or SpeechError naming every failure."""
        self.check_language(lang)
        reasons: list[str] = []
        for engine in self.engines:
            voice = engine.voice_for(lang)
            if voice is None:
                reasons.append(f"{engine.name}: cannot speak {lang!r}")
                continue
            clip = self.cache.get(engine.name, voice, text)
            if clip is not None:
                return clip
            resting = self._resting(engine.name)
            if resting:
                reasons.append(f"{engine.name}: {resting}")
                continue
            started = time.monotonic()
            try:
                clip = self.cache.store(
                    engine.name,
                    voice,
                    text,
                    partial(engine.synthesize, text, voice),
                )
            except EngineError as exc:
                self._mark_failed(engine.name, str(exc))
                reasons.append(f"{engine.name}: {exc}")
                continue
            self._mark_working(engine.name)
            logger.debug(
                "%s spoke %d characters in %.0f ms",
                engine.name,
                len(text),
                (time.monotonic() - started) * 1000,
            )
            return clip
        raise SpeechError("every TTS engine failed: " + "; ".join(reasons))

    def _resting(self, name: str) -> str:
        with self._lock:
            until = self._failed_until.get(name)
        if until is None or time.monotonic() >= until:
            return ""
        return f"resting after a failure ({until - time.monotonic():.0f} s left)"

    def _mark_failed(self, name: str, reason: str) -> None:
        with self._lock:
            first = name not in self._failed_until
            self._failed_until[name] = time.monotonic() + self.rest_seconds
        if first:
            logger.warning(
                "TTS engine %s failed: %s; using the next engine for %.0f s",
                name,
                reason,
                self.rest_seconds,
            )
        else:
            logger.debug("TTS engine %s failed again: %s", name, reason)

    def _mark_working(self, name: str) -> None:
        with self._lock:
            was_failed = self._failed_until.pop(name, None) is not None
        if was_failed:
            logger.info("TTS engine %s works again", name)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        for engine in self.engines:
            engine.close()
