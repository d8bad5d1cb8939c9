"""The reporter's MQTT contract on a real Mosquitto: retained state, availability,
Home Assistant discovery, the birth message, commands, and the console script."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from testkit.idle_fakes.reporter import HOST, active_state_file
from testkit.support.broker import MosquittoBroker
from testkit.support.probe import Probe
from testkit.support.service_process import service_env
from tests.integration.idle.conftest import ProbeFactory, ReporterFactory

STATE = "idle/desk/state"
STATUS = "idle/desk/status"
PREFIX = "homeassistant"
OCCUPANCY = f"{PREFIX}/binary_sensor/idle_reporter/desk_occupancy/config"
IDLE_TIME = f"{PREFIX}/sensor/idle_reporter/desk_idle_seconds/config"
LOCKED = f"{PREFIX}/binary_sensor/idle_reporter/desk_locked/config"

# From Home Assistant's MQTT binary_sensor / sensor documentation (abbreviations unused).
COMMON_KEYS = {
    "availability", "availability_mode", "availability_template", "availability_topic",
    "device", "device_class", "enabled_by_default", "encoding", "entity_category",
    "entity_picture", "expire_after", "force_update", "icon", "json_attributes_template",
    "json_attributes_topic", "name", "object_id", "default_entity_id", "origin",
    "payload_available", "payload_not_available", "platform", "qos", "state_topic",
    "unique_id", "value_template",
}  # fmt: skip
BINARY_SENSOR_KEYS = COMMON_KEYS | {"off_delay", "payload_off", "payload_on"}
SENSOR_KEYS = COMMON_KEYS | {
    "last_reset_value_template", "suggested_display_precision", "state_class",
    "unit_of_measurement", "options",
}  # fmt: skip
BINARY_SENSOR_CLASSES = {"occupancy", "presence", "motion", "lock", "running", None}
DURATION_UNITS = {"d", "h", "min", "s", "ms"}
STATE_CLASSES = {"measurement", "total", "total_increasing"}


def check_common(config: dict[str, Any], allowed: set[str]) -> None:
    assert set(config) <= allowed, set(config) - allowed
    assert config["state_topic"].startswith(f"idle/{HOST}/")
    assert config["unique_id"].startswith(f"idle_reporter_{HOST}_")
    assert config["qos"] == 1
    assert "expire_after" not in config
    device = config["device"]
    assert device["identifiers"] == [f"idle_reporter_{HOST}"] and device["name"] == HOST
    (availability,) = config["availability"]
    assert availability == {
        "topic": STATUS,
        "payload_available": "online",
        "payload_not_available": "offline",
    }


def configs(probe: Probe) -> dict[str, dict[str, Any] | None]:
    latest: dict[str, dict[str, Any] | None] = {}
    for message in probe.messages:
        if message.topic.endswith("/config"):
            latest[message.topic] = json.loads(message.text) if message.payload else None
    return latest


def test_discovery_matches_home_assistants_schema(
    tmp_path: Path,
    ha: Probe,
    reporter_factory: ReporterFactory,
    probe_factory: ProbeFactory,
) -> None:
    reporter_factory(idle_source="file", idle_state_file=active_state_file(tmp_path))
    ha.wait_for(OCCUPANCY)
    ha.wait_for(IDLE_TIME)
    ha.wait_for(LOCKED)
    found = configs(ha)
    occupancy, idle_time = found[OCCUPANCY], found[IDLE_TIME]
    assert occupancy is not None and idle_time is not None
    check_common(occupancy, BINARY_SENSOR_KEYS)
    assert occupancy["device_class"] in BINARY_SENSOR_CLASSES
    assert occupancy["device_class"] == "occupancy"
    assert (occupancy["payload_on"], occupancy["payload_off"]) == ("active", "idle")
    assert occupancy["state_topic"] == STATE
    check_common(idle_time, SENSOR_KEYS)
    assert idle_time["device_class"] == "duration"
    assert idle_time["unit_of_measurement"] in DURATION_UNITS
    assert idle_time["unit_of_measurement"] == "s"
    assert idle_time["state_class"] in STATE_CLASSES and idle_time["state_class"] == "measurement"
    assert occupancy["device"] == idle_time["device"]  # one device per host
    # The state file cannot tell "locked": that entity is removed, not left stale.
    assert found[LOCKED] is None
    # Configs and availability are retained for a Home Assistant that starts later.
    late = probe_factory()
    late.subscribe(f"{PREFIX}/+/idle_reporter/#")
    late.subscribe(STATUS)
    assert late.wait_for(STATUS)[0].retain and late.wait_for(STATUS)[0].text == "online"
    assert {m.topic for m in late.messages if m.retain} >= {OCCUPANCY, IDLE_TIME}


def test_birth_message_resends_discovery_and_state(
    tmp_path: Path, ha: Probe, reporter_factory: ReporterFactory
) -> None:
    reporter_factory(idle_source="file", idle_state_file=active_state_file(tmp_path))
    ha.wait_for(OCCUPANCY)
    states = len(ha.wait_for(STATE))
    ha.publish(f"{PREFIX}/status", "online")
    ha.wait_for(OCCUPANCY, count=2)
    ha.wait_for(IDLE_TIME, count=2)
    ha.wait_for(STATE, count=states + 1)
    ha.publish(f"{PREFIX}/status", "offline")  # HA's last will: nothing to do
    ha.publish("idle/desk/command", "report")
    ha.wait_for(STATE, count=states + 2)
    assert len(ha.on_topic(OCCUPANCY)) == 2


def test_discovery_off_removes_the_entities(
    tmp_path: Path,
    ha: Probe,
    reporter_factory: ReporterFactory,
    probe_factory: ProbeFactory,
) -> None:
    first = reporter_factory(idle_source="file", idle_state_file=active_state_file(tmp_path))
    ha.wait_for(OCCUPANCY)
    first.stop()
    reporter_factory(
        idle_source="file", idle_state_file=active_state_file(tmp_path), ha_discovery=False
    )
    ha.wait_for(OCCUPANCY, payload=b"")
    ha.wait_for(IDLE_TIME, payload=b"")
    # The state file cannot tell "locked": the first reporter cleared that config too, so
    # the second's clear is the second empty message. Waiting for only one let `late`
    # subscribe before the second clear went through, and receive it live.
    ha.wait_for(LOCKED, payload=b"", count=2)
    late = probe_factory()
    late.subscribe(f"{PREFIX}/+/idle_reporter/#")
    late.subscribe(STATE)  # retained; arrives after any retained config would have
    late.wait_for(STATE)
    assert [m.topic for m in late.messages if m.topic.endswith("/config")] == []


def test_availability_online_then_offline_on_stop(
    tmp_path: Path, ha: Probe, reporter_factory: ReporterFactory
) -> None:
    running = reporter_factory(idle_source="file", idle_state_file=active_state_file(tmp_path))
    ha.wait_for(STATUS, payload=b"online")
    running.stop()
    ha.wait_for(STATUS, payload=b"offline")


def test_unknown_command_is_logged_and_ignored(
    tmp_path: Path,
    ha: Probe,
    reporter_factory: ReporterFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    reporter_factory(idle_source="file", idle_state_file=active_state_file(tmp_path))
    ha.wait_for(STATE, payload=b"active")
    ha.publish("idle/desk/command", "dance")
    ha.publish("idle/desk/command", "REPORT")
    ha.wait_for(STATE, count=2)
    assert "Ignoring unknown command 'dance' on idle/desk/command" in caplog.text
    assert "report, lock" in caplog.text


def test_no_working_source_reports_unknown(
    tmp_path: Path, ha: Probe, reporter_factory: ReporterFactory, caplog: pytest.LogCaptureFixture
) -> None:
    reporter_factory(idle_source="evdev", idle_input_devices=str(tmp_path / "missing*"))
    ha.wait_for(STATE, payload=b"unknown")
    ha.wait_for(STATUS, payload=b"online")
    assert caplog.text.count("No idle source works here yet") == 1


def reporter_env(broker: MosquittoBroker, tmp_path: Path, **extra: str) -> dict[str, str]:
    defaults = {
        "IDLE_HOST_NAME": HOST,
        "IDLE_SOURCE": "file",
        "IDLE_STATE_FILE": str(tmp_path / "idle-state"),
        "IDLE_POLL_INTERVAL": "0.1",
        "IDLE_THRESHOLD": "1",
    }
    return service_env(broker, tmp_path / "state", user="idle_reporter", **(defaults | extra))


def test_console_script_runs_and_stops_cleanly_on_sigterm(
    broker: MosquittoBroker, tmp_path: Path, ha: Probe
) -> None:
    active_state_file(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "idle_reporter"],
        env=reporter_env(broker, tmp_path),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ha.wait_for(STATE, payload=b"active")
        ha.wait_for(STATUS, payload=b"online")
    finally:
        process.send_signal(signal.SIGTERM)
        _out, errors = process.communicate(timeout=15)
    assert process.returncode == 0, errors
    ha.wait_for(STATUS, payload=b"offline")
    assert "Using idle source file" in errors


def test_bad_setting_stops_at_start_with_one_line(broker: MosquittoBroker, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "idle_reporter"],
        check=False,
        env=reporter_env(broker, tmp_path, IDLE_THRESHOLD="-5", IDLE_SOURCE="wayland-magic"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "IDLE_THRESHOLD" in lines[0] and "IDLE_SOURCE" in lines[0]


def test_lock_without_a_reachable_system_bus_is_a_clear_error(
    tmp_path: Path,
    ha: Probe,
    reporter_factory: ReporterFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    reporter_factory(
        idle_source="file",
        idle_state_file=active_state_file(tmp_path),
        dbus_system_bus_address=f"unix:path={tmp_path / 'no-bus'}",
    )
    ha.wait_for(STATE, payload=b"active")
    ha.publish("idle/desk/command", "lock")
    ha.publish("idle/desk/command", "report")
    ha.wait_for(STATE, count=2)
    assert "Command lock failed" in caplog.text and "system bus" in caplog.text


def test_broker_restart_republishes_availability_and_state(
    broker: MosquittoBroker,
    tmp_path: Path,
    reporter_factory: ReporterFactory,
    probe_factory: ProbeFactory,
) -> None:
    running = reporter_factory(idle_source="file", idle_state_file=active_state_file(tmp_path))
    first = probe_factory()
    first.subscribe(STATUS)
    first.wait_for(STATUS, payload=b"online")
    connects = running.connection.connect_count
    broker.restart()
    # The reporter reconnects on its own (paho's backoff) and says online again.
    after = probe_factory()
    after.subscribe(STATE)
    after.subscribe(STATUS)
    after.wait_until(lambda: running.connection.connect_count > connects, what="reconnect")
    after.wait_for(STATUS, payload=b"online")
    assert after.wait_for(STATE)[0].text == "active"


def test_compose_service_with_no_desktop_reports_unknown_until_a_hook_writes(
    broker: MosquittoBroker, tmp_path: Path, ha: Probe
) -> None:
    """docker-compose.yml's settings (IDLE_SOURCE=file, the hooks' directory mounted) on a
    machine where no desktop session wrote anything: `unknown`, never a made-up `active`."""
    hooks_dir = tmp_path / "idle-state"
    hooks_dir.mkdir()
    env = reporter_env(
        broker,
        tmp_path,
        IDLE_SOURCE="file",
        IDLE_STATE_FILE=str(hooks_dir / "idle-state"),
        IDLE_SOURCE_RETRY="0.2",
    )
    process = subprocess.Popen([sys.executable, "-m", "idle_reporter"], env=env)
    try:
        ha.wait_for(STATUS, payload=b"online")
        first = ha.wait_for(STATE)[0]
        assert first.text == "unknown"
        (hooks_dir / "idle-state").write_text("idle 300\n")  # the session's first hook
        ha.wait_for(STATE, payload=b"idle")
        assert [m.text for m in ha.on_topic(STATE)] == ["unknown", "idle"]
    finally:
        process.terminate()
        process.wait(timeout=15)
