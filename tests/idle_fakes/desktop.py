"""Fake GNOME (Mutter IdleMonitor, SessionManager, ScreenSaver) and KDE ScreenSaver.

Idle time grows by itself from the last `input()`, like the real counters do.
"""

from __future__ import annotations

import time
from typing import Any

from tests.idle_fakes.service import FakeDBusError, FakeService

MUTTER = "org.gnome.Mutter.IdleMonitor"
MUTTER_PATH = "/org/gnome/Mutter/IdleMonitor/Core"
GNOME_SM = "org.gnome.SessionManager"
GNOME_SM_PATH = "/org/gnome/SessionManager"
GNOME_SS = "org.gnome.ScreenSaver"
GNOME_SS_PATH = "/org/gnome/ScreenSaver"
FDO_SS = "org.freedesktop.ScreenSaver"
FDO_SS_PATH = "/org/freedesktop/ScreenSaver"
POWER_INHIBIT = "org.freedesktop.PowerManagement.Inhibit"
POWER_INHIBIT_PATH = "/org/freedesktop/PowerManagement/Inhibit"


class _IdleCounter(FakeService):
    def __init__(self, address: str, names: list[str]) -> None:
        super().__init__(address, names)
        self.last_input = time.monotonic()
        self.inhibited = False
        self.locked = False

    def input(self) -> None:
        self.last_input = time.monotonic()

    def idle_for(self, seconds: float) -> None:
        self.last_input = time.monotonic() - seconds

    def idle_ms(self) -> int:
        return int((time.monotonic() - self.last_input) * 1000)


class FakeGnome(_IdleCounter):
    def __init__(self, address: str, *, session_manager: bool = True) -> None:
        names = [MUTTER, GNOME_SS] + ([GNOME_SM] if session_manager else [])
        super().__init__(address, names)
        self.methods[(MUTTER_PATH, MUTTER, "GetIdletime")] = lambda _a: ("t", (self.idle_ms(),))
        self.methods[(GNOME_SS_PATH, GNOME_SS, "GetActive")] = lambda _a: ("b", (self.locked,))
        if session_manager:
            self.methods[(GNOME_SM_PATH, GNOME_SM, "IsInhibited")] = self._is_inhibited

    def _is_inhibited(self, args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        return "b", (bool(int(args[0]) & 8) and self.inhibited,)


class FakeKde(_IdleCounter):
    def __init__(self, address: str, *, refuse_idle_time: bool = False) -> None:
        super().__init__(address, [FDO_SS, POWER_INHIBIT])
        self.refuse_idle_time = refuse_idle_time
        self.methods[(FDO_SS_PATH, FDO_SS, "GetSessionIdleTime")] = self._idle_time
        self.methods[(FDO_SS_PATH, FDO_SS, "GetActive")] = lambda _a: ("b", (self.locked,))
        self.methods[(POWER_INHIBIT_PATH, POWER_INHIBIT, "HasInhibit")] = lambda _a: (
            "b",
            (self.inhibited,),
        )

    def _idle_time(self, _args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        if self.refuse_idle_time:
            raise FakeDBusError(
                "org.freedesktop.DBus.Error.NotSupported",
                "GetSessionIdleTime is not supported on this platform",
            )
        return "u", (self.idle_ms(),)
