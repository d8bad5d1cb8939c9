"""KDE Plasma on X11: `org.freedesktop.ScreenSaver.GetSessionIdleTime`, polled.

KDE does not maintain logind's IdleHint, so this is its own answer. The call returns
milliseconds (KIdleTime). Plasma on Wayland refuses it with NotSupported by design; there
the `wayland` source (KWin's idle protocols) is the answer and `auto` picks it first. The
lock state is `GetActive`; inhibitors are PowerDevil's `HasInhibit`, where it answers.
"""

from __future__ import annotations

import logging

from idle_reporter.dbus import Bus, BusClosedError, DBusCallError, OptionalQuery
from idle_reporter.sources.base import Reading
from idle_reporter.sources.dbus_source import DBusSource
from idle_reporter.sources.screensaver import FREEDESKTOP_SCREENSAVER as SCREENSAVER

logger = logging.getLogger(__name__)

POWER_INHIBIT = "org.freedesktop.PowerManagement.Inhibit"
POWER_INHIBIT_PATH = "/org/freedesktop/PowerManagement/Inhibit"


class KdeSource(DBusSource):
    """Idle time from the freedesktop ScreenSaver interface as KDE implements it."""

    name = "kde"

    def __init__(self, address: str | None) -> None:
        super().__init__(address)
        self._locked = OptionalQuery(
            "the lock state (org.freedesktop.ScreenSaver.GetActive)",
            SCREENSAVER.bus_name,
            SCREENSAVER.path,
            SCREENSAVER.interface,
            "GetActive",
        )
        self._inhibited = OptionalQuery(
            "PowerDevil's inhibitors (org.freedesktop.PowerManagement.Inhibit.HasInhibit)",
            POWER_INHIBIT,
            POWER_INHIBIT_PATH,
            POWER_INHIBIT,
            "HasInhibit",
        )
        self._knows_locked = False

    @property
    def knows_locked(self) -> bool:
        return self._knows_locked

    def explain(self, error: DBusCallError | BusClosedError) -> str:
        if isinstance(error, DBusCallError) and error.name.endswith("NotSupported"):
            return "the desktop refuses GetSessionIdleTime (Plasma on Wayland)"
        if isinstance(error, DBusCallError) and error.not_served:
            return "org.freedesktop.ScreenSaver does not answer on the session bus (not KDE)"
        return f"kde: {error}"

    def idle_milliseconds(self, bus: Bus) -> int:
        (idle_ms,) = bus.call(
            SCREENSAVER.bus_name, SCREENSAVER.path, SCREENSAVER.interface, "GetSessionIdleTime"
        )
        return int(idle_ms)

    def check(self) -> None:
        self.idle_milliseconds(self.bus)
        self._knows_locked = self._locked.ask(self.bus) is not None

    def query(self, bus: Bus) -> Reading:
        idle_ms = self.idle_milliseconds(bus)
        locked = self._locked.ask(bus) if self._knows_locked else None
        inhibited = self._inhibited.ask(bus)
        return Reading(
            idle_seconds=idle_ms / 1000.0,
            locked=None if locked is None else bool(locked),
            inhibited=None if inhibited is None else bool(inhibited),
        )
