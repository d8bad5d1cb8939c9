"""Fixtures of the MQTT core's integration tests: the echo service as a real process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.broker import MosquittoBroker
from tests.support.service_process import ServiceProcess, service_env

ECHO = "tests.support.echo_service"
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
