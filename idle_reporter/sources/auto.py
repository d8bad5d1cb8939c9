"""Choosing a source: the configured one, or with IDLE_SOURCE=auto the first that works.

The order depends on the session (docs/idle-reporter.md, "Sources"):

* IDLE_STATE_FILE set explicitly: `file` first, the user wired the idle daemon's hooks.
* GNOME: gnome (Mutter's watches), logind, evdev (x11 only in an X11 session). Mutter
  offers no Wayland idle protocol, so `wayland` is not tried.
* KDE: wayland (KWin's idle protocols; only in a Wayland session), kde, evdev, x11 (X11
  session only); not logind, KDE never sets IdleHint.
* Other Wayland compositors (sway, Hyprland, niri, labwc, Wayfire): wayland, file, evdev,
  logind.
* X11 session: x11, gnome, kde, logind, evdev.
* Unknown: gnome, kde, wayland (if WAYLAND_DISPLAY is set), x11 (if DISPLAY is set), file,
  evdev, logind.

X11 is never chosen in a Wayland session: XWayland's counter misses native input.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from idle_reporter.errors import SourceReadError, SourceUnavailableError
from idle_reporter.settings import IdleSettings
from idle_reporter.sources.base import IdleSource

logger = logging.getLogger(__name__)

SourceFactory = Callable[[str, IdleSettings], IdleSource]
WAYLAND_X11_REASON = "Wayland session: X11's idle counter only sees input to XWayland windows"


def build_source(name: str, settings: IdleSettings) -> IdleSource:
    """A fresh, unopened source of that name.

    Each source's module (and its library: Xlib, jeepney) is imported only when that
    source is tried, so a reporter carries just what it uses.
    """
    if name == "logind":
        from idle_reporter.sources.logind import LogindSource

        return LogindSource(settings.dbus_system_bus_address)
    if name == "wayland":
        from idle_reporter.sources.wayland import WaylandSource

        return WaylandSource(
            lambda: settings.wayland_socket,
            settings.idle_threshold,
            protocol=settings.idle_wayland_protocol,
            session_bus=settings.session_bus_address,
        )
    if name == "gnome":
        from idle_reporter.sources.gnome import GnomeSource

        return GnomeSource(settings.session_bus_address, settings.idle_threshold)
    if name == "kde":
        from idle_reporter.sources.kde import KdeSource

        return KdeSource(settings.session_bus_address)
    if name == "x11":
        from idle_reporter.sources.x11 import X11Source

        return X11Source(settings.display)
    if name == "evdev":
        from idle_reporter.sources.evdev import EvdevSource

        return EvdevSource(settings.input_device_patterns)
    if name == "file":
        from idle_reporter.sources.file import FileSource

        return FileSource(settings.state_file)
    raise ValueError(f"unknown idle source {name!r}")


@dataclass
class SessionInfo:
    kind: str  # "wayland", "x11" or "unknown"
    desktops: list[str]

    @classmethod
    def from_settings(cls, settings: IdleSettings) -> SessionInfo:
        session_type = (settings.xdg_session_type or "").strip().lower()
        if session_type not in {"wayland", "x11"}:
            session_type = "wayland" if settings.wayland_display else "unknown"
        desktops = [
            part.strip().upper()
            for part in (settings.xdg_current_desktop or "").split(":")
            if part.strip()
        ]
        return cls(session_type, desktops)

    @property
    def is_gnome(self) -> bool:
        return any("GNOME" in desktop for desktop in self.desktops)

    @property
    def is_kde(self) -> bool:
        return "KDE" in self.desktops


@dataclass
class Plan:
    """Candidates in order, the ones ruled out up front with why, and the reason of the order."""

    order: list[str]
    excluded: list[tuple[str, str]] = field(default_factory=list)
    basis: str = ""


def plan(settings: IdleSettings) -> Plan:
    """The order `auto` tries sources in for this session."""
    session = SessionInfo.from_settings(settings)
    x11_ok = session.kind != "wayland"
    excluded: list[tuple[str, str]] = []
    if session.is_gnome:
        order, basis = ["gnome", "logind", "evdev", "x11", "file"], "GNOME session"
        excluded.append(("wayland", "Mutter offers no Wayland idle protocol"))
    elif session.is_kde:
        order, basis = ["wayland", "kde", "evdev", "x11", "file"], "KDE session"
        excluded.append(("logind", "KDE does not maintain logind's IdleHint"))
    elif session.kind == "wayland":
        order, basis = ["wayland", "file", "evdev", "logind"], "Wayland session"
        excluded.append(("gnome", "not a GNOME session"))
        excluded.append(("kde", "not a KDE session"))
    elif session.kind == "x11":
        order, basis = ["x11", "gnome", "kde", "logind", "evdev", "file"], "X11 session"
    else:
        order = ["gnome", "kde", "wayland", "x11", "file", "evdev", "logind"]
        basis = "unknown session type"
    if not x11_ok:
        excluded.append(("x11", WAYLAND_X11_REASON))
    no_wayland = session.kind == "x11" or not settings.wayland_display
    if no_wayland and "wayland" in order and session.kind != "x11":
        excluded.append(("wayland", "WAYLAND_DISPLAY is not set"))
    order = [
        name
        for name in order
        if not (name == "x11" and not x11_ok) and not (name == "wayland" and no_wayland)
    ]
    if settings.idle_state_file is not None:
        order = ["file", *[name for name in order if name != "file"]]
        basis += ", IDLE_STATE_FILE is set"
    return Plan(order, excluded, basis)


@dataclass
class Selection:
    source: IdleSource | None
    skipped: list[tuple[str, str]]
    basis: str

    def describe(self) -> str:
        skipped = "; ".join(f"{name}: {reason}" for name, reason in self.skipped) or "none"
        chosen = self.source.name if self.source else "none"
        return f"idle source {chosen} ({self.basis}); skipped {skipped}"


def try_open(source: IdleSource) -> str | None:
    """Open and read once; the reason it cannot work, or None when it works."""
    try:
        source.open()
        source.read()
    except (SourceUnavailableError, SourceReadError) as exc:
        source.close()
        return str(exc)
    return None


def select_source(settings: IdleSettings, factory: SourceFactory = build_source) -> Selection:
    """Open the configured source, or the first in the auto order that answers."""
    if settings.idle_source != "auto":
        session = SessionInfo.from_settings(settings)
        if settings.idle_source == "x11" and session.kind == "wayland":
            logger.warning("IDLE_SOURCE=x11 in a %s; expect false idle reports", WAYLAND_X11_REASON)
        source = factory(settings.idle_source, settings)
        reason = try_open(source)
        if reason is None:
            return Selection(source, [], "IDLE_SOURCE is set")
        return Selection(None, [(settings.idle_source, reason)], "IDLE_SOURCE is set")
    chosen = plan(settings)
    skipped = list(chosen.excluded)
    for name in chosen.order:
        source = factory(name, settings)
        reason = try_open(source)
        if reason is None:
            return Selection(source, skipped, chosen.basis)
        skipped.append((name, reason))
    return Selection(None, skipped, chosen.basis)
