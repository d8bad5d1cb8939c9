"""Settings, discovery, auto order, commands and the parsers of the file and evdev sources."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from idle_reporter.commands import Command, parse_command
from idle_reporter.discovery import entities
from idle_reporter.publisher import Topics
from idle_reporter.settings import IdleSettings
from idle_reporter.sleepwatch import SleepWatch
from idle_reporter.sources.auto import plan
from idle_reporter.sources.evdev import (
    EV_ABS,
    EV_KEY,
    EV_MSC,
    EV_SYN,
    INPUT_EVENT,
    count_activity,
    pack_event,
)
from idle_reporter.sources.file import parse_state
from mqtt_service.config import load_settings
from mqtt_service.errors import ConfigError


def make(**values: Any) -> IdleSettings:
    return IdleSettings(state_dir=Path("/tmp/unused"), **values)


# ----------------------------------------------------------------- settings
def test_defaults_are_the_documented_ones() -> None:
    settings = make()
    assert (settings.idle_threshold, settings.idle_poll_interval) == (300, 5)
    assert settings.idle_report_interval == 60
    assert settings.idle_source == "auto" and settings.idle_base_topic == "idle"
    assert settings.idle_host_name
    assert settings.unknown_after == 15


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDLE_SOURCE", "GNOME")
    monkeypatch.setenv("IDLE_THRESHOLD", "0.5")
    monkeypatch.setenv("IDLE_HOST_NAME", "office-pc")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    settings = load_settings(IdleSettings)
    assert settings.idle_source == "gnome" and settings.idle_threshold == 0.5
    assert settings.topic_prefix == "idle/office-pc"
    assert settings.session_bus_address == "unix:path=/run/user/1000/bus"
    assert settings.state_file == Path("/run/user/1000/idle-state")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("IDLE_HOST_NAME", "a/b"),
        ("IDLE_HOST_NAME", "desk+"),
        ("IDLE_BASE_TOPIC", "idle/#"),
        ("IDLE_SOURCE", "magic"),
        ("IDLE_POLL_INTERVAL", "0"),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        load_settings(IdleSettings)


# ---------------------------------------------------------------- discovery
def test_discovery_topics_are_in_the_acl_subtree() -> None:
    found = entities(
        Topics("idle/Desk PC"), "Desk PC", "homeassistant", knows_locked=True, enabled=True
    )
    assert set(found) == {
        "homeassistant/binary_sensor/idle_reporter/desk_pc_occupancy/config",
        "homeassistant/sensor/idle_reporter/desk_pc_idle_seconds/config",
        "homeassistant/binary_sensor/idle_reporter/desk_pc_locked/config",
    }
    assert all(config is not None for config in found.values())


def test_disabled_discovery_removes_every_entity() -> None:
    found = entities(Topics("idle/desk"), "desk", "ha", knows_locked=True, enabled=False)
    assert list(found.values()) == [None, None, None]


def test_locked_entity_has_no_inverted_lock_device_class() -> None:
    found = entities(Topics("idle/desk"), "desk", "ha", knows_locked=True, enabled=True)
    locked = found["ha/binary_sensor/idle_reporter/desk_locked/config"]
    assert locked is not None and "device_class" not in locked


# -------------------------------------------------------------- auto order
def test_wayland_order_has_no_x11() -> None:
    chosen = plan(make(xdg_session_type="wayland", display=":0"))
    assert "x11" not in chosen.order
    assert "x11" in dict(chosen.excluded)


def test_gnome_wayland_prefers_mutter_then_logind() -> None:
    chosen = plan(
        make(
            xdg_session_type="wayland",
            xdg_current_desktop="ubuntu:GNOME",
            wayland_display="wayland-0",
        )
    )
    assert chosen.order[:3] == ["gnome", "logind", "evdev"]
    assert "x11" not in chosen.order and "wayland" not in chosen.order


def test_kde_never_relies_on_logind() -> None:
    chosen = plan(make(xdg_session_type="x11", xdg_current_desktop="KDE"))
    assert chosen.order[0] == "kde" and "logind" not in chosen.order
    assert "x11" in chosen.order and "wayland" not in chosen.order


def test_plasma_wayland_prefers_the_compositors_idle_protocol() -> None:
    chosen = plan(
        make(xdg_session_type="wayland", xdg_current_desktop="KDE", wayland_display="wayland-0")
    )
    assert chosen.order[:2] == ["wayland", "kde"] and "logind" not in chosen.order


def test_sway_and_hyprland_prefer_the_wayland_protocol_then_the_hook_file() -> None:
    chosen = plan(
        make(xdg_session_type="wayland", xdg_current_desktop="sway", wayland_display="wayland-1")
    )
    assert chosen.order == ["wayland", "file", "evdev", "logind"]


def test_without_a_wayland_socket_the_wayland_source_is_skipped_with_a_reason() -> None:
    chosen = plan(make(xdg_session_type="wayland", xdg_current_desktop="Hyprland"))
    assert chosen.order == ["file", "evdev", "logind"]
    assert dict(chosen.excluded)["wayland"] == "WAYLAND_DISPLAY is not set"


def test_x11_session_prefers_the_screensaver_extension() -> None:
    assert plan(make(xdg_session_type="x11")).order[0] == "x11"


def test_an_explicit_state_file_comes_first() -> None:
    chosen = plan(make(xdg_current_desktop="GNOME", idle_state_file=Path("/run/idle")))
    assert chosen.order[0] == "file"


# ----------------------------------------------------------------- commands
def test_commands_are_parsed_case_insensitively() -> None:
    assert parse_command(b" Report\n", "t") is Command.REPORT
    assert parse_command(b"lock", "t") is Command.LOCK


def test_unknown_command_is_an_error_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    assert parse_command(b"\xffreboot", "idle/desk/command") is None
    assert "Ignoring unknown command" in caplog.text and "idle/desk/command" in caplog.text


# ------------------------------------------------------------------ parsers
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("idle\n", (True, 0.0)),
        ("idle 300\n", (True, 300.0)),
        ("IDLE soon", (True, 0.0)),
        ("active\n", (False, 0.0)),
        ("resume", (False, 0.0)),
        ("", None),
        ("locked", None),
    ],
)
def test_state_file_words(text: str, expected: tuple[bool, float] | None) -> None:
    assert parse_state(text) == expected


def test_input_event_records_are_the_kernel_layout() -> None:
    assert INPUT_EVENT.size == 24  # 64-bit: two longs, two u16, one s32
    record = pack_event(EV_KEY, 30, 1, when=12.5)
    assert INPUT_EVENT.unpack(record) == (12, 500000, EV_KEY, 30, 1)


def test_only_a_persons_input_counts_as_activity() -> None:
    noise = pack_event(EV_SYN, 0, 0) + pack_event(EV_MSC, 4, 7)
    assert count_activity(noise) == 0
    assert count_activity(noise + pack_event(EV_ABS, 0, 100) + pack_event(EV_KEY, 1, 0)) == 2


# --------------------------------------------------------------- sleepwatch
def test_a_jump_between_boottime_and_monotonic_is_a_resume(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clocks = {time.CLOCK_BOOTTIME: 1000.0, time.CLOCK_MONOTONIC: 900.0}
    monkeypatch.setattr(time, "clock_gettime", lambda clock: clocks[clock])
    watch = SleepWatch()
    clocks[time.CLOCK_BOOTTIME] += 5
    clocks[time.CLOCK_MONOTONIC] += 5
    assert not watch.resumed()  # both clocks ran: awake
    clocks[time.CLOCK_BOOTTIME] += 3600  # only boottime counts a suspend
    clocks[time.CLOCK_MONOTONIC] += 1
    assert watch.resumed()
    assert not watch.resumed()
