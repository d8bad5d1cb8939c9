"""Clip mode as a playback method: an announcement as audio clips on every member of a group.

A clip plays on one player only, so a group's announcement is one clip sequence per
member (the chime, a sound, the speech, one after the other), all members at once; the
music of each is ducked and carries on, and nothing is left to restore. The request's
announcement volume is each clip's own volume; its priority is the clips' priority.

How one clip is played is `player.ClipPlayer`'s business; this module decides what the
group hears and turns the members' outcomes into one: nothing heard anywhere is a
`ClipUnavailableError` (the caller may take the group over instead), a clip that failed
on some members after others played (or after it started) is a `ClipPlaybackError`.

Threads: every method runs on the group's coordinator worker; `play` waits for the
members' clips, which run on the player's pool.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence

from sonos_bridge.audio.prepared import Prepared
from sonos_bridge.errors import SpeakerError
from sonos_bridge.playback.clip.errors import (
    ClipError,
    ClipPlaybackError,
    ClipUnavailableError,
    NoClipSupportError,
)
from sonos_bridge.playback.clip.player import ClipPlayed, ClipPlayer, ClipRequest
from sonos_bridge.playback.clip.protocol import Priority
from sonos_bridge.playback.method import Group, UrlFor
from sonos_bridge.request.announcement import Announcement
from sonos_bridge.speakers import Speaker

logger = logging.getLogger(__name__)

# How long the wait for the speaker's built-in chime may be (it lasts about a second).
BUILT_IN_CHIME_SECONDS = 3.0


class ClipMode:
    """The clip method: one `ClipGroup` per coordinator worker, one shared `ClipPlayer`."""

    def __init__(
        self,
        player: ClipPlayer,
        url_for: UrlFor,
        current_volume: Callable[[str], int] | None = None,
    ) -> None:
        self.player = player
        self.url_for = url_for
        self.current_volume = current_volume  # by address; read only when a limit needs it

    def attach(self, coordinator_uid: str, stopping: threading.Event) -> ClipGroup:
        return ClipGroup(self)

    def leftovers(self) -> list[Speaker]:
        """A clip changes nothing on a speaker: a crash leaves nothing to restore."""
        return []

    def unavailable(self, members: Sequence[Speaker], wait: float | None = None) -> str | None:
        """Why some member cannot play clips (from the kept probes), or None if all can.

        A member not probed yet is waited for at most `wait` (the player's `probe_wait`
        unless clips are required), so an announcement never waits out a slow probe."""
        supports = self.player.support_many([member.ip for member in members], wait)
        reasons = [
            f"{member.name} cannot play audio clips: {support.unavailable}"
            for member in members
            if (support := supports[member.ip]).unavailable
        ]
        return "; ".join(reasons) or None

    def volume_for(self, announcement: Announcement, member: Speaker) -> int | None:
        """The clips' volume in `member`'s room under the house rules; None: the speaker's
        own (nothing limits it). The room's volume is read only when a limit applies to it
        ("volume": "room", or no volume, under a cap); unreadable, the cap is used."""
        levels = announcement.levels
        if levels is None:
            return announcement.volume if isinstance(announcement.volume, int) else None
        plan = levels.plan(member.name)
        if plan.volume is None and plan.cap is None:
            return None
        current = 100  # unknown: the cap, never louder
        if plan.volume is None and self.current_volume is not None:
            try:
                current = self.current_volume(member.ip)
            except SpeakerError as exc:
                logger.warning("Reading %s's volume failed (%s); using the cap", member.name, exc)
        return levels.record(member.name, plan, plan.level(current))

    def turn(
        self, audio: Prepared, announcement: Announcement, ip: str, volume: int | None = None
    ) -> list[ClipRequest]:
        """The clips one speaker plays for the announcement, in order, at `volume`."""
        priority = Priority.HIGH if announcement.options.priority == "high" else Priority.LOW
        requests = []
        if audio.chime is not None:
            if audio.speaker_chime:
                chime = ClipRequest("Chime", None, BUILT_IN_CHIME_SECONDS, volume, priority)
            else:
                url = self.url_for(audio.chime, ip)
                chime = ClipRequest("Chime", url, audio.chime.duration, volume, priority)
            requests.append(chime)
        for part in audio.parts:
            url = self.url_for(part, ip)
            requests.append(ClipRequest(announcement.title, url, part.duration, volume, priority))
        return requests


class ClipGroup:
    """Clip mode for one coordinator: no state of its own, nothing to recover."""

    def __init__(self, mode: ClipMode) -> None:
        self.mode = mode

    def recover(self, group: Group) -> None:
        """Nothing: clips leave no snapshot behind."""

    def begin(self, group: Group) -> ClipSession:
        return ClipSession(self.mode, group)

    def interrupt(self) -> None:
        """A clip that plays is left to finish: there is nothing to give back after it."""

    def close(self) -> None:
        """The shared player is closed by the service."""


class ClipSession:
    """Announcements as clips on every member of one group, one after the other."""

    def __init__(self, mode: ClipMode, group: Group) -> None:
        self.mode = mode
        self.group = group

    @property
    def restores(self) -> bool:
        return False

    def take_warnings(self) -> list[str]:
        return []

    def play(self, audio: Prepared, announcement: Announcement, *, patient: bool = False) -> int:
        """Play on every member at once; the latency runs to the last member's ACTIVE.

        `patient`: clips are required (no takeover to fall back to), so a probe still
        running is waited for to its end instead of `probe_wait`."""
        members = self.group.members
        wait = self.mode.player.full_probe_wait if patient else None
        reason = self.mode.unavailable(members, wait)
        if reason is not None:
            raise NoClipSupportError(reason)
        turns = {
            m.ip: self.mode.turn(audio, announcement, m.ip, self.mode.volume_for(announcement, m))
            for m in members
        }
        outcomes = self.mode.player.play_many(turns)
        names = {member.ip: member.name for member in members}
        played = [o for o in outcomes.values() if isinstance(o, ClipPlayed)]
        failures = {ip: o for ip, o in outcomes.items() if isinstance(o, ClipError)}
        if failures:
            raise _combined(failures, names, anything_heard=bool(played))
        started = max(clip.active_at for clip in played)
        return round((started - announcement.received_at) * 1000)

    def finish(self) -> list[str]:
        return []


def _combined(
    failures: Mapping[str, ClipError], names: Mapping[str, str], anything_heard: bool
) -> ClipError:
    """One error for the group: unavailable only if no member heard anything."""
    if len(names) == 1:
        [error] = failures.values()
        return error
    reason = "; ".join(f"{names[ip]}: {error}" for ip, error in failures.items())
    nothing_started = all(isinstance(e, ClipUnavailableError) for e in failures.values())
    if nothing_started and not anything_heard:
        return ClipUnavailableError(reason)
    return ClipPlaybackError(reason)
