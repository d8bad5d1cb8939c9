"""GNOME (Mutter IdleMonitor) and KDE (freedesktop ScreenSaver) over a real session bus."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from idle_reporter.sources.gnome import GnomeSource
from tests.idle_fakes.desktop import FakeGnome, FakeKde
from tests.idle_fakes.waits import wait_for_transitions
from tests.integration.idle.conftest import ReporterFactory
from tests.support.probe import Probe

STATE = "idle/desk/state"
LOCKED = "idle/desk/locked"


@pytest.fixture
def gnome(dbus_address: str) -> Iterator[FakeGnome]:
    fake = FakeGnome(dbus_address).start()
    yield fake
    fake.stop()


@pytest.fixture
def kde(dbus_address: str) -> Iterator[FakeKde]:
    fake = FakeKde(dbus_address).start()
    yield fake
    fake.stop()


def test_gnome_goes_idle_after_the_threshold_and_active_on_input(
    gnome: FakeGnome, dbus_address: str, ha: Probe, reporter_factory: ReporterFactory
) -> None:
    reporter_factory(idle_source="gnome", dbus_session_bus_address=dbus_address)
    # Mutter's counter passes the 0.6 s threshold on its own.
    wait_for_transitions(ha, STATE, ["active", "idle"])
    gnome.input()
    wait_for_transitions(ha, STATE, ["active", "idle", "active"])


def test_gnome_idle_inhibitor_keeps_active(
    gnome: FakeGnome, dbus_address: str, ha: Probe, reporter_factory: ReporterFactory
) -> None:
    gnome.inhibited = True
    gnome.idle_for(600)
    reporter_factory(idle_source="gnome", dbus_session_bus_address=dbus_address)
    ha.wait_for(STATE, payload=b"active")
    ha.publish("idle/desk/command", "report")
    assert [m.text for m in ha.wait_for(STATE, count=2)] == ["active", "active"]
    gnome.inhibited = False
    ha.wait_for(STATE, payload=b"idle")


def test_gnome_lock_screen_is_reported(
    gnome: FakeGnome, dbus_address: str, ha: Probe, reporter_factory: ReporterFactory
) -> None:
    reporter_factory(idle_source="gnome", dbus_session_bus_address=dbus_address)
    ha.wait_for(LOCKED, payload=b"OFF")
    gnome.locked = True
    ha.wait_for(LOCKED, payload=b"ON")


def test_gnome_without_session_manager_still_reports_idle_time(
    dbus_address: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fake = FakeGnome(dbus_address, session_manager=False).start()
    source = GnomeSource(dbus_address)
    try:
        source.open()
        fake.idle_for(42)
        readings = [source.read() for _ in range(5)]
    finally:
        source.close()
        fake.stop()
    assert all(r.inhibited is None and r.idle_seconds >= 42 for r in readings)
    assert caplog.text.count("IsInhibited") == 1  # said once, not per poll


def test_kde_idle_time_and_inhibitor(
    kde: FakeKde, dbus_address: str, ha: Probe, reporter_factory: ReporterFactory
) -> None:
    reporter_factory(idle_source="kde", dbus_session_bus_address=dbus_address)
    wait_for_transitions(ha, STATE, ["active", "idle"])
    kde.inhibited = True
    wait_for_transitions(ha, STATE, ["active", "idle", "active"])
    kde.inhibited = False
    wait_for_transitions(ha, STATE, ["active", "idle", "active", "idle"])
    kde.input()
    wait_for_transitions(ha, STATE, ["active", "idle", "active", "idle", "active"])
    kde.locked = True
    ha.wait_for(LOCKED, payload=b"ON")
    config = json.loads(
        ha.wait_for("homeassistant/binary_sensor/idle_reporter/desk_locked/config")[-1].text
    )
    assert config["unique_id"] == "idle_reporter_desk_locked"


def test_kde_vanishing_is_reported_as_unknown(
    dbus_address: str, ha: Probe, reporter_factory: ReporterFactory
) -> None:
    fake = FakeKde(dbus_address).start()
    reporter_factory(idle_source="kde", dbus_session_bus_address=dbus_address)
    ha.wait_for(STATE, payload=b"active")
    fake.stop()
    ha.wait_for(STATE, payload=b"unknown")


def test_a_desktop_that_logs_in_later_is_picked_up(
    dbus_address: str, ha: Probe, reporter_factory: ReporterFactory
) -> None:
    reporter_factory(idle_source="gnome", dbus_session_bus_address=dbus_address)
    ha.wait_for(STATE, payload=b"unknown")
    fake = FakeGnome(dbus_address).start()
    try:
        wait_for_transitions(ha, STATE, ["unknown", "active"])
        # Now the source tells the lock state, so the "locked" entity is announced.
        locked = "homeassistant/binary_sensor/idle_reporter/desk_locked/config"
        ha.wait_until(lambda: any(m.payload for m in ha.on_topic(locked)), what="the locked entity")
    finally:
        fake.stop()
