"""The engine chain: cached clip first, else the engines in TTS_ENGINES order.

An engine that fails rests for a while (see `health`); its cached clips are still served.
Concurrent requests for the same text share one synthesis. A request that names a voice
goes to the engine that has it first, whatever its place in the chain.

An online engine never holds an announcement hostage. Its call runs in the background and
the announcement waits for it only `online_deadline` seconds (TTS_ONLINE_DEADLINE): past
that the next engine speaks, and the online call goes on for the cache alone, so the next
announcement of the same text gets the online voice. While that call is overdue, later
announcements do not wait for the engine at all. An engine whose rest is over is probed in
the background with the text of the announcement that found it rested, never on that
announcement's path. Only when every other engine failed does an announcement wait for an
overdue online call to end (its own timeout, TTS_TIMEOUT, bounds it).

Threads: `submit` and `cached` run on paho's thread (cache lookups and a hand-off only);
`speak` runs on the "tts" workers; online calls and probes run on the "tts-online"
workers and touch only the cache and the engines' health.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from sonos_bridge.audio.clip_cache import Clip, ClipCache
from sonos_bridge.audio.speech.engines import Engine
from sonos_bridge.audio.speech.health import ENGINE_REST_SECONDS, Availability, EngineHealth
from sonos_bridge.audio.speech.voices import normalise_language
from sonos_bridge.errors import (
    EngineError,
    SpeechError,
    UnknownLanguageError,
    UnknownVoiceError,
    UnspeakableTextError,
    VoiceUnusableError,
)

logger = logging.getLogger(__name__)

ONLINE_DEADLINE_SECONDS = 1.5
# A job: (language, voice, text); a call: (engine name, the engine's voice code, text).
Key = tuple[str, str, str]


@dataclass
class _Attempt:
    """What one `speak` call met on its way down the chain."""

    text: str
    reasons: list[str] = field(default_factory=list)
    overdue: list[tuple[Engine, Future[Clip]]] = field(default_factory=list)
    late_engines: list[tuple[Engine, str]] = field(default_factory=list)  # skipped as late

    def skip(self, engine: Engine, reason: str) -> None:
        self.reasons.append(f"{engine.name}: {reason}")


class Synthesizer:
    """Gives a playable clip for (text, language, voice), from the cache or the engines."""

    def __init__(
        self,
        engines: list[Engine],
        cache: ClipCache,
        *,
        workers: int = 2,
        rest_seconds: float = ENGINE_REST_SECONDS,
        online_deadline: float = ONLINE_DEADLINE_SECONDS,
    ) -> None:
        self.engines = engines
        self.cache = cache
        self.online_deadline = online_deadline
        self.health = EngineHealth(rest_seconds)
        self._lock = threading.Lock()
        self._in_flight: dict[Key, Future[Clip]] = {}
        self._background: dict[Key, Future[Clip]] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tts")
        self._online = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tts-online")

    # ------------------------------------------------------------ checks
    def supports(self, lang: str) -> bool:
        return any(engine.voice_for(lang) is not None for engine in self.engines)

    def check_language(self, lang: str) -> None:
        if not self.supports(lang):
            names = ", ".join(engine.name for engine in self.engines)
            raise UnknownLanguageError(f"unknown language {lang!r} (engines: {names})")

    def language_for(self, lang: str | None, voice: str | None, default: str) -> str:
        """The language a request is spoken in; a RequestError when it cannot be served.

        A named voice gives its language to a request without "lang", so the engines after
        it (if the voice fails) speak the same language.
        """
        if voice is not None:
            spoken = self._voice_language(voice)
            if lang is not None and _family(lang) != _family(spoken):
                raise UnknownVoiceError(f"voice {voice!r} speaks {spoken}, not {lang!r}")
            lang = lang or spoken
        lang = lang or default
        self.check_language(lang)
        return lang

    def _voice_language(self, voice: str) -> str:
        for engine in self.engines:
            language = engine.voice_language(voice)
            if language is not None:
                return language
        names = [name for engine in self.engines for name in engine.voice_names()]
        known = f"voices: {', '.join(names)}" if names else "no engine in TTS_ENGINES has voices"
        raise UnknownVoiceError(f"unknown voice {voice!r} ({known})")

    # ------------------------------------------------------------ requests
    def submit(self, text: str, lang: str, voice: str | None = None) -> Future[Clip]:
        """Start making the clip in the background; same request, same job."""
        cached = self.cached(text, lang, voice)
        if cached is not None:  # the common case: no thread hand-off on the hot path
            done: Future[Clip] = Future()
            done.set_result(cached)
            return done
        job = (lang.casefold(), (voice or "").casefold(), text)
        return self._shared(
            self._in_flight, job, partial(self._pool.submit, self.speak, text, lang, voice)
        )

    def _shared(
        self, jobs: dict[Key, Future[Clip]], key: Key, start: Callable[[], Future[Clip]]
    ) -> Future[Clip]:
        """The running future for `key` in `jobs`, else `start()`'s, kept until it is done."""
        with self._lock:
            future = jobs.get(key)
            if future is not None:
                return future
            future = start()
            jobs[key] = future
        future.add_done_callback(partial(self._forget, jobs, key))
        return future

    def _forget(self, jobs: dict[Key, Future[Clip]], key: Key, done: Future[Clip]) -> None:
        with self._lock:
            if jobs.get(key) is done:
                del jobs[key]

    def cached(self, text: str, lang: str, voice: str | None = None) -> Clip | None:
        """The clip of the first engine (in order) that has one cached."""
        for engine in self._chain(voice):
            code = engine.voice_for(lang, voice)
            if code is None:
                continue
            clip = self.cache.get(engine.name, code, text)
            if clip is not None:
                return clip
            if self.health.availability(engine.name)[0] is Availability.ASK:
                return None  # this engine would be asked first: not a cache hit
        return None

    def speak(self, text: str, lang: str, voice: str | None = None) -> Clip:
        """Blocking: a clip for `text`, or SpeechError naming every engine's reason."""
        self.check_language(lang)
        attempt = _Attempt(text)
        for engine in self._chain(voice):
            clip = self._try(engine, lang, voice, attempt)
            if clip is not None:
                return clip
        clip = self._last_resort(attempt)
        if clip is not None:
            return clip
        raise SpeechError("every TTS engine failed: " + "; ".join(attempt.reasons))

    def _chain(self, voice: str | None) -> list[Engine]:
        """The engines in TTS_ENGINES order, those that have a named `voice` first."""
        if voice is None:
            return self.engines
        return sorted(self.engines, key=lambda engine: engine.voice_language(voice) is None)

    # ------------------------------------------------------------ one engine
    def _try(self, engine: Engine, lang: str, voice: str | None, attempt: _Attempt) -> Clip | None:
        code = engine.voice_for(lang, voice)
        if code is None:
            attempt.skip(engine, f"no voice for {voice or lang!r}")
            return None
        clip = self.cache.get(engine.name, code, attempt.text)
        if clip is not None:
            return clip
        availability, reason = self.health.availability(engine.name)
        if availability is Availability.PROBE:
            self.health.busy(engine.name, self._in_background(engine, code, attempt.text))
        if availability is Availability.LATE:
            attempt.late_engines.append((engine, code))
        if availability is not Availability.ASK:
            attempt.skip(engine, reason)
            return None
        if engine.online:
            return self._hedged(engine, code, attempt)
        try:
            return self._make(engine, code, attempt.text)
        except EngineError as exc:
            attempt.skip(engine, str(exc))
            return None

    def _hedged(self, engine: Engine, code: str, attempt: _Attempt) -> Clip | None:
        """The online engine's clip if it comes within the deadline; else None (it goes on)."""
        call = self._in_background(engine, code, attempt.text)
        try:
            return call.result(timeout=self.online_deadline)
        except EngineError as exc:
            attempt.skip(engine, str(exc))
            return None
        except TimeoutError:
            self.health.busy(engine.name, call)
            attempt.overdue.append((engine, call))
            attempt.skip(engine, f"no answer within {self.online_deadline:g} s")
            logger.info(
                "TTS engine %s has not answered within %g s; the next engine speaks and "
                "its clip is cached if it comes",
                engine.name,
                self.online_deadline,
            )
            return None

    def _in_background(self, engine: Engine, code: str, text: str) -> Future[Clip]:
        """`_make` on the online workers; one call per (engine, voice, text) at a time."""
        key = (engine.name, code.casefold(), text)
        return self._shared(
            self._background, key, partial(self._online.submit, self._make, engine, code, text)
        )

    def _make(self, engine: Engine, code: str, text: str) -> Clip:
        """Synthesize into the cache, and record in the engine's health how it went."""
        started = time.monotonic()
        try:
            clip = self.cache.store(engine.name, code, text, partial(engine.synthesize, text, code))
        except (UnspeakableTextError, VoiceUnusableError) as exc:
            # The text or one voice, not the engine: it stays available for the next request.
            logger.info("TTS engine %s skipped a request: %s", engine.name, exc)
            raise
        except EngineError as exc:
            self.health.failed(engine.name, str(exc))
            raise
        self.health.worked(engine.name)
        logger.debug(
            "%s spoke %d characters in %.0f ms",
            engine.name,
            len(text),
            (time.monotonic() - started) * 1000,
        )
        return clip

    def _last_resort(self, attempt: _Attempt) -> Clip | None:
        """Every engine failed or was skipped: wait for an overdue online engine after all."""
        for engine, code in attempt.late_engines:
            attempt.overdue.append((engine, self._in_background(engine, code, attempt.text)))
        for engine, call in attempt.overdue:
            try:
                return call.result()
            except EngineError as exc:
                attempt.skip(engine, f"then {exc}")
        return None

    def close(self, wait: bool = False) -> None:
        """Stop; `wait` also waits for the calls already running (tests, for quiet logs)."""
        self._pool.shutdown(wait=wait, cancel_futures=True)
        self._online.shutdown(wait=wait, cancel_futures=True)
        for engine in self.engines:
            engine.close()


def _family(lang: str) -> str:
    return normalise_language(lang).split("-", 1)[0]
