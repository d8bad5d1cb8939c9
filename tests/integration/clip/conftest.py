"""Fixtures for audio-clip tests: fake S2 speakers, the bridge's own audio server, a player."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sonos_bridge.audio.clip_cache import Clip, ClipCache
from sonos_bridge.audio.server import AudioServer
from sonos_bridge.playback.clip.player import ClipOptions, ClipPlayer
from testkit.fakes.s2 import FakeS2Player, S2Profile
from testkit.fakes.speaker import FakeSonosSystem
from testkit.support.audio import write_mp3

SPEED = 0.05  # a 1 s clip plays for 50 ms
FIRST_HOST = 150  # loopback addresses apart from the bridge tests' (100 up)
PROBE_WAIT = 10.0

PlayerFactory = Callable[..., FakeS2Player]


@pytest.fixture
def speaker_speed() -> float:
    return SPEED


@pytest.fixture
def first_speaker_host() -> int:
    return FIRST_HOST


@pytest.fixture
def s2_player(sonos: FakeSonosSystem) -> PlayerFactory:
    """The S2 endpoint of a new fake speaker (same address, port 1443)."""

    def make(name: str = "Kitchen", profile: S2Profile | None = None) -> FakeS2Player:
        player = sonos.add(name, s2=profile or S2Profile()).s2
        assert player is not None
        return player

    return make


@dataclass
class AudioFiles:
    """Clips in a real cache, served by the bridge's real audio server."""

    cache: ClipCache
    server: AudioServer
    directory: Path

    def mp3(self, seconds: float, name: str = "tone") -> Clip:
        def produce(target: Path) -> None:
            write_mp3(target, seconds)

        return self.cache.store("test", "en", f"{name}-{seconds}", produce)

    def url(self, clip: Clip, speaker_ip: str) -> str:
        return self.server.url_for(clip, speaker_ip)


@pytest.fixture
def audio(tmp_path: Path) -> Iterator[AudioFiles]:
    cache = ClipCache(tmp_path / "cache", 50 * 1024 * 1024)
    server = AudioServer(cache, "127.0.0.1", 0, None)
    server.start()
    try:
        yield AudioFiles(cache, server, tmp_path)
    finally:
        server.stop()


@pytest.fixture
def clip_player() -> Iterator[ClipPlayer]:
    # These tests are about the clips, not about how long an announcement waits for a
    # probe (test_clip_probes is): a probe on a loaded machine may take over 250 ms.
    player = ClipPlayer(ClipOptions(timeout=2.0, margin=2.0, probe_wait=PROBE_WAIT))
    try:
        yield player
    finally:
        player.close()
