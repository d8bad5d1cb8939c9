"""Fixtures for the bridge's component tests: a real clip, a cache, a fake Google."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sonos_bridge.audio.clip_cache import ClipCache
from testkit.fakes.google_tts import FakeGoogle, running_google


@pytest.fixture(scope="session")
def mp3_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real MP3 made by espeak-ng and lame, as Google would send one."""
    target = tmp_path_factory.mktemp("audio") / "clip.mp3"
    wav = subprocess.run(
        ["espeak-ng", "-v", "en", "--stdout"],
        input=b"Recorded answer",
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["lame", "--quiet", "-", str(target)], input=wav, check=True)
    return target.read_bytes()


@pytest.fixture
def cache(tmp_path: Path) -> ClipCache:
    return ClipCache(tmp_path / "cache", 10 * 1024 * 1024)


@pytest.fixture
def google(mp3_bytes: bytes, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGoogle]:
    with running_google(monkeypatch, mp3_bytes) as fake:
        yield fake
