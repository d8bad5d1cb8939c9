"""One request on its way through the coordinator queues, and its single answer.

A request for several groups is played by several coordinator workers at once; `Job`
collects their outcomes and publishes one result after the last. `PlayItem` is a job's
part on one coordinator; it keeps its audio in the cache until it is answered, so that
the cache cannot evict a clip that is queued or playing.

Threads: `Job.finish_part` is called from the coordinator workers' threads (under the
job's lock); `ClipHold` pins from whichever thread completes the audio's future (the
synthesizer's or the preparer's pool, or the caller for cached speech) and releases from a
worker thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

from sonos_bridge.audio.prepared import Prepared
from sonos_bridge.request.announcement import Announcement
from sonos_bridge.request.results import Result, Status, elapsed_ms


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened on one coordinator; `speaker_down` fails what waits behind it."""

    speakers: list[str]
    status: Status
    error: str | None = None
    latency_ms: int | None = None
    warnings: tuple[str, ...] = ()
    speaker_down: bool = False


class Job:
    """One request spread over one or more coordinators; answers once all have finished."""

    def __init__(
        self,
        announcement: Announcement,
        speakers: list[str],
        parts: int,
        publish: Callable[[Result, Announcement], None],
    ) -> None:
        self.announcement = announcement
        self.speakers = speakers
        self._remaining = parts
        self._outcomes: list[Outcome] = []
        self._publish = publish
        self._lock = threading.Lock()

    def finish_part(self, outcome: Outcome) -> None:
        with self._lock:
            self._outcomes.append(outcome)
            self._remaining -= 1
            if self._remaining > 0:
                return
        self._publish(self._combine(), self.announcement)

    def _combine(self) -> Result:
        outcomes = self._outcomes
        statuses = {o.status for o in outcomes}
        if "failed" in statuses:
            status: Status = "failed"
        elif statuses == {"expired"}:
            status = "expired"
        else:
            status = "played"
        errors = [f"{', '.join(o.speakers)}: {o.error}" for o in outcomes if o.error]
        if len(outcomes) == 1 and outcomes[0].error:
            errors = [outcomes[0].error]
        warnings = [w for o in outcomes for w in o.warnings]
        if status == "played":
            warnings += [
                f"{', '.join(o.speakers)}: expired" for o in outcomes if o.status == "expired"
            ]
        latencies = [o.latency_ms for o in outcomes if o.latency_ms is not None]
        return Result(
            id=self.announcement.id,
            status=status,
            speakers=tuple(self.speakers),
            error="; ".join(errors) or None,
            latency_ms=max(latencies) if latencies else elapsed_ms(self.announcement.received_at),
            warnings=tuple(warnings),
        )


class ClipPins(Protocol):
    """The cache's promise not to evict a clip while someone holds it."""

    def pin(self, key: str) -> None: ...

    def unpin(self, key: str) -> None: ...


class ClipHold:
    """Pins a request's clips from the moment they exist until `release`.

    The audio may still be in preparation when the request is queued, so the pins are
    taken by the future's completion; a release that comes first (an expired request) wins.
    """

    def __init__(self, audio: Future[Prepared], pins: ClipPins) -> None:
        self._pins = pins
        self._lock = threading.Lock()
        self._keys: list[str] = []
        self._released = False
        audio.add_done_callback(self._pin)

    def _pin(self, audio: Future[Prepared]) -> None:
        if audio.cancelled() or audio.exception() is not None:
            return
        keys = audio.result().keys
        with self._lock:
            if self._released:
                return
            self._keys = keys
            for key in keys:
                self._pins.pin(key)

    def release(self) -> None:
        with self._lock:
            self._released = True
            keys, self._keys = self._keys, []
            for key in keys:
                self._pins.unpin(key)


@dataclass(frozen=True, slots=True)
class PlayItem:
    """A job's part on one coordinator: the audio to play for the requested names."""

    job: Job
    audio: Future[Prepared]
    speakers: list[str]  # the requested names this coordinator plays for
    hold: ClipHold

    def answer(self, outcome: Outcome) -> None:
        self.hold.release()
        self.job.finish_part(outcome)
