"""Where every request meets the house rules: per room, play now, hold, or answer at once.

The service hands each validated request (whatever its entry point: sonos/tts, a Home
Assistant notify entity, `say`) with its resolved rooms to `RulesGate.admit`. Each room
is judged by `HouseRules.decide` with its do-not-disturb switch and the clock, then

- the rooms that play are queued on their coordinators at once (the announcement's
  `Levels` sets each room's volume when it plays);
- the rooms held wait, together, as one part of the request in `HeldRequests`, out of
  every queue; when they are due (quiet hours over, a switch changed) they are judged
  again, and those that play then are queued like a new request;
- each room skipped (a rule) or expired (max_age) is answered as its own part.

The request's one result is published when every part is done. A request held when the
bridge stops stays unanswered and so unacknowledged: the broker delivers it again.

Threads: `admit` runs on paho's network thread; `_release` on the held thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from sonos_bridge.errors import RequestError
from sonos_bridge.playback.jobs import Job, Outcome
from sonos_bridge.request.announcement import Announcement
from sonos_bridge.request.dnd import DndSwitches
from sonos_bridge.request.held import HeldRequests
from sonos_bridge.request.house_rules import Ask, Decision, Hold, HouseRules, Play, Room, Skip
from sonos_bridge.request.levels import Levels
from sonos_bridge.request.results import Result
from sonos_bridge.speakers import Speaker

logger = logging.getLogger(__name__)

Publish = Callable[[Result, Announcement], None]
# Queues a job's rooms that play now; True: as one stream from a temporary group (in step).
Enqueue = Callable[[Job, list[Speaker], bool], None]
# Whether these rooms of a request play in step (the request's "sync", else SONOS_SYNC).
InStepRule = Callable[[Announcement, list[Speaker]], bool]
Resolve = Callable[[list[str]], list[Speaker]]


@dataclass(frozen=True, slots=True)
class HeldPart:
    """The rooms of one request that wait, as one part of its job."""

    job: Job
    announcement: Announcement
    ask: Ask  # as first judged: its max_age counts from its first arrival
    rooms: tuple[str, ...]
    since: float  # epoch seconds the hold began

    def finish(self, result: Result, now: float) -> None:
        """The rooms' own result becomes this part's outcome in the request's result."""
        self.job.finish_part(
            Outcome(
                list(self.rooms),
                result.status,
                result.error,
                result.latency_ms,
                tuple(result.warnings),
                held_ms=round((now - self.since) * 1000),
            )
        )


class RulesGate:
    """Judges each request per room and routes it: queued, held or answered."""

    def __init__(
        self,
        rules: HouseRules,
        switches: DndSwitches,
        *,
        enqueue: Enqueue,
        resolve: Resolve,
        in_step: InStepRule,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rules = rules
        self.switches = switches
        self._enqueue = enqueue
        self._in_step = in_step
        self._resolve = resolve
        self._clock = clock
        self.held: HeldRequests[HeldPart] = HeldRequests(self._release, clock)

    def with_levels(self, announcement: Announcement, ask: Ask) -> Announcement:
        """The announcement with its `Levels` (each room's volume, decided as it plays)."""
        if announcement.levels is not None:
            return announcement
        return replace(announcement, levels=Levels(self.rules, ask, self._clock))

    def ask(self, announcement: Announcement) -> Ask:
        # received_at is monotonic; the rules compare it with wall-clock quiet hours.
        first_arrival = self._clock() - announcement.age()
        return Ask(
            priority=announcement.options.priority,
            volume=announcement.volume,
            received_at=first_arrival,
            max_age=announcement.max_age,
        )

    def decide(self, ask: Ask, targets: list[Speaker]) -> list[Decision]:
        now = self._clock()
        return [
            self.rules.decide(ask, Room(s.name, self.switches.is_on(s.name)), now) for s in targets
        ]

    def admit(
        self,
        announcement: Announcement,
        targets: list[Speaker],
        publish: Publish,
        held_since: float | None = None,
        ask: Ask | None = None,
    ) -> None:
        """Queue, hold or answer each room of one request; one result once all are done."""
        ask = ask or self.ask(announcement)
        announcement = self.with_levels(announcement, ask)
        decisions = self.decide(ask, targets)
        plays = [s for s, d in zip(targets, decisions, strict=True) if isinstance(d, Play)]
        holds = [(s, d) for s, d in zip(targets, decisions, strict=True) if isinstance(d, Hold)]
        skips = [(s, d) for s, d in zip(targets, decisions, strict=True) if isinstance(d, Skip)]
        in_step = self._in_step(announcement, plays)
        played_parts = 1 if in_step else len({s.coordinator_uid for s in plays})
        parts = played_parts + (1 if holds else 0) + len(skips)
        several = in_step if len(targets) > 1 else None
        job = Job(announcement, [s.name for s in targets], parts, publish, in_step=several)
        held_ms = None if held_since is None else round((self._clock() - held_since) * 1000)
        for speaker, skip in skips:
            logger.info("Request %s not spoken in %s: %s", announcement.id, speaker.name, skip.rule)
            job.finish_part(Outcome([speaker.name], skip.status, skip.rule, held_ms=held_ms))
        if holds:
            self._hold(HeldPart(job, announcement, ask, (), 0.0), holds, held_since)
        if plays:
            self._enqueue(job, plays, in_step)

    def _hold(self, part: HeldPart, holds: list[tuple[Speaker, Hold]], since: float | None) -> None:
        rooms = tuple(s.name for s, _ in holds)
        part = replace(part, rooms=rooms, since=self._clock() if since is None else since)
        announcement = part.announcement
        until = _earliest(hold.until for _, hold in holds)
        for speaker, hold in holds:
            logger.info("Request %s for %s: %s", announcement.id, speaker.name, hold.rule)
        self.held.hold(part, until)

    def _release(self, part: HeldPart) -> None:
        """Judge the held rooms again: still held as a whole, or routed anew."""
        announcement = part.announcement
        try:
            targets = self._resolve(list(part.rooms))
        except RequestError as exc:
            result = Result(announcement.id, "failed", part.rooms, str(exc))
            part.finish(result, self._clock())
            return
        decisions = self.decide(part.ask, targets)
        if all(isinstance(d, Hold) for d in decisions):
            until = _earliest(d.until for d in decisions if isinstance(d, Hold))
            self.held.hold(part, until)
            return
        logger.info("Request %s released for %s", announcement.id, ", ".join(part.rooms))
        self.admit(
            announcement,
            targets,
            lambda result, _played: part.finish(result, self._clock()),
            held_since=part.since,
            ask=part.ask,
        )


def _earliest(times: Iterable[float | None]) -> float | None:
    known = [t for t in times if t is not None]
    return min(known) if known else None
