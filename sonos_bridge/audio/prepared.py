"""What a request plays, made ready before its turn: a chime, a sound, speech, as cached MP3s.

Both playback methods play the same `Prepared`: clip mode as clips one after the other
(the speaker's own chime, then each part), takeover mode as one MP3 joined from them (no
gap, one play). Every part is a checked MP3 in the clip cache, served by the bridge's
audio server: a speaker never gets a URL the bridge did not check.

A bad sound (no such file, a URL that does not answer, too large, not audio) fails the
preparation with its `SoundError`; the request is answered `failed` with it when its
turn comes, so nothing queued before it is overtaken.

Threads: `submit` runs on paho's network thread and only hands work off: speech to the
synthesizer's pool, sounds and chimes (a file read and maybe encoded, a URL fetched) to
this preparer's "sounds" workers, which may wait for the speech (another pool: no
deadlock). A plain text request whose speech is cached is ready at once, no hand-off.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from sonos_bridge.audio.clip_cache import Clip
from sonos_bridge.audio.sounds.library import SoundLibrary
from sonos_bridge.audio.speech.synthesizer import Synthesizer
from sonos_bridge.request.announcement import Announcement
from sonos_bridge.request.options import PlayOptions

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A request's audio: the chime (if asked for), then a sound and/or the speech."""

    parts: tuple[Clip, ...]  # the sound, then the speech; at least one of them
    chime: Clip | None = None
    # The chime asked for is the default one: clip mode plays the speaker's own built-in
    # chime instead of `chime` (the bridge's, which takeover mode joins to the speech).
    speaker_chime: bool = False

    @property
    def clips(self) -> tuple[Clip, ...]:
        """Every file, in the order it is heard."""
        return self.parts if self.chime is None else (self.chime, *self.parts)

    @property
    def keys(self) -> list[str]:
        """Cache keys of every file, to keep them from eviction until the request is done."""
        return [clip.key for clip in self.clips]


class AudioPreparer:
    """Turns a request's text, sound and chime into a `Prepared`, in the background."""

    def __init__(self, synthesizer: Synthesizer, sounds: SoundLibrary, workers: int = 2) -> None:
        self.synthesizer = synthesizer
        self.sounds = sounds
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sounds")

    def submit(self, announcement: Announcement, lang: str) -> Future[Prepared]:
        """Start preparing; the future raises the `BridgeError` that stops the request."""
        options = announcement.options
        speech = (
            self.synthesizer.submit(announcement.text, lang, announcement.voice)
            if announcement.text
            else None
        )
        if speech is not None and not options.has_sound and not options.chime:
            return _then(speech, lambda clip: Prepared((clip,)))  # speech alone: the hot path
        return self._pool.submit(self._prepare, options, speech)

    def _prepare(self, options: PlayOptions, speech: Future[Clip] | None) -> Prepared:
        parts: list[Clip] = []
        if options.sound is not None:
            parts.append(self.sounds.named(options.sound))
        elif options.sound_url is not None:
            parts.append(self.sounds.from_url(options.sound_url))
        chime = None
        if options.chime:
            chime = self.sounds.chime(options.chime if isinstance(options.chime, str) else None)
        if speech is not None:
            parts.append(speech.result())
        speaker_chime = options.chime is True and self.sounds.chime_sound is None
        return Prepared(tuple(parts), chime, speaker_chime)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _then(future: Future[Clip], convert: Callable[[Clip], Prepared]) -> Future[Prepared]:
    """`convert` applied to `future`'s result, on whichever thread completes it."""
    converted: Future[Prepared] = Future()

    def done(source: Future[Clip]) -> None:
        if source.cancelled():  # the bridge is stopping
            converted.cancel()
            return
        error = source.exception()
        if error is not None:
            converted.set_exception(error)
        else:
            converted.set_result(convert(source.result()))

    future.add_done_callback(done)
    return converted
