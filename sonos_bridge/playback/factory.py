"""Building the bridge's playback: both methods, the chooser over them, and the workers.

Kept apart from `chooser` so that the chooser only decides (clip or takeover, per
announcement) and this module alone knows how the pieces are put together. It takes plain
values rather than the settings object: playback does not read configuration itself.

Threads: called once, on the main thread, while the service is being built.
"""

from __future__ import annotations

from pathlib import Path

from sonos_bridge.audio.clip_cache import ClipCache
from sonos_bridge.audio.sounds.library import SoundLibrary
from sonos_bridge.playback.chooser import ModeChooser
from sonos_bridge.playback.clip.method import ClipMode
from sonos_bridge.playback.clip.player import ClipPlayer
from sonos_bridge.playback.method import PlaybackOptions, UrlFor
from sonos_bridge.playback.takeover.method import Takeover
from sonos_bridge.playback.takeover.snapshot_store import SnapshotStore
from sonos_bridge.playback.takeover.transport_events import configure_listener
from sonos_bridge.playback.workers import PlaybackManager, SpeakerLookup


def build_playback(
    speakers: SpeakerLookup,
    *,
    clip_mode: str,
    snapshot_dir: Path,
    events: bool,
    event_port: int,
    advertise_host: str | None,
    url_for: UrlFor,
    cache: ClipCache,
    sounds: SoundLibrary,
    clip_player: ClipPlayer,
    options: PlaybackOptions,
) -> PlaybackManager:
    """Clips or takeover per group (`clip_mode` = SONOS_CLIP_MODE), snapshots kept in
    `snapshot_dir`, transport events (when `events`) on `event_port`."""
    configure_listener(event_port, advertise_host)
    store = SnapshotStore(snapshot_dir)
    takeover = Takeover(url_for, store, options, join=sounds.joined, pins=cache, events=events)
    chooser = ModeChooser(ClipMode(clip_player, url_for), takeover, clip_mode)
    return PlaybackManager(speakers, chooser, cache, options)
