"""logind through a real dbus-daemon with a fake login1 service, reported via Mosquitto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.idle_fakes.dbus_daemon import DBusDaemon
from testkit.idle_fakes.login1 import FakeLogind
from testkit.idle_fakes.reporter import active_state_file
from testkit.support.probe import Probe
from testkit.waits import wait_for_transitions
from tests.integration.idle.conftest import ProbeFactory, ReporterFactory

STATE = "idle/desk/state"
LOCKED = "idle/desk/locked"
LOCKED_CONFIG = "homeassistant/binary_sensor/idle_reporter/desk_locked/config"


@pytest.fixture
def logind(dbus_address: str) -> Iterator[FakeLogind]:
    fake = FakeLogind(dbus_address).start()
    yield fake
    fake.stop()


def start(reporter_factory: ReporterFactory, address: str) -> None:
    reporter_factory(idle_source="logind", dbus_system_bus_address=address)


def test_idle_hint_goes_idle_and_input_goes_active(
    logind: FakeLogind,
    dbus_address: str,
    ha: Probe,
    reporter_factory: ReporterFactory,
    probe_factory: ProbeFactory,
) -> None:
    start(reporter_factory, dbus_address)
    ha.wait_for(STATE, payload=b"active")
    late = probe_factory()
    late.subscribe(STATE)
    retained = late.wait_for(STATE)[0]
    assert retained.retain and retained.qos == 1 and retained.text == "active"
    logind.set_idle(True, seconds_ago=30)
    ha.wait_for(STATE, payload=b"idle")
    ha.wait_until(
        lambda: any(int(m.text) >= 30 for m in ha.on_topic("idle/desk/idle_seconds")),
        what="idle seconds counted from logind's IdleSinceHint",
    )
    logind.set_idle(False)
    wait_for_transitions(ha, STATE, ["active", "idle", "active"])


def test_an_idle_inhibitor_keeps_the_desk_active(
    logind: FakeLogind, dbus_address: str, ha: Probe, reporter_factory: ReporterFactory
) -> None:
    logind.set_idle_inhibited(True)
    logind.set_idle(True, seconds_ago=600)
    start(reporter_factory, dbus_address)
    ha.wait_for(STATE, payload=b"active")
    # A report re-reads the source: still active while the video holds its inhibitor.
    ha.publish("idle/desk/command", "report")
    reports = ha.wait_for(STATE, count=2)
    assert [m.text for m in reports] == ["active", "active"]
    logind.set_idle_inhibited(False)
    ha.wait_for(STATE, payload=b"idle")


def test_locked_hint_toggles_and_has_an_entity(
    logind: FakeLogind, dbus_address: str, ha: Probe, reporter_factory: ReporterFactory
) -> None:
    start(reporter_factory, dbus_address)
    ha.wait_for(LOCKED, payload=b"OFF")
    config = json.loads(ha.wait_for(LOCKED_CONFIG)[-1].text)
    assert config["state_topic"] == LOCKED and config["payload_on"] == "ON"
    logind.set_locked(True)
    ha.wait_for(LOCKED, payload=b"ON")
    logind.set_locked(False)
    wait_for_transitions(ha, LOCKED, ["OFF", "ON", "OFF"])


def test_resume_from_sleep_republishes_the_state(
    logind: FakeLogind, dbus_address: str, ha: Probe, reporter_factory: ReporterFactory
) -> None:
    start(reporter_factory, dbus_address)
    ha.wait_for(STATE, payload=b"active")
    before = len(ha.on_topic(STATE))
    logind.prepare_for_sleep(True)
    logind.set_idle(True, seconds_ago=3600)
    logind.prepare_for_sleep(False)
    states = ha.wait_for(STATE, payload=b"idle")
    assert len(ha.on_topic(STATE)) > before
    # The resume forces a full report even when the state did not change.
    logind.set_idle(True, seconds_ago=3600)
    logind.prepare_for_sleep(True)
    logind.prepare_for_sleep(False)
    ha.wait_for(STATE, payload=b"idle", count=len(states) + 1)


def test_vanished_service_becomes_unknown_then_recovers(
    dbus_address: str,
    ha: Probe,
    reporter_factory: ReporterFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeLogind(dbus_address).start()
    start(reporter_factory, dbus_address)
    ha.wait_for(STATE, payload=b"active")
    fake.stop()
    ha.wait_for(STATE, payload=b"unknown")
    assert "stopped answering" in caplog.text
    assert "logind" in caplog.text
    again = FakeLogind(dbus_address).start()
    try:
        wait_for_transitions(ha, STATE, ["active", "unknown", "active"])
    finally:
        again.stop()


def test_lock_command_locks_the_session_through_logind(
    logind: FakeLogind, dbus_address: str, ha: Probe, reporter_factory: ReporterFactory
) -> None:
    start(reporter_factory, dbus_address)
    ha.wait_for(LOCKED, payload=b"OFF")
    ha.publish("idle/desk/command", "lock")
    ha.wait_for(LOCKED, payload=b"ON")
    assert logind.lock_calls == 1


def test_lock_command_works_with_another_idle_source(
    logind: FakeLogind,
    dbus_address: str,
    ha: Probe,
    reporter_factory: ReporterFactory,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    state_file = active_state_file(tmp_path_factory.mktemp("run"))
    reporter_factory(
        idle_source="file", idle_state_file=state_file, dbus_system_bus_address=dbus_address
    )
    ha.wait_for(STATE, payload=b"active")
    ha.publish("idle/desk/command", "lock")
    ha.publish("idle/desk/command", "report")
    ha.wait_for(STATE, count=2)
    assert logind.lock_calls == 1


def test_sessions_are_enumerated_without_seat0(
    dbus_address: str, ha: Probe, reporter_factory: ReporterFactory
) -> None:
    fake = FakeLogind(dbus_address, with_seat0=False).start()
    try:
        fake.set_idle(True, seconds_ago=10)
        start(reporter_factory, dbus_address)
        ha.wait_for(STATE, payload=b"idle")
        assert any(member == "ListSessions" for _path, _interface, member in fake.calls)
    finally:
        fake.stop()


def test_kde_session_warns_that_idle_hint_is_not_maintained(
    dbus_address: str,
    ha: Probe,
    reporter_factory: ReporterFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeLogind(dbus_address, desktop="KDE").start()
    try:
        start(reporter_factory, dbus_address)
        ha.wait_for(STATE, payload=b"active")
    finally:
        fake.stop()
    assert caplog.text.count("KDE does not maintain logind's IdleHint") == 1


def test_a_restarted_bus_is_reconnected(
    tmp_path: Path, ha: Probe, reporter_factory: ReporterFactory
) -> None:
    daemon = DBusDaemon(tmp_path / "system-bus")
    address = daemon.start()
    fake = FakeLogind(address).start()
    start(reporter_factory, address)
    ha.wait_for(STATE, payload=b"active")
    fake.stop()
    daemon.stop()  # a system update restarts dbus: the held connection breaks
    ha.wait_for(STATE, payload=b"unknown")
    address = daemon.start()  # same socket path
    again = FakeLogind(address).start()
    try:
        again.set_idle(True, seconds_ago=5)
        wait_for_transitions(ha, STATE, ["active", "unknown", "idle"])
    finally:
        again.stop()
        daemon.stop()
