"""The one interface both playback methods implement, and the values they are handed.

`workers.CoordinatorWorker` drives a `PlaybackMethod` without knowing which one it is:
`clip.method.ClipMode` (audio clips mixed over the music, nothing to restore) and
`takeover.method.Takeover` (snapshot, UPnP play, restore) are its two peers, and
`chooser.ModeChooser` is a third that picks one of them per announcement. A method is
attached once per coordinator (`GroupPlayback`), and begins one `GroupSession` per batch.

Threads: everything here is called on the coordinator's worker thread, except `attach`,
which runs on whichever thread first queues for that coordinator (paho's network thread).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sonos_bridge.audio.clip_cache import Clip
from sonos_bridge.audio.prepared import Prepared
from sonos_bridge.request.announcement import Announcement
from sonos_bridge.speakers import Speaker

# The audio server's URL for a clip as seen from the speaker at the given address.
UrlFor = Callable[[Clip, str], str]


@dataclass(frozen=True, slots=True)
class PlaybackOptions:
    """Timing of the workers; tests and the bench poll faster than real speakers need."""

    timeout: float = 5.0  # per SOAP call
    margin: float = 10.0  # beyond the clip's length before giving up on the end
    poll_interval: float = 0.25  # between transport polls when no event comes sooner
    start_grace: float = 1.0  # STOPPED this soon after Play means "not started yet"
    speech_timeout: float = 60.0


@dataclass(frozen=True, slots=True)
class Group:
    """A coordinator and the members of its group (itself included) for one batch."""

    coordinator: Speaker
    members: tuple[Speaker, ...]


class GroupSession(Protocol):
    """One batch on one group, begun before its first clip."""

    @property
    def restores(self) -> bool:
        """Whether `finish` has something to give back (then the last result waits)."""
        ...

    def take_warnings(self) -> list[str]: ...

    def play(self, audio: Prepared, announcement: Announcement) -> int: ...

    def finish(self) -> list[str]: ...


class GroupPlayback(Protocol):
    """A method's state for one coordinator, for as long as its worker lives.

    `attach`'s `stopping` event is set when the clip playing must end now (the bridge is
    stopping and the clip's grace ran out): `play` then stops it and raises a
    `BridgeError`, so the request is not answered as played.
    """

    def recover(self, group: Group) -> None: ...

    def begin(self, group: Group) -> GroupSession: ...

    def interrupt(self) -> None: ...

    def close(self) -> None: ...


class PlaybackMethod(Protocol):
    def attach(self, coordinator_uid: str, stopping: threading.Event) -> GroupPlayback: ...

    def leftovers(self) -> list[Speaker]: ...
