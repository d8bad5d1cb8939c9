"""The lock screen's state from a desktop's ScreenSaver D-Bus service, event-driven.

`GetActive` gives the state once and the `ActiveChanged(b)` signal every change after it.
KDE serves it as org.freedesktop.ScreenSaver (KWin's lock screen, also on Wayland); GNOME
as org.gnome.ScreenSaver, which gnome-shell provides (mutter alone has no lock screen, so
a bare mutter session has no lock state to tell). Handlers run on the SignalLoop's thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from idle_reporter.dbus import DBusCallError, SignalLoop

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ScreenSaverService:
    bus_name: str
    path: str
    interface: str
    label: str


FREEDESKTOP_SCREENSAVER = ScreenSaverService(
    "org.freedesktop.ScreenSaver",
    "/org/freedesktop/ScreenSaver",
    "org.freedesktop.ScreenSaver",
    "the desktop's org.freedesktop.ScreenSaver",
)
GNOME_SCREENSAVER = ScreenSaverService(
    "org.gnome.ScreenSaver",
    "/org/gnome/ScreenSaver",
    "org.gnome.ScreenSaver",
    "gnome-shell's org.gnome.ScreenSaver",
)


def watch_lock(
    loop: SignalLoop, service: ScreenSaverService, on_change: Callable[[bool], None]
) -> bool | None:
    """Subscribe to lock changes and return the current state; None when the desktop does
    not tell it. Any error here only costs the lock state, never the idle source."""

    def changed(body: tuple[Any, ...]) -> None:
        on_change(bool(body[0]))

    loop.on_signal(service.interface, "ActiveChanged", changed)
    try:
        (active,) = loop.bus.call(service.bus_name, service.path, service.interface, "GetActive")
    except DBusCallError as exc:
        logger.info("No lock state: %s does not answer here (%s)", service.label, exc)
        return None
    return bool(active)
