"""Saving what a group was playing before announcements, and putting it back after.

SoCo's own `Snapshot` works against the fake speaker, but it saves one speaker only (a
group's other members keep the announcement volume), reads bass, treble and loudness we
never change with one sequential call each before the first announcement can start, and
skips a cloud queue without saying so. This one records exactly what an announcement
disturbs (source, position, play/pause, volume and mute of every member) with the calls in
flight at once, and reports, in words, what it could not put back.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from enum import Enum
from functools import partial

from sonos_bridge.errors import SpeakerError
from sonos_bridge.upnp import Player, run_parallel

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


def classify(uri: str) -> Source:
    if not uri:
        return Source.NOTHING
    for pattern, source in _SOURCE_PATTERNS:
        if re.match(pattern, uri):
            return source
    return Source.TRACK


@dataclass
class MemberState:
    """A member's volume and mute before the batch, and as the batch has set them."""

    player: Player
    volume: int
    muted: bool
    current_volume: int = -1
    current_muted: bool = False

    def __post_init__(self) -> None:
        self.current_volume = self.volume
        self.current_muted = self.muted


@dataclass
class GroupSnapshot:
    """What one group was doing before the first announcement of a batch."""

    coordinator: Player
    uri: str
    metadata: str
    transport_state: str
    source: Source
    members: list[MemberState]
    track: int = 0
    position: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def was_playing(self) -> bool:
        return self.transport_state in ("PLAYING", "TRANSITIONING")


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
    volumes = results[2 : 2 + len(members)]
    mutes = results[2 + len(members) :]
    uri = media.get("CurrentURI", "")
    snapshot = GroupSnapshot(
        coordinator=coordinator,
        uri=uri,
        metadata=media.get("CurrentURIMetaData", ""),
        transport_state=transport.get("CurrentTransportState", ""),
        source=classify(uri),
        members=[
            MemberState(player, int(volume), bool(muted))  # type: ignore[call-overload]
            for player, volume, muted in zip(members, volumes, mutes, strict=True)
        ],
    )
    if snapshot.source in _SEEKABLE:
        position = coordinator.av("GetPositionInfo")
        snapshot.track = int(position.get("Track") or 0)
        snapshot.position = position.get("RelTime", "")
    if snapshot.source in UNRESTORABLE and snapshot.was_playing:
        snapshot.warnings.append(
            f"{coordinator.name} was playing from {snapshot.source.value}, which the bridge "
            "cannot resume; start it again in its app"
        )
    logger.debug(
        "Snapshot of %s: %s (%s) %s, volumes %s",
        coordinator.name,
        snapshot.source.value,
        uri,
        snapshot.transport_state,
        [m.volume for m in snapshot.members],
    )
    return snapshot


def restore(snapshot: GroupSnapshot, executor: Executor) -> list[str]:
    """Put the group back; returns warnings for what could not be restored."""
    warnings: list[str] = []
    coordinator = snapshot.coordinator
    # Volume first, so the resumed source does not play a moment at announcement volume.
    volume_calls: list[Callable[[], None]] = []
    for member in snapshot.members:
        volume_calls.append(partial(member.player.set_volume, member.volume))
        volume_calls.append(partial(member.player.set_mute, member.muted))
    try:
        run_parallel(executor, volume_calls)
    except SpeakerError as exc:
        warnings.append(f"could not restore the volume: {exc}")
    source = snapshot.source
    if source in (Source.NOTHING, *UNRESTORABLE):
        return warnings
    try:
        coordinator.av(
            "SetAVTransportURI",
            ("CurrentURI", snapshot.uri),
            ("CurrentURIMetaData", snapshot.metadata),
        )
        if source is Source.QUEUE and snapshot.track > 0:
            coordinator.av("Seek", ("Unit", "TRACK_NR"), ("Target", snapshot.track))
        if source in _SEEKABLE and snapshot.position not in ("", "0:00:00", "NOT_IMPLEMENTED"):
            coordinator.av("Seek", ("Unit", "REL_TIME"), ("Target", snapshot.position))
        if snapshot.was_playing:
            coordinator.av("Play", ("Speed", 1))
    except SpeakerError as exc:
        warnings.append(f"could not resume the {source.value} on {coordinator.name}: {exc}")
    return warnings
