"""KDE on X11 (freedesktop ScreenSaver's GetSessionIdleTime, polled) over a real session bus,
and a desktop that logs in after the reporter started. GNOME, Plasma on Wayland and sway
have their own modules against the real compositors."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from testkit.idle_fakes.desktop import FakeKde
from testkit.support.probe import Probe
from testkit.waits import wait_for_transitions
from tests.integration.idle.conftest import ReporterFactory

STATE = "idle/desk/state"
LOCKED = "idle/desk/locked"


@pytest.fixture
def kde(dbus_address: str) -> Iterator[FakeKde]:
    fake = FakeKde(dbus_address).start()
    yield fake
    fake.stop()


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
    reporter_factory(idle_source="kde", dbus_session_bus_address=dbus_address)
    ha.wait_for(STATE, payload=b"unknown")
    fake = FakeKde(dbus_address).start()
    try:
        wait_for_transitions(ha, STATE, ["unknown", "active"])
        # Now the source tells the lock state, so the "locked" entity is announced.
        locked = "homeassistant/binary_sensor/idle_reporter/desk_locked/config"
        ha.wait_until(lambda: any(m.payload for m in ha.on_topic(locked)), what="the locked entity")
    finally:
        fake.stop()
