"""Fakes of the desktop services that cannot run here: gnome-shell's lock screen and
gnome-session's inhibitors (next to a real mutter), and KDE's ScreenSaver on X11 Plasma.

KDE's idle time grows by itself from the last `input()`, like the real counter does.
"""

from __future__ import annotations

import time
from typing import Any

from testkit.idle_fakes.service import FakeService

GNOME_SM = "org.gnome.SessionManager"
GNOME_SM_PATH = "/org/gnome/SessionManager"
GNOME_SS = "org.gnome.ScreenSaver"
GNOME_SS_PATH = "/org/gnome/ScreenSaver"
FDO_SS = "org.freedesktop.ScreenSaver"
FDO_SS_PATH = "/org/freedesktop/ScreenSaver"
POWER_INHIBIT = "org.freedesktop.PowerManagement.Inhibit"
POWER_INHIBIT_PATH = "/org/freedesktop/PowerManagement/Inhibit"
INHIBIT_IDLE = 8


class FakeGnomeShell(FakeService):
    """gnome-shell's org.gnome.ScreenSaver and gnome-session's SessionManager, with the
    signals the real ones send when the lock screen or an idle inhibitor changes."""

    def __init__(self, address: str) -> None:
        super().__init__(address, [GNOME_SS, GNOME_SM])
        self.locked = False
        self.inhibitors: list[str] = []
        self.methods[(GNOME_SS_PATH, GNOME_SS, "GetActive")] = lambda _a: ("b", (self.locked,))
        self.methods[(GNOME_SM_PATH, GNOME_SM, "IsInhibited")] = self._is_inhibited

    def _is_inhibited(self, args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        return "b", (bool(int(args[0]) & INHIBIT_IDLE) and bool(self.inhibitors),)

    def set_locked(self, locked: bool) -> None:
        self.locked = locked
        self.emit(GNOME_SS_PATH, GNOME_SS, "ActiveChanged", "b", locked)

    def inhibit(self) -> None:
        path = f"{GNOME_SM_PATH}/Inhibitor{len(self.inhibitors) + 1}"
        self.inhibitors.append(path)
        self.emit(GNOME_SM_PATH, GNOME_SM, "InhibitorAdded", "o", path)

    def uninhibit(self) -> None:
        path = self.inhibitors.pop()
        self.emit(GNOME_SM_PATH, GNOME_SM, "InhibitorRemoved", "o", path)


class FakeKde(FakeService):
    """KDE on X11: GetSessionIdleTime, GetActive and PowerDevil's HasInhibit."""

    def __init__(self, address: str) -> None:
        super().__init__(address, [FDO_SS, POWER_INHIBIT])
        self.last_input = time.monotonic()
        self.inhibited = False
        self.locked = False
        self.methods[(FDO_SS_PATH, FDO_SS, "GetSessionIdleTime")] = lambda _a: (
            "u",
            (int((time.monotonic() - self.last_input) * 1000),),
        )
        self.methods[(FDO_SS_PATH, FDO_SS, "GetActive")] = lambda _a: ("b", (self.locked,))
        self.methods[(POWER_INHIBIT_PATH, POWER_INHIBIT, "HasInhibit")] = lambda _a: (
            "b",
            (self.inhibited,),
        )

    def input(self) -> None:
        self.last_input = time.monotonic()
