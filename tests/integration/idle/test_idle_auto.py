"""IDLE_SOURCE=auto against real components: which source it picks and what it says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from idle_reporter.settings import IdleSettings
from idle_reporter.sources.auto import select_source
from testkit.idle_fakes.compositors import Desktop
from testkit.idle_fakes.xvfb import Xvfb


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


def test_wayland_gnome_picks_mutter(tmp_path: Path, mutter: Desktop, xvfb: Xvfb) -> None:
    chosen = select_source(
        settings(
            tmp_path,
            display=xvfb.display,
            **mutter.session(xdg_current_desktop="ubuntu:GNOME"),
        )
    )
    try:
        assert chosen.source is not None and chosen.source.name == "gnome"
        assert dict(chosen.skipped)["wayland"] == "Mutter offers no Wayland idle protocol"
    finally:
        if chosen.source is not None:
            chosen.source.close()
