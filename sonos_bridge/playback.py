"""One queue per group coordinator: snapshot once, announcements in order, restore once.

`play_uri` only works on a group's coordinator, and two announcements sent to one group
must neither interleave nor each snapshot the other's clip as "what was playing". So every
coordinator gets a worker thread that drains its queue in batches; coordinators play
concurrently. The end of a clip is observed through the transport state, bounded by the
clip's length plus a margin.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from functools import partial
from xml.sax.saxutils import escape

from sonos_bridge.announcement import Announcement
from sonos_bridge.errors import BridgeError, SpeakerTimeoutError
from sonos_bridge.results import Result, Status, elapsed_ms
from sonos_bridge.snapshot import GroupSnapshot, restore, take_snapshot
from sonos_bridge.speakers import Speaker
from sonos_bridge.tts.cache import Clip
from sonos_bridge.upnp import Player, run_parallel

logger = logging.getLogger(__name__)

FINISHED_STATES = {"STOPPED", "PAUSED_PLAYBACK", "NO_MEDIA_PRESENT"}
ACTIVE_STATES = {"PLAYING", "TRANSITIONING"}


@dataclass
class PlaybackOptions:
    """Timing of the workers; tests and the bench poll faster than real speakers need."""

    timeout: float = 5.0  # per SOAP call
    margin: float = 10.0  # beyond the clip's length before giving up on the end
    poll_interval: float = 0.25
    start_grace: float = 1.0  # STOPPED this soon after Play means "not started yet"
    linger: float = 0.2  # wait this long for a next announcement before restoring
    speech_timeout: float = 60.0


@dataclass
class Outcome:
    speakers: list[str]
    status: Status
    error: str | None = None
    latency_ms: int | None = None
    warnings: list[str] = field(default_factory=list)
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
            speakers=self.speakers,
            error="; ".join(errors) or None,
            latency_ms=max(latencies) if latencies else elapsed_ms(self.announcement.received_at),
            warnings=warnings,
        )


@dataclass
class PlayItem:
    job: Job
    clip: Future[Clip]
    speakers: list[str]  # the requested names this coordinator plays for


def didl_for(url: str, title: str) -> str:
    """Minimal track metadata: Sonos shows the title and knows the stream is MP3."""
    return (
        '<DIDL-Lite xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:upnp="urn:schemas-upnp-org:metadata-1-0/upnp/" '
        'xmlns="urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/">'
        '<item id="sonos-bridge" parentID="-1" restricted="true">'
        f"<dc:title>{escape(title)}</dc:title>"
        "<upnp:class>object.item.audioItem.musicTrack</upnp:class>"
        f'<res protocolInfo="http-get:*:audio/mpeg:*">{escape(url)}</res>'
        "</item></DIDL-Lite>"
    )


class CoordinatorWorker:
    """Plays the announcements queued for one group coordinator, in order."""

    def __init__(
        self,
        coordinator: Speaker,
        members: Callable[[], list[Speaker]],
        url_for: Callable[[Clip, str], str],
        options: PlaybackOptions,
    ) -> None:
        self.coordinator = coordinator
        self._members = members
        self._url_for = url_for
        self.options = options
        self.queue: queue.Queue[PlayItem | None] = queue.Queue()
        self.busy_since: float | None = None
        self.snapshots = 0
        self.restores = 0
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="upnp")
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"play-{coordinator.name}", daemon=True
        )
        self._thread.start()

    def submit(self, item: PlayItem) -> None:
        self.queue.put(item)

    def stop(self, timeout: float) -> None:
        self._stopping.set()
        self.queue.put(None)
        self._thread.join(timeout)
        self._executor.shutdown(wait=False)

    # ------------------------------------------------------------ thread
    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self._stopping.is_set():
                item.job.finish_part(Outcome(item.speakers, "failed", "the bridge is stopping"))
                continue
            try:
                self._batch(item)
            except Exception:
                logger.exception("Worker for %s failed; it keeps serving", self.coordinator.name)
            finally:
                self.busy_since = None

    def _next(self) -> PlayItem | None:
        if self._stopping.is_set():
            return None
        try:
            item = self.queue.get(timeout=self.options.linger)
        except queue.Empty:
            return None
        if item is None:
            self.queue.put(None)  # let `_run` see the stop request after the restore
        return item

    def _batch(self, first: PlayItem) -> None:
        """Announcements back to back: one snapshot before the first, one restore after.

        Each result is published when the next announcement starts; the last one waits
        for the restore so that what could not be restored is reported in it.
        """
        options = self.options
        coordinator = Player(self.coordinator.name, self.coordinator.ip, options.timeout)
        members = [Player(m.name, m.ip, options.timeout) for m in self._members()] or [coordinator]
        snapshot: GroupSnapshot | None = None
        held: tuple[PlayItem, Outcome] | None = None
        item: PlayItem | None = first
        try:
            while item is not None:
                self.busy_since = time.monotonic()
                try:
                    outcome, taken = self._prepare_and_play(item, coordinator, members, snapshot)
                except Exception as exc:  # a bug must still leave the request answered
                    logger.exception("Playing request %s failed", item.job.announcement.id)
                    outcome, taken = (
                        Outcome(item.speakers, "failed", f"internal error: {exc}"),
                        None,
                    )
                snapshot = snapshot or taken
                if held is not None:
                    held[0].job.finish_part(held[1])
                    held = None
                if snapshot is None:  # nothing on the speaker was touched: answer now
                    item.job.finish_part(outcome)
                    if outcome.speaker_down and outcome.error:
                        self._fail_queued(outcome.error)
                else:
                    held = (item, outcome)
                item = self._next()
        finally:
            if snapshot is not None:
                self.busy_since = time.monotonic()
                try:
                    warnings = restore(snapshot, self._executor)
                except Exception as exc:
                    logger.exception("Restoring %s failed", self.coordinator.name)
                    warnings = [f"could not restore {self.coordinator.name}: {exc}"]
                self.restores += 1
                for warning in warnings:
                    logger.warning("Restoring %s: %s", self.coordinator.name, warning)
                if held is not None:
                    held[1].warnings.extend(warnings)
            if held is not None:
                held[0].job.finish_part(held[1])

    def _fail_queued(self, error: str) -> None:
        """A dead speaker: answer what waits for it now instead of one timeout each."""
        while True:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                return
            if item is None:
                self.queue.put(None)
                return
            item.job.finish_part(Outcome(item.speakers, "failed", error))

    def _prepare_and_play(
        self,
        item: PlayItem,
        coordinator: Player,
        members: list[Player],
        snapshot: GroupSnapshot | None,
    ) -> tuple[Outcome, GroupSnapshot | None]:
        """Play one item; returns its outcome and the snapshot if this call took it."""
        announcement = item.job.announcement
        if announcement.expired():
            logger.info(
                "Request %s is %.1f s old (max_age %g s); not speaking it",
                announcement.id,
                announcement.age(),
                announcement.max_age or 0,
            )
            error = f"older than max_age={announcement.max_age:g} s when its turn came"
            return Outcome(item.speakers, "expired", error), None
        try:
            clip = item.clip.result(timeout=self.options.speech_timeout)
        except FutureTimeout:
            return Outcome(item.speakers, "failed", "speech synthesis took too long"), None
        except BridgeError as exc:
            return Outcome(item.speakers, "failed", str(exc)), None
        taken = None
        try:
            if snapshot is None:
                snapshot = taken = take_snapshot(coordinator, members, self._executor)
                self.snapshots += 1
            latency = self._play(clip, announcement, coordinator, snapshot)
        except SpeakerTimeoutError as exc:
            return Outcome(item.speakers, "failed", str(exc), speaker_down=True), taken
        except BridgeError as exc:
            return Outcome(item.speakers, "failed", str(exc)), taken
        outcome = Outcome(item.speakers, "played", latency_ms=latency)
        if taken is not None:
            outcome.warnings.extend(taken.warnings)
        return outcome, taken

    def _play(
        self, clip: Clip, announcement: Announcement, coordinator: Player, snapshot: GroupSnapshot
    ) -> int:
        url = self._url_for(clip, coordinator.ip)
        calls: list[Callable[[], object]] = [
            lambda: coordinator.av(
                "SetAVTransportURI",
                ("CurrentURI", url),
                ("CurrentURIMetaData", didl_for(url, announcement.text[:80])),
            )
        ]
        for member in snapshot.members:
            # Without a volume of its own an announcement plays at the group's own volume.
            wanted = member.volume if announcement.volume is None else announcement.volume
            if wanted != member.current_volume:
                calls.append(partial(member.player.set_volume, wanted))
                member.current_volume = wanted
            if member.current_muted:
                calls.append(partial(member.player.set_mute, False))
                member.current_muted = False
        run_parallel(self._executor, calls)
        coordinator.av("Play", ("Speed", 1))
        latency = elapsed_ms(announcement.received_at)
        logger.debug("%s plays %s (%.1f s)", coordinator.name, url, clip.duration)
        self._wait_for_end(coordinator, clip)
        return latency

    def _wait_for_end(self, coordinator: Player, clip: Clip) -> None:
        options = self.options
        started = time.monotonic()
        deadline = started + clip.duration + options.margin
        seen_active = False
        while not self._stopping.is_set():
            state = coordinator.transport_state()
            if state in ACTIVE_STATES:
                seen_active = True
            elif state in FINISHED_STATES and (
                seen_active or time.monotonic() - started > options.start_grace
            ):
                return
            if time.monotonic() > deadline:
                coordinator.av("Stop", ("Speed", 1))
                raise SpeakerTimeoutError(
                    f"{coordinator.name} did not finish the {clip.duration:.1f} s clip within "
                    f"{clip.duration + options.margin:.0f} s (state {state})"
                )
            self._stopping.wait(options.poll_interval)


class PlaybackManager:
    """Routes announcements to the worker of each target's coordinator."""

    def __init__(
        self,
        members: Callable[[str], list[Speaker]],
        url_for: Callable[[Clip, str], str],
        options: PlaybackOptions,
    ) -> None:
        self._members = members
        self._url_for = url_for
        self.options = options
        self._workers: dict[str, CoordinatorWorker] = {}
        self._lock = threading.Lock()

    def worker_for(self, speaker: Speaker) -> CoordinatorWorker:
        uid = speaker.coordinator_uid
        with self._lock:
            worker = self._workers.get(uid)
            if worker is None or worker.coordinator.ip != speaker.coordinator_ip:
                coordinator = Speaker(
                    name=speaker.coordinator_name,
                    uid=uid,
                    ip=speaker.coordinator_ip,
                    coordinator_uid=uid,
                    coordinator_name=speaker.coordinator_name,
                    coordinator_ip=speaker.coordinator_ip,
                )
                worker = CoordinatorWorker(
                    coordinator, lambda: self._members(uid), self._url_for, self.options
                )
                self._workers[uid] = worker
            return worker

    def enqueue(self, job: Job, targets: list[Speaker], clip: Future[Clip]) -> None:
        """Queue `job` on every distinct coordinator among `targets`."""
        by_coordinator: dict[str, list[Speaker]] = {}
        for speaker in targets:
            by_coordinator.setdefault(speaker.coordinator_uid, []).append(speaker)
        for speakers in by_coordinator.values():
            worker = self.worker_for(speakers[0])
            worker.submit(PlayItem(job, clip, [s.name for s in speakers]))

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

    def stop(self, timeout: float = 5.0) -> None:
        for worker in self.workers:
            worker.stop(timeout)
