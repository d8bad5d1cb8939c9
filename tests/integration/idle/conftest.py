"""Fixtures for the idle reporter's integration tests: a private D-Bus, Xvfb, a reporter,
and real headless compositors (one per test module, each with its own runtime directory
and session bus)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from idle_reporter.settings import IdleSettings
from testkit.ci_skips import skip_missing_tool
from testkit.idle_fakes.compositors import (
    Desktop,
    desktop_with_bus,
    missing_programs,
    start_kwin,
    start_mutter,
    start_sway,
)
from testkit.idle_fakes.dbus_daemon import DBusDaemon, dbus_daemon_available
from testkit.idle_fakes.reporter import (
    SESSION_VARIABLES,
    RunningReporter,
    fast_settings,
    start_reporter,
)
from testkit.idle_fakes.xvfb import Xvfb, xvfb_available
from testkit.support.broker import MosquittoBroker
from testkit.support.probe import Probe

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
        skip_missing_tool("dbus-daemon is not installed")
    daemon = DBusDaemon(tmp_path / "dbus")
    address = daemon.start()
    try:
        yield address
    finally:
        daemon.stop()


@pytest.fixture
def xvfb() -> Iterator[Xvfb]:
    if not xvfb_available() or shutil.which("xdotool") is None:
        skip_missing_tool("Xvfb or xdotool is not installed")
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


# ------------------------------------------------------------ real compositors
def require_programs(*programs: str) -> None:
    missing = missing_programs(*programs)
    if missing:
        skip_missing_tool(
            f"{', '.join(missing)} not installed (bash scripts/system-packages.sh installs it)"
        )


# A desktop where org.gnome.ScreenSaver is activatable but its program is missing: the
# session bus answers "Failed to execute program", as on the desktops the issue saw.
BROKEN_GNOME_SHELL = {"org.gnome.ScreenSaver": "/nonexistent/gnome-screensaver"}


@pytest.fixture(scope="module")
def mutter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desktop]:
    require_programs("mutter")
    workdir = tmp_path_factory.mktemp("mutter")
    with desktop_with_bus(workdir, start_mutter, **BROKEN_GNOME_SHELL) as desktop:
        yield desktop


@pytest.fixture(scope="module")
def kwin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desktop]:
    require_programs("kwin_wayland")
    workdir = tmp_path_factory.mktemp("kwin")
    with desktop_with_bus(workdir, start_kwin) as desktop:
        yield desktop


@pytest.fixture(scope="module")
def sway() -> Iterator[Desktop]:
    require_programs("sway", "wtype", "setpriv")
    compositor = start_sway()
    try:
        yield Desktop(compositor, None)
    finally:
        compositor.stop()
