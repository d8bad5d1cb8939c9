"""A fake systemd-logind: one graphical session on seat0 whose hints the test changes."""

from __future__ import annotations

import time
from typing import Any

from testkit.idle_fakes.service import FakeService

LOGIN1 = "org.freedesktop.login1"
MANAGER_PATH = "/org/freedesktop/login1"
MANAGER = "org.freedesktop.login1.Manager"
SEAT = "org.freedesktop.login1.Seat"
SESSION = "org.freedesktop.login1.Session"
SEAT0 = "/org/freedesktop/login1/seat/seat0"


class FakeLogind(FakeService):
    def __init__(
        self,
        address: str,
        session_type: str = "wayland",
        desktop: str = "GNOME",
        *,
        with_seat0: bool = True,
    ) -> None:
        super().__init__(address, [LOGIN1])
        self.session_id = "c1"
        self.session_path = f"{MANAGER_PATH}/session/{self.session_id}"
        self.lock_calls = 0
        tty = f"{MANAGER_PATH}/session/c0"
        self.set_property(MANAGER_PATH, MANAGER, "BlockInhibited", ("s", "sleep:shutdown"))
        if with_seat0:
            active = (self.session_id, self.session_path)
            self.set_property(SEAT0, SEAT, "ActiveSession", ("(so)", active))
        for path, sid, kind in ((tty, "c0", "tty"), (self.session_path, "c1", session_type)):
            for name, value in {
                "Id": ("s", sid),
                "Name": ("s", "desk"),
                "Type": ("s", kind),
                "Active": ("b", kind != "tty"),
                "Desktop": ("s", desktop if kind != "tty" else ""),
                "IdleHint": ("b", False),
                "IdleSinceHint": ("t", 0),
                "LockedHint": ("b", False),
            }.items():
                self.set_property(path, SESSION, name, value)
        self.methods[(MANAGER_PATH, MANAGER, "ListSessions")] = self._list_sessions
        self.methods[(self.session_path, SESSION, "Lock")] = self._lock_session

    def _list_sessions(self, _args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        sessions = [
            ("c0", 1000, "desk", "", f"{MANAGER_PATH}/session/c0"),
            (self.session_id, 1000, "desk", "seat0", self.session_path),
        ]
        return "a(susso)", (sessions,)

    def _lock_session(self, _args: tuple[Any, ...]) -> tuple[None, tuple[Any, ...]]:
        self.lock_calls += 1
        self.set_locked(True)
        return None, ()

    def set_idle(self, idle: bool, seconds_ago: float = 0.0) -> None:
        since_us = int((time.time() - seconds_ago) * 1_000_000)
        self.set_property(self.session_path, SESSION, "IdleSinceHint", ("t", since_us))
        self.set_property(self.session_path, SESSION, "IdleHint", ("b", idle))

    def set_locked(self, locked: bool) -> None:
        self.set_property(self.session_path, SESSION, "LockedHint", ("b", locked))

    def set_idle_inhibited(self, inhibited: bool) -> None:
        what = "idle:sleep:shutdown" if inhibited else "sleep:shutdown"
        self.set_property(MANAGER_PATH, MANAGER, "BlockInhibited", ("s", what))

    def prepare_for_sleep(self, going_to_sleep: bool) -> None:
        self.emit(MANAGER_PATH, MANAGER, "PrepareForSleep", "b", going_to_sleep)
