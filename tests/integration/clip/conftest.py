"""Fixtures for audio-clip tests: fake S2 players, the bridge's own audio server, a player."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sonos_bridge.audio_server import AudioServer
from sonos_bridge.clip.player import ClipOptions, ClipPlayer
from sonos_bridge.tts.cache import Clip, ClipCache
from tests.fakes.s2 import (
    Certificate,
    FakeS2Household,
    FakeS2Player,
    S2Profile,
    make_certificate,
    start_player,
)
from tests.support.audio import write_mp3

SPEED = 0.05  # a 1 s clip plays for 50 ms

PlayerFactory = Callable[..., FakeS2Player]


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("s2-tls"))


@pytest.fixture
def household() -> FakeS2Household:
    return FakeS2Household()


@pytest.fixture
def s2_player(household: FakeS2Household, certificate: Certificate) -> Iterator[PlayerFactory]:
    started: list[FakeS2Player] = []

    def make(name: str = "Kitchen", profile: S2Profile | None = None) -> FakeS2Player:
        player = start_player(household, certificate, name, profile=profile, speed=SPEED)
        started.append(player)
        return player

    yield make
    for player in started:
        player.close()


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
    player = ClipPlayer(ClipOptions(timeout=2.0, margin=2.0))
    try:
        yield player
    finally:
        player.close()
