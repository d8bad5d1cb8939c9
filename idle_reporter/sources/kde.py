"""KDE Plasma: `org.freedesktop.ScreenSaver.GetSessionIdleTime` on the session bus.

KDE does not maintain logind's IdleHint, so this is its own answer. The call returns
milliseconds (KIdleTime). Plasma on Wayland may refuse it with NotSupported; then this
source says so once and `auto` moves on (input devices work everywhere). The lock state
is `GetActive`; inhibitors are PowerDevil's `HasInhibit`, where it answers.
"""

from __future__ import annotations

import logging

from idle_reporter.dbus import Bus, BusClosedError, DBusCallError, OptionalQuery
from idle_reporter.sources.dbus_source import SessionIdleSource

logger = logging.getLogger(__name__)

SCREENSAVER = "org.freedesktop.ScreenSaver"
SCREENSAVER_PATH = "/org/freedesktop/ScreenSaver"
POWER_INHIBIT = "org.freedesktop.PowerManagement.Inhibit"
POWER_INHIBIT_PATH = "/org/freedesktop/PowerManagement/Inhibit"


class KdeSource(SessionIdleSource):
    """Idle time from the freedesktop ScreenSaver interface as KDE implements it."""

    name = "kde"

    def __init__(self, address: str | None) -> None:
        super().__init__(
            address,
            locked=OptionalQuery(
                "the lock state (org.freedesktop.ScreenSaver.GetActive)",
                SCREENSAVER,
                SCREENSAVER_PATH,
                SCREENSAVER,
                "GetActive",
            ),
            inhibited=OptionalQuery(
                "PowerDevil's inhibitors (org.freedesktop.PowerManagement.Inhibit.HasInhibit)",
                POWER_INHIBIT,
                POWER_INHIBIT_PATH,
                POWER_INHIBIT,
                "HasInhibit",
            ),
        )

    def explain(self, error: DBusCallError | BusClosedError) -> str:
        if isinstance(error, DBusCallError) and error.name.endswith("NotSupported"):
            return "the desktop refuses GetSessionIdleTime (Plasma on Wayland)"
        if isinstance(error, DBusCallError) and error.not_served:
            return "org.freedesktop.ScreenSaver does not answer on the session bus (not KDE)"
        return f"kde: {error}"

    def idle_milliseconds(self, bus: Bus) -> int:
        (idle_ms,) = bus.call(SCREENSAVER, SCREENSAVER_PATH, SCREENSAVER, "GetSessionIdleTime")
        return int(idle_ms)
