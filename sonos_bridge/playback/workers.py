"""One queue per group coordinator: announcements in order, one batch at a time.

`play_uri` only works on a group's coordinator, and two announcements sent to one group
must neither interleave nor each snapshot the other's clip as "what was playing". So every
coordinator gets one worker thread (whatever its address becomes) that drains its queue
in batches; coordinators play concurrently. How a batch is played is a `PlaybackMethod`:
`chooser.ModeChooser` picks, per announcement and group, `clip.method.ClipMode` (audio
clips mixed over the music, nothing to restore) or `takeover.method.Takeover` (snapshot,
UPnP play, restore); see `method` for the interface.

A batch ends when the queue is empty after a clip: the group is restored at once, and only
an announcement already waiting is played before the restore. An announcement that left
nothing to restore (an audio clip) is answered as soon as it has played.

Stopping (SIGTERM): nothing new starts, and the announcement playing gets
SONOS_STOP_GRACE seconds to finish before the group is restored and it is answered. One
still playing then is cut short (the `stopping` event a method gets is set) and answered
`failed`, which a stopping bridge leaves unacknowledged: the broker delivers it again and
the next process plays it in full. What waits in the queues is left the same way.

Threads: `PlaybackManager.enqueue` runs on paho's network thread and only puts items on
queues; each `CoordinatorWorker` thread plays its queue and answers the items (which
publishes results); `stop` runs on the main thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from typing import Protocol

from sonos_bridge.audio.prepared import Prepared
from sonos_bridge.errors import BridgeError, SpeakerUnreachableError
from sonos_bridge.playback.jobs import ClipHold, ClipPins, Job, Outcome, PlayItem
from sonos_bridge.playback.method import Group, GroupSession, PlaybackMethod, PlaybackOptions
from sonos_bridge.speakers import Speaker

logger = logging.getLogger(__name__)


class SpeakerLookup(Protocol):
    def members_of(self, coordinator_uid: str) -> list[Speaker]: ...

    def by_uid(self, uid: str) -> Speaker | None: ...


class _Recover:
    """Queue marker: restore what a previous run left before anything new."""


RECOVER = _Recover()
QueueItem = PlayItem | _Recover | None


class CoordinatorWorker:
    """Plays the announcements queued for one group coordinator, in order."""

    def __init__(
        self,
        coordinator: Speaker,
        members: Callable[[], list[Speaker]],
        method: PlaybackMethod,
        options: PlaybackOptions,
    ) -> None:
        self.coordinator = coordinator
        self._members = members
        self.options = options
        self.queue: queue.Queue[QueueItem] = queue.Queue()
        self.busy_since: float | None = None
        self._stopping = threading.Event()  # nothing new starts
        self._cut = threading.Event()  # the clip playing ends now
        self._playback = method.attach(coordinator.uid, self._cut)
        self._thread = threading.Thread(
            target=self._run, name=f"play-{coordinator.name}", daemon=True
        )
        self._thread.start()

    def submit(self, item: PlayItem | _Recover) -> None:
        self.queue.put(item)

    def relocate(self, coordinator: Speaker) -> None:
        """The coordinator answers at a new address (or name) from its next batch on."""
        self.coordinator = coordinator

    # ------------------------------------------------------------- stopping
    def signal_stop(self) -> None:
        """Start nothing new; the clip playing plays on until `cut_short`."""
        self._stopping.set()
        self.queue.put(None)

    def cut_short(self) -> None:
        self._cut.set()
        self._playback.interrupt()

    def finished(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def join(self, timeout: float) -> None:
        if not self.finished(timeout):
            logger.warning("Playback on %s did not stop in time", self.coordinator.name)

    # ------------------------------------------------------------ thread
    def _run(self) -> None:
        try:
            while (item := self.queue.get()) is not None:
                self._handle(item)
        finally:
            self._playback.close()

    def _handle(self, item: PlayItem | _Recover) -> None:
        if self._stopping.is_set():
            if isinstance(item, PlayItem):
                item.answer(Outcome(item.speakers, "failed", "the bridge is stopping"))
            return
        try:
            if isinstance(item, PlayItem):
                self._batch(item)
            else:
                self._recover(self._group())
        except Exception:
            logger.exception("Worker for %s failed; it keeps serving", self.coordinator.name)
        finally:
            self.busy_since = None

    def _group(self) -> Group:
        coordinator = self.coordinator
        return Group(coordinator, tuple(self._members() or [coordinator]))

    def _recover(self, group: Group) -> None:
        """Never raises: a failed recovery must not keep new announcements from playing."""
        self.busy_since = time.monotonic()
        try:
            self._playback.recover(group)
        except Exception:
            logger.exception("Restoring %s after a crash failed", group.coordinator.name)

    def _next(self) -> PlayItem | None:
        """An announcement already waiting joins the batch; anything else ends it."""
        if self._stopping.is_set():
            return None
        try:
            item = self.queue.get_nowait()
        except queue.Empty:
            return None
        if isinstance(item, PlayItem):
            return item
        self.queue.put(item)  # a stop or a recovery: handled after the restore
        return None

    def _batch(self, first: PlayItem) -> None:
        """Announcements back to back: one snapshot before the first, one restore after.

        Each result is published when the next announcement starts; the last one waits
        for the restore so that what could not be restored is reported in it. A speaker
        that is gone is answered at once, and so is everything queued behind it.
        """
        group = self._group()
        self._recover(group)
        session: GroupSession | None = None
        held: tuple[PlayItem, Outcome] | None = None
        item: PlayItem | None = first
        try:
            while item is not None:
                self.busy_since = time.monotonic()
                outcome, session = self._play(item, group, session)
                if held is not None:
                    held[0].answer(held[1])
                    held = None
                if session is None or outcome.speaker_down or not session.restores:
                    item.answer(outcome)
                    if outcome.speaker_down and outcome.error:
                        self._fail_queued(outcome.error)
                        break
                else:
                    held = (item, outcome)
                item = self._next()
        finally:
            warnings = self._finish(session)
            if held is not None:
                last, outcome = held
                last.answer(replace(outcome, warnings=(*outcome.warnings, *warnings)))

    def _finish(self, session: GroupSession | None) -> list[str]:
        if session is None:
            return []
        self.busy_since = time.monotonic()
        try:
            warnings = session.finish()
        except Exception as exc:
            logger.exception("Restoring %s failed", self.coordinator.name)
            warnings = [f"could not restore {self.coordinator.name}: {exc}"]
        for warning in warnings:
            logger.warning("Restoring %s: %s", self.coordinator.name, warning)
        return warnings

    def _fail_queued(self, error: str) -> None:
        """A dead speaker: answer what waits for it now instead of one timeout each."""
        while True:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                return
            if not isinstance(item, PlayItem):
                self.queue.put(item)
                return
            item.answer(Outcome(item.speakers, "failed", error))

    def _play(
        self, item: PlayItem, group: Group, session: GroupSession | None
    ) -> tuple[Outcome, GroupSession | None]:
        """Play one item, beginning the session first if needed; never raises."""
        try:
            audio = self._clip_for(item)
            if isinstance(audio, Outcome):
                return audio, session
            if self._stopping.is_set():  # its speech was ready only after the stop
                return Outcome(item.speakers, "failed", "the bridge is stopping"), session
            if session is None:
                session = self._playback.begin(group)
            latency = session.play(audio, item.job.announcement)
            warnings = session.take_warnings()
        except SpeakerUnreachableError as exc:
            return Outcome(item.speakers, "failed", str(exc), speaker_down=True), session
        except BridgeError as exc:
            return Outcome(item.speakers, "failed", str(exc)), session
        except Exception as exc:  # a bug must still leave the request answered
            logger.exception("Playing request %s failed", item.job.announcement.id)
            return Outcome(item.speakers, "failed", f"internal error: {exc}"), session
        played = Outcome(item.speakers, "played", latency_ms=latency, warnings=tuple(warnings))
        return played, session

    def _clip_for(self, item: PlayItem) -> Prepared | Outcome:
        """The item's audio, or the outcome that says why it will not be played."""
        announcement = item.job.announcement
        if announcement.expired():
            logger.info(
                "Request %s is %.1f s old (max_age %g s); not speaking it",
                announcement.id,
                announcement.age(),
                announcement.max_age or 0,
            )
            error = f"older than max_age={announcement.max_age:g} s when its turn came"
            return Outcome(item.speakers, "expired", error)
        try:
            return item.audio.result(timeout=self.options.speech_timeout)
        except FutureTimeout:
            return Outcome(item.speakers, "failed", "speech synthesis took too long")
        except BridgeError as exc:
            return Outcome(item.speakers, "failed", str(exc))


class PlaybackManager:
    """Routes announcements to the one worker of each target's coordinator."""

    def __init__(
        self,
        speakers: SpeakerLookup,
        method: PlaybackMethod,
        pins: ClipPins,
        options: PlaybackOptions,
    ) -> None:
        self._speakers = speakers
        self._method = method
        self._pins = pins
        self.options = options
        self._workers: dict[str, CoordinatorWorker] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        """Queue the restore of every group a previous run left mid-announcement.

        Called before requests flow, so each restore is the first thing its worker does.
        """
        for left in self._method.leftovers():
            known = self._speakers.by_uid(left.uid)
            coordinator = known if known and known.is_coordinator else left
            logger.info("%s was interrupted mid-announcement; restoring it", coordinator.name)
            self.worker_for(coordinator).submit(RECOVER)

    def worker_for(self, speaker: Speaker) -> CoordinatorWorker:
        """The worker of `speaker`'s coordinator; one per coordinator UID, ever."""
        coordinator = speaker.coordinator
        with self._lock:
            worker = self._workers.get(coordinator.uid)
            if worker is None:
                worker = CoordinatorWorker(
                    coordinator,
                    lambda: self._speakers.members_of(coordinator.uid),
                    self._method,
                    self.options,
                )
                self._workers[coordinator.uid] = worker
            elif worker.coordinator != coordinator:
                worker.relocate(coordinator)
            return worker

    def enqueue(self, job: Job, targets: list[Speaker], audio: Future[Prepared]) -> None:
        """Queue `job` on every distinct coordinator among `targets`."""
        by_coordinator: dict[str, list[Speaker]] = {}
        for speaker in targets:
            by_coordinator.setdefault(speaker.coordinator_uid, []).append(speaker)
        for speakers in by_coordinator.values():
            worker = self.worker_for(speakers[0])
            hold = ClipHold(audio, self._pins)
            worker.submit(PlayItem(job, audio, [s.name for s in speakers], hold))

    @property
    def workers(self) -> list[CoordinatorWorker]:
        with self._lock:
            return list(self._workers.values())

    def stuck(self, limit: float) -> list[str]:
        now = time.monotonic()
        return [
            w.coordinator.name
            for w in self.workers
            if w.busy_since is not None and now - w.busy_since > limit
        ]

    def stop(self, timeout: float = 5.0, grace: float = 0.0) -> None:
        """Let the clips playing finish within `grace`, cut the rest, restore, end.

        Every deadline is shared by all workers: Compose allows one stop_grace_period for
        the whole process. After `grace`, `timeout` is left for cutting and restoring.
        """
        workers = self.workers
        for worker in workers:
            worker.signal_stop()
        finish_by = time.monotonic() + grace
        playing = [w for w in workers if not w.finished(max(0.0, finish_by - time.monotonic()))]
        for worker in playing:
            logger.warning(
                "Playback on %s still busy after SONOS_STOP_GRACE (%g s); cutting its "
                "announcement short",
                worker.coordinator.name,
                grace,
            )
            worker.cut_short()
        deadline = time.monotonic() + timeout
        for worker in playing:
            worker.join(max(0.0, deadline - time.monotonic()))
