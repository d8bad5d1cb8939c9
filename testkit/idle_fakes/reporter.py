"""Runs the idle reporter in-process against the test broker, with fast timings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from idle_reporter.service import IdleReporter
from idle_reporter.settings import IdleSettings
from mqtt_service.connection import MqttConnection
from testkit.support.broker import MosquittoBroker, password_for

HOST = "desk"
# Variables of the machine running the tests that must not leak into a reporter.
SESSION_VARIABLES = (
    "DBUS_SESSION_BUS_ADDRESS",
    "DBUS_SYSTEM_BUS_ADDRESS",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XDG_SESSION_TYPE",
    "XDG_CURRENT_DESKTOP",
    "XDG_RUNTIME_DIR",
)


def fast_settings(broker: MosquittoBroker, state_dir: Path, **overrides: Any) -> IdleSettings:
    values: dict[str, Any] = {
        "mqtt_host": broker.host,
        "mqtt_port": broker.port,
        "mqtt_username": "idle_reporter",
        "mqtt_password": password_for("idle_reporter"),
        "state_dir": state_dir,
        "idle_host_name": HOST,
        "idle_threshold": 0.6,
        "idle_poll_interval": 0.1,
        "idle_report_interval": 0.2,
        "idle_unknown_after": 0.5,
        "idle_ha_birth_delay": 0.2,
        "idle_source_retry": 0.5,
        "health_interval": 60,
    }
    values.update(overrides)
    return IdleSettings(**values)


@dataclass
class RunningReporter:
    settings: IdleSettings
    connection: MqttConnection
    reporter: IdleReporter
    stopped: bool = False

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.reporter.stop()
            self.connection.stop()


def start_reporter(settings: IdleSettings) -> RunningReporter:
    connection = MqttConnection(
        settings, service_name="idle_reporter", base_topic=settings.topic_prefix
    )
    reporter = IdleReporter(settings, connection)
    reporter.start()
    connection.start()
    return RunningReporter(settings, connection, reporter)


def active_state_file(directory: Path) -> Path:
    """A state file as the desktop's hook leaves it after the user came back."""
    path = directory / "idle-state"
    path.write_text("active\n", encoding="utf-8")
    return path
