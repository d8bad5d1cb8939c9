"""Fixtures shared by every test: a real broker per test and probe clients on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.broker import MosquittoBroker
from tests.support.probe import Probe


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
