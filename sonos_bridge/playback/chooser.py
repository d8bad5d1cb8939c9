"""Which way each announcement plays on a group: audio clips, or taking the group over.

SONOS_CLIP_MODE (auto, always, never) and a request's "mode" (auto, clip, takeover; it
wins) say what is allowed; the capability probe, cached per speaker and refreshed with the
speaker list, says what each speaker can. In auto a group plays clips when every member
can: a clip on some members and a takeover of the group would play it twice on the
others. Otherwise, and when the clips fail before anything was heard (a `globalError`, an
ERROR before the clip started), the group is taken over as before: snapshot, play,
restore. Each speaker's reason is logged once, by the probe. With clips required
("always", "clip") a speaker that cannot play them fails the request instead.

`ModeChooser` is itself a `PlaybackMethod`: the coordinator workers and their queues
(ordering per group) stay as they are, and within one batch some announcements may play
as clips and others by takeover; the takeover's snapshot is taken only when the first
announcement needs it, and restored once after the batch.

Threads: as for every method, all of it runs on the coordinator's worker thread.
"""

from __future__ import annotations

import logging
import threading

from sonos_bridge.audio.prepared import Prepared
from sonos_bridge.errors import SpeakerError
from sonos_bridge.playback.clip.errors import ClipUnavailableError
from sonos_bridge.playback.clip.method import ClipGroup, ClipMode, ClipSession
from sonos_bridge.playback.method import Group
from sonos_bridge.playback.takeover.method import Takeover, TakeoverGroup, TakeoverSession
from sonos_bridge.request.announcement import Announcement
from sonos_bridge.request.options import Mode
from sonos_bridge.speakers import Speaker

logger = logging.getLogger(__name__)

SETTING_MODES: dict[str, Mode] = {"auto": "auto", "always": "clip", "never": "takeover"}


class ClipsRequiredError(SpeakerError):
    """Clips are required (SONOS_CLIP_MODE=always or "mode": "clip") and cannot play."""


class ModeChooser:
    """Clips where allowed and possible, else takeover; one `ChosenGroup` per coordinator."""

    def __init__(self, clips: ClipMode, takeover: Takeover, clip_mode: str) -> None:
        self.clips = clips
        self.takeover = takeover
        self.default: Mode = SETTING_MODES[clip_mode]

    def attach(self, coordinator_uid: str, stopping: threading.Event) -> ChosenGroup:
        return ChosenGroup(
            self,
            self.clips.attach(coordinator_uid, stopping),
            self.takeover.attach(coordinator_uid, stopping),
            stopping,
        )

    def leftovers(self) -> list[Speaker]:
        return self.takeover.leftovers()

    def mode_for(self, announcement: Announcement) -> tuple[Mode, str]:
        """The request's mode and what set it (for the error when clips are required)."""
        requested = announcement.options.mode
        if requested is not None:
            return requested, f'the request\'s "mode": "{requested}"'
        return self.default, f"SONOS_CLIP_MODE={_setting_of(self.default)}"


class ChosenGroup:
    """Both methods' state for one coordinator."""

    def __init__(
        self,
        chooser: ModeChooser,
        clips: ClipGroup,
        takeover: TakeoverGroup,
        stopping: threading.Event,
    ) -> None:
        self.chooser = chooser
        self.clips = clips
        self.takeover = takeover
        self.stopping = stopping

    def recover(self, group: Group) -> None:
        self.takeover.recover(group)  # clips leave nothing behind

    def begin(self, group: Group) -> ChosenSession:
        return ChosenSession(self, group)

    def interrupt(self) -> None:
        self.clips.interrupt()
        self.takeover.interrupt()

    def close(self) -> None:
        self.clips.close()
        self.takeover.close()


class ChosenSession:
    """One batch on one group; a takeover session is begun only when first needed."""

    def __init__(self, group: ChosenGroup, target: Group) -> None:
        self.group = group
        self.target = target
        self._clips: ClipSession | None = None
        self._takeover: TakeoverSession | None = None

    @property
    def restores(self) -> bool:
        return self._takeover is not None

    def take_warnings(self) -> list[str]:
        return self._takeover.take_warnings() if self._takeover is not None else []

    def play(self, audio: Prepared, announcement: Announcement) -> int:
        mode, why = self.group.chooser.mode_for(announcement)
        if mode != "takeover":
            try:
                return self._clip_session().play(audio, announcement, patient=mode == "clip")
            except ClipUnavailableError as exc:
                if mode == "clip":
                    raise ClipsRequiredError(f"{exc}; {why} allows no takeover") from None
                if self.group.stopping.is_set():
                    raise  # the bridge is stopping: no takeover now, the request comes back
                logger.debug("%s takes over instead: %s", self.target.coordinator.name, exc)
        return self._takeover_session().play(audio, announcement)

    def finish(self) -> list[str]:
        return self._takeover.finish() if self._takeover is not None else []

    def _clip_session(self) -> ClipSession:
        if self._clips is None:
            self._clips = self.group.clips.begin(self.target)
        return self._clips

    def _takeover_session(self) -> TakeoverSession:
        if self._takeover is None:
            self._takeover = self.group.takeover.begin(self.target)
        return self._takeover


def _setting_of(mode: Mode) -> str:
    return next(setting for setting, value in SETTING_MODES.items() if value == mode)
