"""Fixtures for the bridge's integration tests: fake speakers and a running bridge."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import soco.config
from soco.core import soco_reset

from sonos_bridge.playback.method import PlaybackOptions
from sonos_bridge.service import BridgeService
from testkit.fakes.harness import FAST, bridge_settings, start_bridge, wait_subscribed
from testkit.fakes.speaker import FakeSonosSystem
from testkit.support.broker import MosquittoBroker
from testkit.support.probe import Probe

# Loopback addresses from 127.0.0.100 up (tests/integration/conftest.py): the e2e tests'
# standalone fakes use the low ones.
SPEED = 0.1

BridgeFactory = Callable[..., BridgeService]


@pytest.fixture(autouse=True)
def _fresh_soco() -> Iterator[None]:
    soco_reset()
    soco.config.REQUEST_TIMEOUT = 1.0
    yield
    soco_reset()


@pytest.fixture
def speaker_speed() -> float:
    return SPEED


@pytest.fixture
def bridge_factory(
    broker: MosquittoBroker, sonos: FakeSonosSystem, tmp_path: Path
) -> Iterator[BridgeFactory]:
    started: list[BridgeService] = []

    def make(
        options: PlaybackOptions = FAST, *, wait_for_probes: bool = True, **overrides: Any
    ) -> BridgeService:
        """A started bridge; by default once it knows which speakers play clips (an
        announcement sent sooner takes over a speaker whose probe has not answered)."""
        hosts = [speaker.ip for speaker in sonos.speakers.values()]
        settings = bridge_settings(broker, tmp_path / "bridge", hosts, **overrides)
        service = start_bridge(settings, options)
        started.append(service)
        wait_subscribed(broker)
        if wait_for_probes and not service.first_probes.wait(30):
            raise AssertionError("the bridge did not finish probing the speakers for clips")
        return service

    yield make
    for service in started:
        service.stop()


@pytest.fixture
def listener(probe: Probe) -> Probe:
    """The probe (Home Assistant's user), subscribed to everything the bridge says."""
    probe.subscribe("sonos/#")
    probe.subscribe("homeassistant/#")
    probe.subscribe("reply/#")
    return probe
