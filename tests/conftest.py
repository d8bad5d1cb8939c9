"""Fixtures shared by every test: a real broker per test and probe clients on it, sounds."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

# In CI a skip for a missing tool fails the test (testkit.ci_skips says why).
from testkit.ci_skips import pytest_runtest_makereport  # noqa: F401
from testkit.support.audio import write_mp3, write_wav
from testkit.support.broker import MosquittoBroker
from testkit.support.probe import Probe


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """A command run in-process (`cli.main`) configures logging to that test's captured
    stderr, which pytest closes after the test: later log lines would fail to be written."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    instance = MosquittoBroker(tmp_path / "broker")
    instance.start()
    try:
        yield instance
    finally:
        instance.kill()


@pytest.fixture
def probe_factory(broker: MosquittoBroker) -> Iterator[type[Probe] | object]:
    created: list[Probe] = []

    def make(user: str | None = "homeassistant", **kwargs: object) -> Probe:
        probe = Probe(broker, user, **kwargs)  # type: ignore[arg-type]
        created.append(probe)
        return probe

    yield make
    for probe in created:
        probe.close()


@pytest.fixture
def probe(probe_factory: object) -> Probe:
    """A client with Home Assistant's rights: reads everything, writes commands."""
    return probe_factory()  # type: ignore[operator, no-any-return]


@pytest.fixture
def sounds_dir(tmp_path: Path) -> Path:
    """A SOUNDS_DIR: doorbell.mp3 (0.5 s, 22.05 kHz mono), gong.wav (0.4 s, 44.1 kHz stereo)."""
    folder = tmp_path / "sounds"
    folder.mkdir()
    write_mp3(folder / "doorbell.mp3", 0.5)
    write_wav(folder / "gong.wav", 0.4, rate=44100, channels=2)
    return folder
