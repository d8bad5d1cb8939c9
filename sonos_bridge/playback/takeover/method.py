"""Takeover playback: snapshot the group, play the clips through UPnP, restore the group.

This is one `PlaybackMethod` (see `playback`): the coordinator worker hands it the group
for a batch of announcements, and it

- reads what the group was doing and saves it to `STATE_DIR` before touching anything
  (flushed to disk next to the first clip's calls, before `Play`), so a bridge killed
  mid-announcement restores the group at its next start;
- sets each announcement as one clip (a chime or sound joined to the speech: one play,
  no gap), with the volume and mute wanted, and waits for its end, woken by the
  coordinator's transport events and polling as the fallback;
- restores the group once after the batch and deletes the saved snapshot;
- stops a clip the worker cuts short (the bridge stops, SONOS_STOP_GRACE ran out) and
  raises `CutShortError`: half an announcement is not answered as played.

Threads: every method runs on its coordinator worker's thread, except the calls it puts
in flight at once on the group's own executor (`upnp.run_parallel`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from xml.sax.saxutils import escape

from sonos_bridge.audio.clip_cache import Clip
from sonos_bridge.audio.prepared import Prepared
from sonos_bridge.audio.server import is_clip_url
from sonos_bridge.errors import (
    CutShortError,
    SpeakerError,
    SpeakerTimeoutError,
    SpeakerUnreachableError,
)
from sonos_bridge.playback.jobs import ClipPins
from sonos_bridge.playback.method import Group, PlaybackOptions, UrlFor
from sonos_bridge.playback.takeover.snapshot import (
    ACTIVE_STATES,
    GroupSnapshot,
    restore,
    take_snapshot,
)
from sonos_bridge.playback.takeover.snapshot_store import SnapshotStore
from sonos_bridge.playback.takeover.transport_events import TransportWatch
from sonos_bridge.playback.takeover.upnp import Player, run_parallel
from sonos_bridge.request.announcement import Announcement
from sonos_bridge.request.results import elapsed_ms
from sonos_bridge.speakers import Speaker

logger = logging.getLogger(__name__)

FINISHED_STATES = {"STOPPED", "PAUSED_PLAYBACK", "NO_MEDIA_PRESENT"}
JoinClips = Callable[[Sequence[Clip]], Clip]


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


@dataclass(frozen=True, slots=True)
class Players:
    """How to reach a group now: its coordinator and every member by UID."""

    coordinator: Player
    members: dict[str, Player]


class Takeover:
    """The takeover method: one `TakeoverGroup` per coordinator worker."""

    def __init__(
        self,
        url_for: UrlFor,
        store: SnapshotStore,
        options: PlaybackOptions,
        *,
        join: JoinClips,
        pins: ClipPins,
        events: bool = True,
    ) -> None:
        self.url_for = url_for
        self.store = store
        self.options = options
        self.join = join  # a chime or sound and the speech, as one MP3 in the cache
        self.pins = pins
        self.events = events

    def attach(self, coordinator_uid: str, stopping: threading.Event) -> TakeoverGroup:
        return TakeoverGroup(self, coordinator_uid, stopping)

    def leftovers(self) -> list[Speaker]:
        """Coordinators a previous run left with an announcement instead of their music."""
        return [
            Speaker.group_coordinator(s.coordinator_name, s.coordinator_uid, s.coordinator_ip)
            for s in self.store.leftovers()
        ]


class TakeoverGroup:
    """Takeover for one coordinator: its executor, its event subscription, its snapshot."""

    def __init__(self, method: Takeover, uid: str, stopping: threading.Event) -> None:
        self.method = method
        self.uid = uid
        self.stopping = stopping
        # Four snapshot calls at once, plus a SUBSCRIBE in the background.
        self.executor = ThreadPoolExecutor(max_workers=5, thread_name_prefix="upnp")
        self.watch = TransportWatch(enabled=method.events)

    def players(self, group: Group, snapshot: GroupSnapshot | None = None) -> Players:
        """Players for the group's members now, plus any member only the snapshot knows."""
        timeout = self.method.options.timeout
        known = {s.uid: s for s in group.members}
        members = {uid: Player(s.name, s.ip, timeout, uid) for uid, s in known.items()}
        for member in snapshot.members if snapshot is not None else ():
            if member.uid not in members:
                members[member.uid] = Player(member.name, member.ip, timeout, member.uid)
        c = group.coordinator
        return Players(Player(c.name, c.ip, timeout, c.uid), members)

    def begin(self, group: Group) -> TakeoverSession:
        """Snapshot the group and save it; nothing on the speakers has changed yet."""
        players = self.players(group)
        self.watch.ensure(players.coordinator, self.executor)
        snapshot = take_snapshot(players.coordinator, list(players.members.values()), self.executor)
        warnings = snapshot.warnings
        durable: Callable[[], None] | None = None
        try:
            durable = self.method.store.save(snapshot)
        except OSError as exc:
            logger.error("Could not save the snapshot of %s: %s", group.coordinator.name, exc)
            warnings.append(
                f"could not save the snapshot of {group.coordinator.name} ({exc}); "
                "a crash now would lose its music"
            )
        return TakeoverSession(self, players, snapshot, warnings, durable)

    def recover(self, group: Group) -> None:
        """Restore what a crash left on this group, unless the user moved on meanwhile."""
        snapshot = self.method.store.load(self.uid)
        if snapshot is None:
            return
        players = self.players(group, snapshot)
        name = group.coordinator.name
        try:
            uri = players.coordinator.av("GetMediaInfo").get("CurrentURI", "")
        except SpeakerError as exc:
            logger.warning("Cannot restore %s after a crash: %s", name, exc)
            if not isinstance(exc, SpeakerUnreachableError):
                self.method.store.remove(self.uid)
            return  # an unreachable group is tried again before its next announcement
        if not is_clip_url(uri):
            logger.info("%s plays something else since the crash; leaving it alone", name)
            self.method.store.remove(self.uid)
            return
        report = restore(snapshot, players.coordinator, players.members, self.executor)
        for warning in report.warnings:
            logger.warning("Restoring %s after a crash: %s", name, warning)
        if not report.unreachable:
            logger.info("Restored %s as it was before the interrupted announcement", name)
            self.method.store.remove(self.uid)

    def interrupt(self) -> None:
        self.watch.wake()

    def close(self) -> None:
        self.watch.close()
        self.executor.shutdown(wait=False)


class TakeoverSession:
    """One batch on one group: clips back to back, then one restore."""

    def __init__(
        self,
        group: TakeoverGroup,
        players: Players,
        snapshot: GroupSnapshot,
        warnings: list[str],
        durable: Callable[[], None] | None,
    ) -> None:
        self.group = group
        self.players = players
        self.snapshot = snapshot
        self._warnings = warnings
        self._durable = durable  # the snapshot's fsync, next to the first clip's calls
        self._levels = {m.uid: (m.volume, m.muted) for m in snapshot.members}

    @property
    def restores(self) -> bool:
        return True

    def take_warnings(self) -> list[str]:
        """What the first result should report about the snapshot (once)."""
        warnings, self._warnings = self._warnings, []
        return warnings

    def play(self, audio: Prepared, announcement: Announcement) -> int:
        """Play the announcement to its end as one clip; returns the latency until `Play`."""
        method = self.group.method
        clips = audio.clips
        clip = clips[0] if len(clips) == 1 else method.join(clips)
        method.pins.pin(clip.key)  # a joined clip is new: keep it until it has played
        try:
            return self._play_clip(clip, announcement)
        finally:
            method.pins.unpin(clip.key)

    def _play_clip(self, clip: Clip, announcement: Announcement) -> int:
        coordinator = self.players.coordinator
        url = self.group.method.url_for(clip, coordinator.ip)
        set_uri = partial(
            coordinator.av,
            "SetAVTransportURI",
            ("CurrentURI", url),
            ("CurrentURIMetaData", didl_for(url, announcement.title)),
        )
        calls: list[Callable[[], object]] = [set_uri, *self._level_calls(announcement.volume)]
        if self._durable is not None:
            calls.append(self._durable)
            self._durable = None
        run_parallel(self.group.executor, calls)  # all done, the snapshot on disk: Play
        marked = self.group.watch.mark(url)
        coordinator.av("Play", ("Speed", 1))
        latency = elapsed_ms(announcement.received_at)
        logger.debug("%s plays %s (%.1f s)", coordinator.name, url, clip.duration)
        self._wait_for_end(clip)
        self.group.watch.clip_ended(marked)
        return latency

    def _level_calls(self, volume: int | None) -> list[Callable[[], object]]:
        """Volume and unmute calls for what differs from what the members are set to now.

        Without a volume of its own an announcement plays at the group's own volume.
        """
        calls: list[Callable[[], object]] = []
        for member in self.snapshot.members:
            player = self.players.members[member.uid]
            current, muted = self._levels[member.uid]
            wanted = member.volume if volume is None else volume
            if wanted != current:
                calls.append(partial(player.set_volume, wanted))
            if muted:
                calls.append(partial(player.set_mute, False))
            self._levels[member.uid] = (wanted, False)
        return calls

    def _wait_for_end(self, clip: Clip) -> None:
        """Poll the transport, sooner whenever the coordinator sends an event."""
        options = self.group.method.options
        watch = self.group.watch
        coordinator = self.players.coordinator
        started = time.monotonic()
        deadline = started + clip.duration + options.margin
        seen_active = False
        while not self.group.stopping.is_set():
            seen = watch.events
            state = coordinator.transport_state()
            seen_active = seen_active or state in ACTIVE_STATES or watch.active_since_mark
            if state in FINISHED_STATES and (
                seen_active or time.monotonic() - started > options.start_grace
            ):
                return
            if time.monotonic() > deadline:
                coordinator.av("Stop", ("Speed", 1))
                raise SpeakerTimeoutError(
                    f"{coordinator.name} did not finish the {clip.duration:.1f} s clip within "
                    f"{clip.duration + options.margin:.0f} s (state {state})"
                )
            watch.wait(seen, min(options.poll_interval, deadline - time.monotonic()))
        self._cut_short()

    def _cut_short(self) -> None:
        """The bridge is stopping and the clip's grace ran out: half an announcement is
        not "played", so it is stopped and left to be played again after the restart."""
        coordinator = self.players.coordinator
        coordinator.av("Stop", ("Speed", 1))
        raise CutShortError(f"the bridge stopped before {coordinator.name} finished it")

    def finish(self) -> list[str]:
        """Restore the group; the snapshot stays on disk only if the group did not answer."""
        players = self.players
        report = restore(self.snapshot, players.coordinator, players.members, self.group.executor)
        if not report.unreachable:
            self.group.method.store.remove(self.group.uid)
        return report.warnings
