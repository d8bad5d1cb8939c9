"""Fixtures for the idle reporter's integration tests: a private D-Bus, Xvfb, a reporter."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from idle_reporter.settings import IdleSettings
from tests.idle_fakes.dbus_daemon import DBusDaemon, dbus_daemon_available
from tests.idle_fakes.reporter import (
    SESSION_VARIABLES,
    RunningReporter,
    fast_settings,
    start_reporter,
)
from tests.idle_fakes.xvfb import Xvfb, xvfb_available
from tests.support.broker import MosquittoBroker
from tests.support.probe import Probe

ReporterFactory = Callable[..., RunningReporter]
SettingsFactory = Callable[..., IdleSettings]
ProbeFactory = Callable[..., Probe]


@pytest.fixture(autouse=True)
def _no_desktop_session(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SESSION_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def dbus_address(tmp_path: Path) -> Iterator[str]:
    if not dbus_daemon_available():
        pytest.skip("dbus-daemon is not installed")
    daemon = DBusDaemon(tmp_path / "dbus")
    address = daemon.start()
    try:
        yield address
    finally:
        daemon.stop()


@pytest.fixture
def xvfb() -> Iterator[Xvfb]:
    if not xvfb_available() or shutil.which("xdotool") is None:
        pytest.skip("Xvfb or xdotool is not installed")
    server = Xvfb()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def idle_settings(broker: MosquittoBroker, tmp_path: Path) -> SettingsFactory:
    def make(**overrides: Any) -> IdleSettings:
        return fast_settings(broker, tmp_path / "state", **overrides)

    return make


@pytest.fixture
def reporter_factory(idle_settings: SettingsFactory) -> Iterator[ReporterFactory]:
    running: list[RunningReporter] = []

    def make(**overrides: Any) -> RunningReporter:
        instance = start_reporter(idle_settings(**overrides))
        running.append(instance)
        return instance

    yield make
    for instance in running:
        instance.stop()


@pytest.fixture
def ha(probe: Probe) -> Probe:
    """Home Assistant's view: everything under idle/ and the discovery subtree."""
    probe.subscribe("idle/#")
    probe.subscribe("homeassistant/+/idle_reporter/#")
    return probe
