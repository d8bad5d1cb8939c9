"""The `wayland` source on a real headless KWin (Plasma's compositor): through
`ext_idle_notifier_v1` by default and `org_kde_kwin_idle` when forced, input simulated with
`org_kde_kwin_fake_input`, the lock screen through KWin's org.freedesktop.ScreenSaver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from idle_reporter.dbus import Bus
from idle_reporter.settings import IdleSettings
from idle_reporter.sources.auto import select_source
from idle_reporter.sources.wayland import EXT_IDLE, KDE_IDLE, WaylandSource
from testkit.idle_fakes.checks import check_idle_then_input_wakes
from testkit.idle_fakes.compositors import Desktop, desktop_with_bus, start_kwin
from testkit.idle_fakes.desktop_input import KwinFakeInput
from testkit.idle_fakes.inhibitor import check_video_keeps_the_desk_active
from testkit.support.probe import Probe
from testkit.waits import NextMessage
from tests.integration.idle.conftest import ReporterFactory

STATE = "idle/desk/state"
LOCKED = "idle/desk/locked"
NO_POLLING = {"idle_poll_interval": 3600, "idle_report_interval": 3600}
SCREENSAVER = "org.freedesktop.ScreenSaver"


@pytest.fixture
def person(kwin: Desktop) -> Iterator[KwinFakeInput]:
    device = KwinFakeInput(kwin.compositor)
    yield device
    device.close()


def wayland_source(desktop: Desktop, protocol: str = "auto") -> WaylandSource:
    settings = IdleSettings(state_dir=Path("/nonexistent"), **desktop.session())
    return WaylandSource(
        lambda: settings.wayland_socket,
        0.3,
        protocol=protocol,
        session_bus=desktop.bus_address,
    )


@pytest.mark.parametrize("protocol", [EXT_IDLE, KDE_IDLE])
def test_idle_then_input_through_each_protocol(
    kwin: Desktop, person: KwinFakeInput, protocol: str
) -> None:
    source = wayland_source(kwin, protocol)
    idle = check_idle_then_input_wakes(source, person.move_pointer)
    assert source.protocol == protocol and idle.idle_seconds >= 0.3


def test_auto_prefers_ext_idle_notifier(kwin: Desktop) -> None:
    source = wayland_source(kwin)
    source.open()
    try:
        assert source.protocol == EXT_IDLE
    finally:
        source.close()


def test_kwin_through_the_broker_by_events_alone(
    kwin: Desktop, person: KwinFakeInput, ha: Probe, reporter_factory: ReporterFactory
) -> None:
    reporter_factory(
        idle_source="wayland", idle_wayland_protocol=KDE_IDLE, **kwin.session(**NO_POLLING)
    )
    ha.wait_for(STATE, payload=b"idle")
    active = NextMessage(ha, STATE, b"active")
    person.move_pointer()
    active.wait()


def test_auto_in_plasma_wayland_picks_wayland_and_says_why_not_kde(
    kwin: Desktop, tmp_path: Path
) -> None:
    settings = IdleSettings(
        state_dir=tmp_path,
        dbus_system_bus_address=f"unix:path={tmp_path / 'no-system-bus'}",
        idle_input_devices=str(tmp_path / "no-event*"),
        **kwin.session(xdg_current_desktop="KDE"),
    )
    chosen = select_source(settings)
    assert chosen.source is not None
    chosen.source.close()
    assert chosen.source.name == "wayland"
    assert dict(chosen.skipped)["logind"] == "KDE does not maintain logind's IdleHint"
    # The old KDE source on the same desktop says plainly why it cannot work.
    kde = select_source(settings.model_copy(update={"idle_source": "kde"}))
    assert kde.source is None
    assert "refuses GetSessionIdleTime (Plasma on Wayland)" in dict(kde.skipped)["kde"]


def test_lock_screen_is_reported(
    tmp_path: Path, ha: Probe, reporter_factory: ReporterFactory
) -> None:
    """A KWin of its own: once locked it stays locked (no one can type the password)."""
    with desktop_with_bus(tmp_path / "kwin", start_kwin) as desktop:
        assert desktop.bus_address is not None
        reporter_factory(idle_source="wayland", **desktop.session(**NO_POLLING))
        ha.wait_for(LOCKED, payload=b"OFF")
        bus = Bus(desktop.bus_address, "test session", timeout=10)
        try:
            bus.call(SCREENSAVER, "/ScreenSaver", SCREENSAVER, "Lock")
            ha.wait_for(LOCKED, payload=b"ON")
        finally:
            bus.close()


def test_a_playing_video_keeps_the_desk_active(kwin: Desktop) -> None:
    check_video_keeps_the_desk_active(kwin)
