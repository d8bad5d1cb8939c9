"""Settings of the idle reporter: the MQTT core's plus the `IDLE_*` variables.

Thresholds and intervals are floats so tests (and impatient users) can use sub-second
values; the defaults are the documented 300 s / 5 s / 60 s.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from idle_reporter.errors import SourceUnavailableError
from mqtt_service.config import MqttSettings

SourceName = Literal["auto", "wayland", "logind", "gnome", "kde", "x11", "evdev", "file"]
WaylandProtocol = Literal["auto", "ext_idle_notifier_v1", "org_kde_kwin_idle"]

DEFAULT_SYSTEM_BUS = "unix:path=/run/dbus/system_bus_socket"
DEFAULT_INPUT_DEVICES = "/dev/input/event*"


def _default_host_name() -> str:
    return socket.gethostname().split(".")[0] or "desktop"


class IdleSettings(MqttSettings):
    """Everything the reporter reads from the environment."""

    idle_base_topic: str = Field(
        default="idle",
        min_length=1,
        description=(
            "First level of the reporter's topics. The broker's ACL assumes `idle`: change "
            "mosquitto/config/acl with it."
        ),
    )
    idle_host_name: str = Field(
        default_factory=_default_host_name,
        min_length=1,
        description=(
            "Name this computer reports under: the second topic level (idle/<name>/...) and "
            "the Home Assistant device; no /, + or #. Default: the host's name."
        ),
    )
    idle_source: SourceName = Field(
        default="auto",
        description=(
            "Where the idle time comes from: auto, wayland, gnome, kde, logind, x11, evdev "
            "or file. auto picks by session type and by what answers, and logs why."
        ),
    )
    idle_threshold: float = Field(
        default=300.0, gt=0, description="Seconds without input before the desk is idle."
    )
    idle_poll_interval: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description=(
            "Seconds between reads of a polled source (x11, kde, logind, evdev, file). "
            "Event-driven sources (wayland, gnome) report changes at once instead."
        ),
    )
    idle_report_interval: float = Field(
        default=60.0, gt=0, description="At most this often, publish a changed idle_seconds."
    )
    idle_unknown_after: float | None = Field(
        default=None,
        gt=0,
        description=(
            "Seconds without an answer from the source before the state becomes `unknown`. "
            "Default: three poll intervals, at least 3 s, so a busy bus is not taken for a "
            "dead one."
        ),
    )
    idle_source_retry: float = Field(
        default=60.0,
        gt=0,
        description=(
            "With no working source, seconds between two looks for one (the desktop may log "
            "in later)."
        ),
    )
    idle_state_file: Path | None = Field(
        default=None,
        description=(
            "The file hypridle/swayidle hooks write (IDLE_SOURCE=file). Default: "
            "$XDG_RUNTIME_DIR/idle-state."
        ),
    )
    idle_input_devices: str = Field(
        default=DEFAULT_INPUT_DEVICES,
        description="For `evdev`: comma-separated device paths or globs.",
    )
    idle_wayland_protocol: WaylandProtocol = Field(
        default="auto",
        description=(
            "For `wayland`: auto (ext_idle_notifier_v1, else org_kde_kwin_idle), or force "
            "ext_idle_notifier_v1 or org_kde_kwin_idle."
        ),
    )
    idle_ha_birth_delay: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description=(
            "When Home Assistant restarts, wait a random 0 to this many seconds before "
            "re-sending discovery and state, so many reporters do not answer at once."
        ),
    )

    # Standard variables of the desktop session, passed into the container as they are.
    dbus_system_bus_address: str = Field(
        default=DEFAULT_SYSTEM_BUS, description="The system bus (logind, the lock command)."
    )
    dbus_session_bus_address: str | None = Field(
        default=None,
        description="The desktop session's bus (default: $XDG_RUNTIME_DIR/bus).",
    )
    display: str | None = Field(default=None, description="The X11 display, for `x11`.")
    wayland_display: str | None = Field(
        default=None,
        description="The Wayland socket, a name in XDG_RUNTIME_DIR or a path, for `wayland`.",
    )
    xdg_session_type: str | None = Field(
        default=None, description="wayland or x11: decides the order `auto` tries sources in."
    )
    xdg_current_desktop: str | None = Field(
        default=None, description="GNOME, KDE, sway, ...: decides the order of `auto` too."
    )
    xdg_runtime_dir: Path | None = Field(
        default=None, description="The user's runtime directory (sockets, the state file)."
    )

    @field_validator("idle_source", mode="before")
    @classmethod
    def _lower_source(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("idle_host_name")
    @classmethod
    def _host_is_one_level(cls, value: str) -> str:
        """The host name is one topic level: `/`, `+` or `#` would break every topic."""
        value = value.strip()
        if not value or any(char in value for char in "+#/"):
            raise ValueError("must be a non-empty topic level without '/', '+' or '#'")
        return value

    @field_validator("idle_base_topic")
    @classmethod
    def _base_has_no_wildcards(cls, value: str) -> str:
        value = value.strip().strip("/")
        if not value or "+" in value or "#" in value:
            raise ValueError("must be a non-empty topic without '+' or '#'")
        return value

    @property
    def unknown_after(self) -> float:
        if self.idle_unknown_after is not None:
            return self.idle_unknown_after
        return max(3 * self.idle_poll_interval, 3.0)

    @property
    def topic_prefix(self) -> str:
        """`idle/<host>`: every topic of this reporter lives below it."""
        return f"{self.idle_base_topic}/{self.idle_host_name}"

    @property
    def session_bus_address(self) -> str | None:
        """DBUS_SESSION_BUS_ADDRESS, else the standard socket in XDG_RUNTIME_DIR."""
        if self.dbus_session_bus_address:
            return self.dbus_session_bus_address
        runtime = self.xdg_runtime_dir or Path(f"/run/user/{os.getuid()}")
        return f"unix:path={runtime / 'bus'}"

    @property
    def wayland_socket(self) -> Path:
        """WAYLAND_DISPLAY as a path: absolute as it is, else inside XDG_RUNTIME_DIR.
        Raises SourceUnavailableError when the session names no socket."""
        if not self.wayland_display:
            raise SourceUnavailableError("WAYLAND_DISPLAY is not set (not a Wayland session)")
        path = Path(self.wayland_display)
        if path.is_absolute():
            return path
        if self.xdg_runtime_dir is None:
            raise SourceUnavailableError(
                f"WAYLAND_DISPLAY={self.wayland_display} needs XDG_RUNTIME_DIR"
            )
        return self.xdg_runtime_dir / path

    @property
    def state_file(self) -> Path | None:
        """IDLE_STATE_FILE, else `$XDG_RUNTIME_DIR/idle-state` as the snippets write."""
        if self.idle_state_file is not None:
            return self.idle_state_file
        if self.xdg_runtime_dir is not None:
            return self.xdg_runtime_dir / "idle-state"
        return None

    @property
    def input_device_patterns(self) -> list[str]:
        return [part.strip() for part in self.idle_input_devices.split(",") if part.strip()]
