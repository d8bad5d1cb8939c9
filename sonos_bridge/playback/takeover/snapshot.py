"""Saving what a group was playing before announcements, and putting it back after.

SoCo's own `Snapshot` works against the fake speaker, but it saves one speaker only (a
group's other members keep the announcement volume), reads bass, treble and loudness we
never change with one sequential call each before the first announcement can start, and
skips a cloud queue without saying so. This one records exactly what an announcement
disturbs (source, position, play/pause, volume and mute of every member) with the calls in
flight at once, and reports, in words, what it could not put back.

A snapshot is a plain value that survives a round trip through JSON, so that a bridge
killed in the middle of an announcement can still restore the group when it starts again
(see `snapshot_store`). Members are named by UID: their addresses may change meanwhile.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field
from enum import Enum
from functools import partial
from typing import Any

from sonos_bridge.errors import SpeakerError, SpeakerUnreachableError
from sonos_bridge.playback.takeover.upnp import Player, run_parallel

logger = logging.getLogger(__name__)


class Source(Enum):
    NOTHING = "nothing"
    QUEUE = "queue"
    CLOUD_QUEUE = "cloud queue"
    STREAM = "radio stream"
    TRACK = "track"
    TV = "TV input"
    LINE_IN = "line-in"
    VIRTUAL_LINE_IN = "AirPlay or Spotify Connect"
    GROUP_MEMBER = "another group"


_SOURCE_PATTERNS: list[tuple[str, Source]] = [
    (r"^x-rincon-queue:.*#0$", Source.QUEUE),
    (r"^x-rincon-queue:", Source.CLOUD_QUEUE),
    (r"^x-sonos-htastream:", Source.TV),
    (r"^x-rincon-stream:", Source.LINE_IN),
    (r"^x-sonos-vli:", Source.VIRTUAL_LINE_IN),
    (r"^x-rincon:", Source.GROUP_MEMBER),
    (r"^(x-sonosapi-stream|x-sonosapi-radio|x-rincon-mp3radio|hls-radio|aac|x-sonosapi-hls):",
     Source.STREAM),
]  # fmt: skip
# Sources whose position means something and can be sought back to.
_SEEKABLE = {Source.QUEUE, Source.TRACK}
# Sources the bridge cannot start again by itself.
UNRESTORABLE = {Source.CLOUD_QUEUE, Source.VIRTUAL_LINE_IN, Source.GROUP_MEMBER}
ACTIVE_STATES = ("PLAYING", "TRANSITIONING")


def classify(uri: str) -> Source:
    if not uri:
        return Source.NOTHING
    for pattern, source in _SOURCE_PATTERNS:
        if re.match(pattern, uri):
            return source
    return Source.TRACK


@dataclass(frozen=True, slots=True)
class MemberLevel:
    """One group member, and its volume and mute before the first announcement."""

    uid: str
    name: str
    ip: str
    volume: int
    muted: bool


@dataclass(frozen=True, slots=True)
class GroupSnapshot:
    """What one group was doing before the first announcement of a batch."""

    coordinator_uid: str
    coordinator_name: str
    coordinator_ip: str
    uri: str
    metadata: str
    transport_state: str
    source: Source
    members: tuple[MemberLevel, ...]
    track: int = 0
    position: str = ""

    @property
    def was_playing(self) -> bool:
        return self.transport_state in ACTIVE_STATES

    @property
    def warnings(self) -> list[str]:
        """What the user should hear about before the restore even starts."""
        if self.source in UNRESTORABLE and self.was_playing:
            return [
                f"{self.coordinator_name} was playing from {self.source.value}, which the "
                "bridge cannot resume; start it again in its app"
            ]
        return []

    def to_json(self) -> str:
        document = asdict(self)
        document["source"] = self.source.value
        return json.dumps(document, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> GroupSnapshot:
        """Raises ValueError, TypeError or KeyError for anything but a snapshot's JSON."""
        document: dict[str, Any] = json.loads(text)
        if not isinstance(document, dict):
            raise ValueError(f"a snapshot is a JSON object, not {type(document).__name__}")
        members = tuple(MemberLevel(**member) for member in document.pop("members"))
        source = Source(document.pop("source"))
        return cls(members=members, source=source, **document)


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """What could not be put back, and whether the group did not answer at all."""

    warnings: list[str] = field(default_factory=list)
    unreachable: bool = False


def take_snapshot(coordinator: Player, members: list[Player], executor: Executor) -> GroupSnapshot:
    """Read the group's state with the calls in flight at once (it delays the announcement).

    The position is read only for sources that have one (queue, track), after the rest.
    """
    results = run_parallel(
        executor,
        [
            lambda: coordinator.av("GetMediaInfo"),
            lambda: coordinator.av("GetTransportInfo"),
            *[m.volume for m in members],
            *[m.muted for m in members],
        ],
    )
    media, transport = results[0], results[1]
    assert isinstance(media, dict) and isinstance(transport, dict)
    uri = media.get("CurrentURI", "")
    source = classify(uri)
    track, position = _position_of(coordinator) if source in _SEEKABLE else (0, "")
    snapshot = GroupSnapshot(
        coordinator_uid=coordinator.uid,
        coordinator_name=coordinator.name,
        coordinator_ip=coordinator.ip,
        uri=uri,
        metadata=media.get("CurrentURIMetaData", ""),
        transport_state=transport.get("CurrentTransportState", ""),
        source=source,
        members=_levels(members, results[2:]),
        track=track,
        position=position,
    )
    logger.debug(
        "Snapshot of %s: %s (%s) %s, volumes %s",
        coordinator.name,
        source.value,
        uri,
        snapshot.transport_state,
        [m.volume for m in snapshot.members],
    )
    return snapshot


def _position_of(coordinator: Player) -> tuple[int, str]:
    """The track number and the time into it, for sources that can be resumed there."""
    where = coordinator.av("GetPositionInfo")
    return int(where.get("Track") or 0), where.get("RelTime", "")


def _levels(members: list[Player], answers: list[object]) -> tuple[MemberLevel, ...]:
    """Each member's level from `answers`: every member's volume, then every mute."""
    volumes, mutes = answers[: len(members)], answers[len(members) :]
    return tuple(
        MemberLevel(player.uid, player.name, player.ip, int(volume), bool(muted))  # type: ignore[call-overload]
        for player, volume, muted in zip(members, volumes, mutes, strict=True)
    )


def restore(
    snapshot: GroupSnapshot,
    coordinator: Player,
    members: Mapping[str, Player],
    executor: Executor,
) -> RestoreReport:
    """Put the group back; `members` maps each member's UID to how to reach it now.

    A group that does not answer the volume calls is not asked anything else: each more
    call would cost another SONOS_TIMEOUT for nothing.
    """
    # Volume first, so the resumed source does not play a moment at announcement volume.
    volume_calls: list[Callable[[], None]] = []
    for member in snapshot.members:
        player = members[member.uid]
        volume_calls.append(partial(player.set_volume, member.volume))
        volume_calls.append(partial(player.set_mute, member.muted))
    warnings: list[str] = []
    try:
        run_parallel(executor, volume_calls)
    except SpeakerUnreachableError as exc:
        return RestoreReport([f"could not restore {snapshot.coordinator_name}: {exc}"], True)
    except SpeakerError as exc:
        warnings.append(f"could not restore the volume: {exc}")
    source = snapshot.source
    if source in (Source.NOTHING, *UNRESTORABLE):
        return RestoreReport(warnings)
    try:
        _resume(snapshot, coordinator)
    except SpeakerError as exc:
        warnings.append(f"could not resume the {source.value} on {coordinator.name}: {exc}")
        return RestoreReport(warnings, isinstance(exc, SpeakerUnreachableError))
    return RestoreReport(warnings)


def _resume(snapshot: GroupSnapshot, coordinator: Player) -> None:
    coordinator.av(
        "SetAVTransportURI",
        ("CurrentURI", snapshot.uri),
        ("CurrentURIMetaData", snapshot.metadata),
    )
    if snapshot.source is Source.QUEUE and snapshot.track > 0:
        coordinator.av("Seek", ("Unit", "TRACK_NR"), ("Target", snapshot.track))
    if snapshot.source in _SEEKABLE and snapshot.position not in ("", "0:00:00", "NOT_IMPLEMENTED"):
        coordinator.av("Seek", ("Unit", "REL_TIME"), ("Target", snapshot.position))
    if snapshot.was_playing:
        coordinator.av("Play", ("Speed", 1))
