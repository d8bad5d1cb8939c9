"""Fixtures of the integration tests: the echo service as a real process, fake speakers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from testkit.fakes.speaker import FakeSonosSystem
from testkit.support.broker import MosquittoBroker
from testkit.support.service_process import ServiceProcess, service_env

ECHO = "testkit.support.echo_service"
ServiceFactory = Callable[..., ServiceProcess]


@pytest.fixture
def service_factory(broker: MosquittoBroker, tmp_path: Path) -> Iterator[ServiceFactory]:
    """Echo services on the test broker; by default all share one state directory."""
    started: list[ServiceProcess] = []

    def make(state_dir: Path | None = None, **extra: str) -> ServiceProcess:
        env = service_env(broker, state_dir or tmp_path / "state", **extra)
        service = ServiceProcess(ECHO, env)
        started.append(service)
        return service

    yield make
    for service in started:
        service.kill()


@pytest.fixture
def speaker_speed() -> float:
    """How fast the fake speakers play (0.1: a 1 s clip plays for 100 ms)."""
    return 0.1


@pytest.fixture
def first_speaker_host() -> int:
    """Fake speakers take loopback addresses from 127.0.0.<this> up."""
    return 100


@pytest.fixture
def sonos(speaker_speed: float, first_speaker_host: int) -> Iterator[FakeSonosSystem]:
    system = FakeSonosSystem(speed=speaker_speed, first_host=first_speaker_host)
    try:
        yield system
    finally:
        system.close()
