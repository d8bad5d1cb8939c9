"""The `gnome` source on a real headless mutter: its IdleMonitor watches, input through
mutter's RemoteDesktop, and gnome-shell's lock screen and gnome-session's inhibitors
(which cannot run here: fakes of those two services sit on the same session bus)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from idle_reporter.sources.gnome import GnomeSource
from testkit.idle_fakes.checks import check_idle_then_input_wakes
from testkit.idle_fakes.compositors import Desktop, desktop_with_bus, start_mutter
from testkit.idle_fakes.desktop import FakeGnomeShell
from testkit.idle_fakes.desktop_input import MutterInput
from testkit.support.probe import Probe
from testkit.waits import NextMessage, eventually
from tests.integration.idle.conftest import ReporterFactory

STATE = "idle/desk/state"
LOCKED = "idle/desk/locked"
LOCKED_CONFIG = "homeassistant/binary_sensor/idle_reporter/desk_locked/config"
# Only events can deliver a change within a test's lifetime at these intervals.
NO_POLLING = {"idle_poll_interval": 3600, "idle_report_interval": 3600}


@pytest.fixture
def person(mutter: Desktop) -> Iterator[MutterInput]:
    assert mutter.bus_address is not None
    device = MutterInput(mutter.bus_address)
    yield device
    device.close()


@pytest.fixture
def shell(mutter: Desktop) -> Iterator[FakeGnomeShell]:
    assert mutter.bus_address is not None
    fake = FakeGnomeShell(mutter.bus_address).start()
    yield fake
    fake.stop()


def test_idle_time_does_not_depend_on_a_broken_lock_service(mutter: Desktop) -> None:
    """org.gnome.ScreenSaver fails to start on this bus; Mutter's idle time still counts."""
    source = GnomeSource(mutter.bus_address, threshold=0.3)
    source.open()
    try:
        eventually(lambda: source.read().idle_hint is True, "mutter's idle watch to fire")
        first = source.read().idle_seconds
        eventually(lambda: source.read().idle_seconds > first, "the idle time to grow")
        assert first >= 0.3 and source.knows_locked is False
    finally:
        source.close()


def test_idle_and_input_arrive_as_events(
    mutter: Desktop, person: MutterInput, ha: Probe, reporter_factory: ReporterFactory
) -> None:
    reporter_factory(idle_source="gnome", **mutter.session(**NO_POLLING))
    ha.wait_for(STATE, payload=b"idle")
    active = NextMessage(ha, STATE, b"active")
    person.move_pointer()
    active.wait()
    idle_again = NextMessage(ha, STATE, b"idle")
    idle_again.wait()  # the idle watch fires each time
    active = NextMessage(ha, STATE, b"active")
    person.press_key()
    active.wait()


def test_the_source_wakes_the_service_on_input(mutter: Desktop, person: MutterInput) -> None:
    idle = check_idle_then_input_wakes(GnomeSource(mutter.bus_address, 0.3), person.move_pointer)
    assert idle.idle_seconds >= 0.3


def test_lock_screen_and_inhibitors_from_gnome_shell(
    mutter: Desktop, shell: FakeGnomeShell, ha: Probe, reporter_factory: ReporterFactory
) -> None:
    reporter_factory(idle_source="gnome", **mutter.session(**NO_POLLING))
    ha.wait_for(LOCKED, payload=b"OFF")
    ha.wait_until(lambda: bool(ha.wait_for(LOCKED_CONFIG)[-1].payload), what="locked entity")
    ha.wait_for(STATE, payload=b"idle")
    active = NextMessage(ha, STATE, b"active")
    shell.inhibit()  # a video starts playing
    active.wait()
    idle = NextMessage(ha, STATE, b"idle")
    shell.uninhibit()
    idle.wait()
    shell.set_locked(True)
    ha.wait_for(LOCKED, payload=b"ON")


def test_mutter_exiting_is_reported_as_unknown(
    tmp_path: Path, ha: Probe, reporter_factory: ReporterFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A mutter of its own; the session bus outlives it, as when GNOME Shell crashes."""
    with desktop_with_bus(tmp_path / "mutter", start_mutter) as desktop:
        reporter_factory(idle_source="gnome", **desktop.session())
        ha.wait_until(
            lambda: [m.text for m in ha.on_topic(STATE)][-1:] in (["active"], ["idle"]),
            what="a first state",
        )
        unknown = NextMessage(ha, STATE, b"unknown")
        desktop.compositor.stop()
        unknown.wait()
    assert "Mutter left the session bus" in caplog.text
