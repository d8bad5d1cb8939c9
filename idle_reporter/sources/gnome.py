"""GNOME: Mutter's IdleMonitor on the session bus, the session manager's inhibitors.

Mutter counts input to every client, native Wayland ones included, which X11's counter
under XWayland does not. `IsInhibited(8)` is true while an application (a video player,
a browser playing video) holds an idle inhibitor.
"""

from __future__ import annotations

import logging

from idle_reporter.dbus import Bus, BusClosedError, DBusCallError, OptionalQuery
from idle_reporter.sources.dbus_source import SessionIdleSource

logger = logging.getLogger(__name__)

MUTTER = "org.gnome.Mutter.IdleMonitor"
MUTTER_PATH = "/org/gnome/Mutter/IdleMonitor/Core"
SESSION_MANAGER = "org.gnome.SessionManager"
SESSION_MANAGER_PATH = "/org/gnome/SessionManager"
SCREENSAVER = "org.gnome.ScreenSaver"
SCREENSAVER_PATH = "/org/gnome/ScreenSaver"
INHIBIT_IDLE = 8  # GsmInhibitorFlag: "inhibit the session being marked as idle"


class GnomeSource(SessionIdleSource):
    """Idle time in ms from Mutter; inhibitors and the lock screen where GNOME serves them."""

    name = "gnome"

    def __init__(self, address: str | None) -> None:
        super().__init__(
            address,
            locked=OptionalQuery(
                "GNOME's lock screen state (org.gnome.ScreenSaver.GetActive)",
                SCREENSAVER,
                SCREENSAVER_PATH,
                SCREENSAVER,
                "GetActive",
            ),
            inhibited=OptionalQuery(
                "GNOME's idle inhibitors (org.gnome.SessionManager.IsInhibited)",
                SESSION_MANAGER,
                SESSION_MANAGER_PATH,
                SESSION_MANAGER,
                "IsInhibited",
            ).with_args("u", INHIBIT_IDLE),
        )

    def explain(self, error: DBusCallError | BusClosedError) -> str:
        if isinstance(error, DBusCallError) and error.not_served:
            return "Mutter's IdleMonitor does not answer on the session bus (not a GNOME session)"
        return f"gnome: {error}"

    def idle_milliseconds(self, bus: Bus) -> int:
        (idle_ms,) = bus.call(MUTTER, MUTTER_PATH, MUTTER, "GetIdletime")
        return int(idle_ms)
