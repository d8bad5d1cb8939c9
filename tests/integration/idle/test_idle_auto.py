"""IDLE_SOURCE=auto against real components: which source it picks and what it says."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest

from idle_reporter.settings import IdleSettings
from idle_reporter.sources.auto import select_source
from tests.idle_fakes.desktop import FakeGnome, FakeKde
from tests.idle_fakes.xvfb import Xvfb
from tests.integration.idle.conftest import ReporterFactory
from tests.support.probe import Probe


def settings(tmp_path: Path, **values: Any) -> IdleSettings:
    """Nothing reachable unless the test provides it."""
    defaults: dict[str, Any] = {
        "state_dir": tmp_path / "state",
        "dbus_system_bus_address": f"unix:path={tmp_path / 'no-system-bus'}",
        "dbus_session_bus_address": f"unix:path={tmp_path / 'no-session-bus'}",
        "idle_input_devices": str(tmp_path / "no-event*"),
    }
    defaults.update(values)
    return IdleSettings(**defaults)


def test_wayland_session_never_picks_x11_even_when_it_answers(tmp_path: Path, xvfb: Xvfb) -> None:
    chosen = select_source(settings(tmp_path, xdg_session_type="wayland", display=xvfb.display))
    assert chosen.source is None
    reasons = dict(chosen.skipped)
    assert "XWayland" in reasons["x11"]


def test_wayland_display_alone_counts_as_wayland(tmp_path: Path, xvfb: Xvfb) -> None:
    chosen = select_source(settings(tmp_path, wayland_display="wayland-1", display=xvfb.display))
    assert chosen.source is None and "x11" in dict(chosen.skipped)


def test_x11_session_picks_x11(tmp_path: Path, xvfb: Xvfb) -> None:
    chosen = select_source(settings(tmp_path, xdg_session_type="x11", display=xvfb.display))
    try:
        assert chosen.source is not None and chosen.source.name == "x11"
    finally:
        if chosen.source is not None:
            chosen.source.close()


def test_wayland_gnome_picks_mutter(tmp_path: Path, dbus_address: str, xvfb: Xvfb) -> None:
    fake = FakeGnome(dbus_address).start()
    chosen = select_source(
        settings(
            tmp_path,
            xdg_session_type="wayland",
            xdg_current_desktop="ubuntu:GNOME",
            display=xvfb.display,
            dbus_session_bus_address=dbus_address,
        )
    )
    try:
        assert chosen.source is not None and chosen.source.name == "gnome"
    finally:
        if chosen.source is not None:
            chosen.source.close()
        fake.stop()


def test_plasma_wayland_refusing_idle_time_falls_back_to_input_devices(
    tmp_path: Path,
    dbus_address: str,
    ha: Probe,
    reporter_factory: ReporterFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    fake = FakeKde(dbus_address, refuse_idle_time=True).start()
    device = tmp_path / "event0"
    os.mkfifo(device)
    keep_open = os.open(device, os.O_RDWR | os.O_NONBLOCK)
    try:
        reporter_factory(
            idle_source="auto",
            xdg_session_type="wayland",
            xdg_current_desktop="KDE",
            dbus_session_bus_address=dbus_address,
            dbus_system_bus_address=f"unix:path={tmp_path / 'no-system-bus'}",
            idle_input_devices=str(tmp_path / "event*"),
        )
        ha.wait_for("idle/desk/state", payload=b"active")
    finally:
        os.close(keep_open)
        fake.stop()
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("Using"))
    assert line.startswith("Using idle source evdev (KDE session)")
    assert "kde: the desktop refuses GetSessionIdleTime" in line
    assert "logind: KDE does not maintain logind's IdleHint" in line
