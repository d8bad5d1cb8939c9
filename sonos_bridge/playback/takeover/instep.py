"""Whole-house announcements in step: join the rooms, play one stream, put every group back.

Sonos keeps speakers in step only inside a group: one stream per group (takeover) or one
clip per speaker (S2) start within milliseconds of each other, but each speaker buffers on
its own and rooms within earshot echo. So an in-step announcement

1. reads the zone group topology and snapshots every affected group at once (source,
   position, play state, each member's volume and mute);
2. leaves out a group playing what could not come back after it left its group (Spotify
   Connect, AirPlay, another room's line-in): it is `alone`, and its worker plays it the
   usual way (a clip on S2, a takeover on S1) at the same moment;
3. saves the topology with the snapshots in STATE_DIR (`InStepRecord`) before anything
   changes, so a bridge killed while rooms are joined re-forms them at its next start;
4. joins every other room to one temporary coordinator (the coordinator of the largest
   group: the fewest speakers move), all at once; a room that refuses or does not answer
   is named in `failed` and the others go on;
5. plays the clip from the temporary coordinator with a takeover session (same levels,
   same end detection as one group); only that coordinator fetches the clip;
6. re-forms every original group with its original coordinator: the leaves first, then the
   joins and each group's restore at once (the temporary coordinator's own music once its
   guests have gone); then reads the topology back and repairs a difference once.

Threads: `start`, `play` and `finish` run on the coordinator worker thread that leads the
request's rendezvous (`playback.queue_order`) while the other workers wait. Speaker calls
run on this object's executors: `instep` runs one task per group (a snapshot, a restore),
`instep-upnp` the single SOAP calls, so a group's task never waits for a slot its own calls
need. The temporary coordinator's takeover state (its `upnp` executor and transport
subscription) is kept per coordinator for the next run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial

from sonos_bridge.audio.prepared import Prepared
from sonos_bridge.audio.server import is_clip_url
from sonos_bridge.errors import SpeakerError, SpeakerUnreachableError
from sonos_bridge.playback.takeover.instep_record import InStepRecord, InStepStore
from sonos_bridge.playback.takeover.method import (
    Players,
    Takeover,
    TakeoverGroup,
    TakeoverSession,
)
from sonos_bridge.playback.takeover.regroup import carry_out, check, players_for, read_topology
from sonos_bridge.playback.takeover.snapshot import (
    UNRESTORABLE,
    GroupSnapshot,
    restore,
    take_snapshot,
)
from sonos_bridge.playback.takeover.topology import Plan, Topology, ZoneGroup, merged, plan
from sonos_bridge.playback.takeover.upnp import Player
from sonos_bridge.request.announcement import Announcement
from sonos_bridge.speakers import Speaker

logger = logging.getLogger(__name__)


class InStep:
    """The in-step method: one for the bridge, one `InStepRun` per rendezvous."""

    def __init__(self, takeover: Takeover, store: InStepStore) -> None:
        self.takeover = takeover
        self.store = store
        self.groups = ThreadPoolExecutor(max_workers=16, thread_name_prefix="instep")
        self.calls = ThreadPoolExecutor(max_workers=32, thread_name_prefix="instep-upnp")
        self._leaders: dict[str, TakeoverGroup] = {}
        self._lock = threading.Lock()

    @property
    def timeout(self) -> float:
        return self.takeover.options.timeout

    def leader_group(self, uid: str, stopping: threading.Event) -> TakeoverGroup:
        """The temporary coordinator's takeover state, cut short by this run's `stopping`."""
        with self._lock:
            group = self._leaders.get(uid)
            if group is None:
                group = self._leaders[uid] = self.takeover.attach(uid, stopping)
        group.stopping = stopping
        return group

    def start(self, coordinators: tuple[Speaker, ...], stopping: threading.Event) -> InStepRun:
        return InStepRun(self, coordinators, stopping)

    def leftovers(self) -> list[str]:
        return [record.key for record in self.store.leftovers()]

    def recover(self, key: str) -> None:
        """Re-form what a killed bridge left joined; restore the music the user left."""
        record = self.store.load(key)
        if record is None:
            return
        players = players_for(record.topology, self.timeout)
        try:
            for warning in recover(record, players, self.calls):
                logger.warning("Re-forming the groups after a crash: %s", warning)
        except SpeakerError as exc:
            logger.warning("Cannot re-form the groups after a crash: %s", exc)
            if isinstance(exc, SpeakerUnreachableError):
                return  # tried again at the next start
        self.store.remove(key)

    def close(self) -> None:
        with self._lock:
            leaders, self._leaders = list(self._leaders.values()), {}
        for group in leaders:
            group.close()
        self.groups.shutdown(wait=False)
        self.calls.shutdown(wait=False)


class InStepRun:
    """One in-step batch: prepared (rooms joined) on creation, then `play`, `finish`."""

    def __init__(
        self, method: InStep, coordinators: Sequence[Speaker], stopping: threading.Event
    ) -> None:
        self.method = method
        self.stopping = stopping
        self.alone: dict[str, str] = {}
        self.failed: dict[str, str] = {}
        self.record: InStepRecord | None = None
        self.unjoined: set[str] = set()  # rooms that refused to join: their music plays on
        self._session: TakeoverSession | None = None
        topology = self._read(coordinators)
        self.players = players_for(topology, method.timeout)
        included = self._snapshots(topology, coordinators)
        if included:
            self._join(topology, included)

    # ----------------------------------------------------------------- prepare
    def _read(self, coordinators: Sequence[Speaker]) -> Topology:
        errors: list[str] = []
        for speaker in coordinators:  # any speaker knows the whole household
            try:
                return read_topology(Player(speaker.name, speaker.ip, self.method.timeout))
            except SpeakerError as exc:
                errors.append(str(exc))
        raise SpeakerUnreachableError("; ".join(errors) or "no speaker to ask")

    def _snapshots(
        self, topology: Topology, coordinators: Sequence[Speaker]
    ) -> list[GroupSnapshot]:
        """Every group's snapshot; sorts out the groups that stay alone or failed."""
        groups: list[ZoneGroup] = []
        for speaker in coordinators:
            group = topology.group_of(speaker.coordinator_uid)
            if group is None or group.coordinator != speaker.coordinator_uid:
                self.failed[speaker.name] = "not a group's coordinator in the household now"
            else:
                groups.append(group)
        included = []
        taken_all = list(self.method.groups.map(self._snapshot, groups))
        for group, taken in zip(groups, taken_all, strict=True):
            name = topology.names.get(group.coordinator, group.coordinator)
            if isinstance(taken, SpeakerError):
                self.failed[name] = str(taken)
            elif taken.source in UNRESTORABLE and taken.was_playing:
                self.alone[group.coordinator] = (
                    f"{name} is not in step: it plays from {taken.source.value}, which "
                    "could not come back after it left its group"
                )
            else:
                included.append(taken)
        return included

    def _snapshot(self, group: ZoneGroup) -> GroupSnapshot | SpeakerError:
        try:
            members = [self.players[m.uid] for m in group.visible]
            return take_snapshot(self.players[group.coordinator], members, self.method.calls)
        except SpeakerError as exc:
            return exc

    def _join(self, topology: Topology, included: list[GroupSnapshot]) -> None:
        """Save the record, then join every room to the temporary coordinator."""
        grouping = topology.coordinators
        chosen = {s.coordinator_uid for s in included}
        leader, target = merged(grouping, chosen)
        scope = tuple(uid for uid, c in grouping.items() if c in chosen)
        self.record = InStepRecord(leader, scope, topology, tuple(included))
        durable: Callable[[], None] = lambda: None  # noqa: E731
        try:
            durable = self.method.store.save(self.record)
        except OSError as exc:
            logger.error("Could not save the groups before joining them: %s", exc)
        steps = plan(grouping, target)
        joined = self.method.groups.submit(carry_out, steps, self.players, self.method.calls)
        durable()
        for uid, error in joined.result().items():
            self.unjoined.add(uid)
            self.failed[topology.names.get(uid, uid)] = f"did not join the others: {error}"

    # -------------------------------------------------------------------- play
    def play(self, audio: Prepared, announcement: Announcement) -> int:
        """Play once from the temporary coordinator; the latency until `Play`."""
        if self.record is None:
            raise SpeakerError("no room could join the announcement")
        if self._session is None:
            self._session = self._temporary_session(self.record)
        return self._session.play(audio, announcement)

    def _temporary_session(self, record: InStepRecord) -> TakeoverSession:
        """A takeover session over the temporary group: its levels are every joined
        member's own, so an announcement without a volume plays at each room's."""
        names = record.names
        levels = tuple(
            m for s in record.snapshots for m in s.members if names.get(m.uid) not in self.failed
        )
        own = next(s for s in record.snapshots if s.coordinator_uid == record.leader)
        snapshot = replace(own, members=levels)
        leader = self.players[record.leader]
        group = self.method.leader_group(record.leader, self.stopping)
        group.watch.ensure(leader, group.executor)
        members = {m.uid: self.players[m.uid] for m in levels}
        return TakeoverSession(group, Players(leader, members), snapshot, [], None)

    # ------------------------------------------------------------------ finish
    def finish(self) -> list[str]:
        """Re-form every group, restore its music, read the groups back; the warnings."""
        record = self.record
        if record is None:
            return []
        warnings = reform(
            record,
            self.players,
            self.method.groups,
            self.method.calls,
            keep=lambda snapshot: snapshot.coordinator_uid not in self.unjoined,
        )
        self.method.store.remove(record.key)
        return warnings


def reform(
    record: InStepRecord,
    players: dict[str, Player],
    groups: ThreadPoolExecutor,
    calls: ThreadPoolExecutor,
    *,
    keep: Callable[[GroupSnapshot], bool] = lambda _snapshot: True,
) -> list[str]:
    """The groups of `record` as they were, each with its music (where `keep` says so).

    Leaves first; then at once: every join followed by the temporary coordinator's own
    restore (its guests gone first), and every other group's restore.
    """
    names = record.names
    reader = players.get(record.leader) or next(iter(players.values()))
    warnings: list[str] = []
    try:
        current = read_topology(reader).coordinators
    except SpeakerError as exc:
        current = {uid: record.leader for uid in record.scope}
        warnings.append(f"could not read the groups after the announcement: {exc}")
    restoring = [s for s in record.snapshots if keep(s)]
    steps = plan(current, record.grouping)
    failed = carry_out(Plan(leaves=steps.leaves), players, calls)
    own = [s for s in restoring if s.coordinator_uid == record.leader]
    others = [s for s in restoring if s.coordinator_uid != record.leader]

    def joins_then_own() -> list[str]:
        failed.update(carry_out(Plan(joins=steps.joins), players, calls))
        return [w for s in own for w in _restore(s, players, calls)]

    tasks = [groups.submit(joins_then_own)]
    tasks += [groups.submit(partial(_restore, s, players, calls)) for s in others]
    for task in tasks:
        warnings += task.result()
    warnings += [f"could not re-form {names.get(u, u)}: {e}" for u, e in failed.items()]
    return warnings + check(record.topology, list(record.scope), reader, players, calls).warnings


def _restore(
    snapshot: GroupSnapshot, players: dict[str, Player], calls: ThreadPoolExecutor
) -> list[str]:
    coordinator = players[snapshot.coordinator_uid]
    return restore(snapshot, coordinator, players, calls).warnings


def recover(
    record: InStepRecord, players: dict[str, Player], calls: ThreadPoolExecutor
) -> list[str]:
    """After a crash while rooms were joined: re-form; restore a group's music unless the
    user started something else since (its coordinator plays neither a clip nor a guest's
    stream nor nothing)."""

    def untouched(snapshot: GroupSnapshot) -> bool:
        uri = players[snapshot.coordinator_uid].av("GetMediaInfo").get("CurrentURI", "")
        return not uri or is_clip_url(uri) or uri.startswith("x-rincon:")

    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="instep") as groups:
        return reform(record, players, groups, calls, keep=untouched)
