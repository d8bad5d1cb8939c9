"""In-step requests on the coordinator queues: one item on every group's queue, one leader.

An in-step request needs all its groups at once, so `PlaybackManager.enqueue` puts one
`InStepItem` on every affected coordinator's queue, holding those queues' locks in the
global order (`queue_order`). Each worker that reaches it arrives at the item's
rendezvous; the last one leads (`lead`): it asks the `InStepMethod` to join the rooms,
plays the announcement once, has every group that stays out (`alone`) played by its own
worker's method at the same moment, and re-forms the groups. The other workers wait, so
requests for any of those rooms queue behind it in arrival order, and rooms outside are
never delayed. Two in-step requests for the same groups back to back share one temporary
group: the leader takes the second from every queue before re-forming.

Threads: `lead` runs on the leading coordinator worker's thread; an alone group plays on a
`play-alone_<n>` thread with its own (waiting) worker's method, which nothing else uses
meanwhile.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Protocol

from sonos_bridge.audio.prepared import Prepared
from sonos_bridge.errors import BridgeError
from sonos_bridge.playback.jobs import ClipHold, Job, Outcome, PlayItem
from sonos_bridge.playback.method import InStepMethod, InStepRun
from sonos_bridge.playback.queue_order import Rendezvous
from sonos_bridge.speakers import Speaker

logger = logging.getLogger(__name__)


class Party(Protocol):
    """A coordinator worker as an in-step request sees it."""

    queue: queue.Queue[Any]

    def play_alone(self, item: PlayItem) -> Outcome: ...


@dataclass(frozen=True, slots=True)
class InStepItem:
    """One in-step request, on the queue of every coordinator it needs."""

    job: Job
    audio: Future[Prepared]
    speakers: list[str]  # every requested room
    hold: ClipHold
    meeting: Rendezvous
    coordinators: tuple[Speaker, ...]
    rooms: Mapping[str, list[str]]  # coordinator UID -> the requested rooms in its group
    parties: Mapping[str, Party]  # coordinator UID -> its worker
    method: InStepMethod
    regrouped: Callable[[], None]  # the groups were changed and put back: re-read them

    def answer(self, outcome: Outcome) -> None:
        self.hold.release()
        self.job.finish_part(outcome)


ClipFor = Callable[[InStepItem], Prepared | Outcome]


def _head(waiting: queue.Queue[Any]) -> object:
    with waiting.mutex:
        return waiting.queue[0] if waiting.queue else None


def next_in_step(item: InStepItem) -> InStepItem | None:
    """The next request when it is at the head of every queue of the same groups; taken.

    The other workers wait in `item`'s rendezvous, so nobody else reads these queues.
    """
    heads = [_head(party.queue) for party in item.parties.values()]
    following = heads[0]
    if not isinstance(following, InStepItem) or any(h is not following for h in heads):
        return None
    if following.meeting.parties != item.meeting.parties:
        return None
    for party in item.parties.values():
        party.queue.get_nowait()
    return following


def _alone_parts(
    item: InStepItem, run: InStepRun, pool: ThreadPoolExecutor
) -> list[Future[Outcome]]:
    """Every group that stays out plays now, with its own worker's method."""
    return [
        pool.submit(
            item.parties[uid].play_alone,
            PlayItem(item.job, item.audio, item.rooms.get(uid, []), item.hold),
        )
        for uid in run.alone
        if uid in item.parties
    ]


def play_one(item: InStepItem, run: InStepRun, audio: Prepared) -> Outcome:
    """The announcement in step, and at the same moment on the groups left out."""
    pool = ThreadPoolExecutor(max_workers=max(1, len(run.alone)), thread_name_prefix="play-alone")
    try:
        parts = _alone_parts(item, run, pool)
        try:
            latency = run.play(audio, item.job.announcement)
            outcome = Outcome(item.speakers, "played", latency_ms=latency)
        except BridgeError as exc:
            outcome = Outcome(item.speakers, "failed", str(exc))
        return _combined(outcome, run, [part.result() for part in parts])
    finally:
        pool.shutdown(wait=False)


def _combined(outcome: Outcome, run: InStepRun, alone: list[Outcome]) -> Outcome:
    """One outcome: rooms that could not take part fail it; alone groups add their say."""
    errors = [outcome.error] if outcome.error else []
    errors += [f"{room}: {error}" for room, error in run.failed.items()]
    errors += [f"{', '.join(o.speakers)}: {o.error}" for o in alone if o.status == "failed"]
    warnings = [*outcome.warnings, *run.alone.values(), *(w for o in alone for w in o.warnings)]
    status = "failed" if errors else outcome.status
    return replace(
        outcome, status=status, error="; ".join(errors) or None, warnings=tuple(warnings)
    )


def lead(item: InStepItem, clip_for: ClipFor) -> None:
    """Join, play (this request and any like it queued next), re-form, answer, release.

    The workers wait in the first request's rendezvous: that one is released at the end.
    """
    meeting = item.meeting
    run: InStepRun | None = None
    try:
        audio = clip_for(item)
        if isinstance(audio, Outcome):
            outcome = audio
        else:
            run = item.method.start(item.coordinators, item.meeting.stopping)
            outcome = play_one(item, run, audio)
            item, outcome = _following(item, outcome, run, clip_for, meeting)
    except BridgeError as exc:
        outcome = Outcome(item.speakers, "failed", str(exc))
    except Exception as exc:  # a bug must still leave the request answered
        logger.exception("In-step request %s failed", item.job.announcement.id)
        outcome = Outcome(item.speakers, "failed", f"internal error: {exc}")
    finally:
        warnings = _finish(run)
        if run is not None:
            item.regrouped()  # a speaker list read meanwhile saw the temporary group
    item.answer(replace(outcome, warnings=(*outcome.warnings, *warnings)))
    meeting.release()


def _following(
    item: InStepItem, outcome: Outcome, run: InStepRun, clip_for: ClipFor, meeting: Rendezvous
) -> tuple[InStepItem, Outcome]:
    """Requests for the same groups queued right behind: played in the same group."""
    while not meeting.stopping.is_set() and (following := next_in_step(item)):
        item.answer(outcome)
        item = following
        audio = clip_for(item)
        outcome = audio if isinstance(audio, Outcome) else play_one(item, run, audio)
    return item, outcome


def _finish(run: InStepRun | None) -> list[str]:
    if run is None:
        return []
    try:
        warnings = run.finish()
    except Exception as exc:
        logger.exception("Re-forming the groups failed")
        warnings = [f"could not re-form the groups: {exc}"]
    for warning in warnings:
        logger.warning("After an in-step announcement: %s", warning)
    return warnings
