"""GNOME: Mutter's IdleMonitor watches on the session bus, event-driven.

`AddIdleWatch(IDLE_THRESHOLD)` makes Mutter signal `WatchFired` each time the user has
been idle that long; `AddUserActiveWatch()` signals once at the next input. So nothing is
polled: the reporter hears of both transitions the moment Mutter sees them. The watches
belong to our connection and Mutter drops them when it closes. Below the threshold Mutter
tells no idle time without being asked, so idle seconds read 0 until the desk goes idle.

Mutter alone (a bare or headless mutter) offers only the IdleMonitor. gnome-shell adds
org.gnome.ScreenSaver (the lock state) and gnome-session org.gnome.SessionManager (idle
inhibitors: a playing video); either may be missing or broken without costing the idle
time. Everything runs on the source's one SignalLoop thread after `connect`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from idle_reporter.dbus import Bus, BusClosedError, DBusCallError, SignalLoop
from idle_reporter.errors import SourceReadError, SourceUnavailableError
from idle_reporter.sources.event_source import EventSource, Loop
from idle_reporter.sources.screensaver import GNOME_SCREENSAVER, watch_lock

logger = logging.getLogger(__name__)

MUTTER = "org.gnome.Mutter.IdleMonitor"
MUTTER_PATH = "/org/gnome/Mutter/IdleMonitor/Core"
SESSION_MANAGER = "org.gnome.SessionManager"
SESSION_MANAGER_PATH = "/org/gnome/SessionManager"
INHIBIT_IDLE = 8  # GsmInhibitorFlag: "inhibit the session being marked as idle"


class MutterGoneError(SourceReadError):
    """Mutter left the session bus (the session ended or the compositor crashed)."""


class GnomeSource(EventSource):
    """Idle and active from Mutter's watches; lock and inhibitors where GNOME serves them."""

    name = "gnome"

    def __init__(
        self,
        address: str | None,
        threshold: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(clock)
        self.address = address
        self.threshold_ms = max(1, round(threshold * 1000))
        self._bus: Bus | None = None
        self._loop: SignalLoop | None = None
        self._idle_watch: int | None = None

    def connect(self) -> list[Loop]:
        if not self.address:
            raise SourceUnavailableError("no session bus address is configured")
        bus = Bus(self.address, "session")
        loop = SignalLoop(bus)
        self._bus, self._loop = bus, loop
        try:
            idle_ms = self._watch_idle(loop)
            self._reset_presence(watch_lock(loop, GNOME_SCREENSAVER, self._on_lock_changed))
            if idle_ms >= self.threshold_ms:
                self._became_idle(idle_ms / 1000)
            self._watch_inhibitors(loop)
        except (DBusCallError, BusClosedError) as exc:
            self.disconnect()
            raise SourceUnavailableError(self._explain(exc)) from exc
        return [self._run]

    def _explain(self, error: DBusCallError | BusClosedError) -> str:
        if isinstance(error, DBusCallError) and error.not_served:
            return "Mutter's IdleMonitor does not answer on the session bus (not a GNOME session)"
        return f"Mutter's IdleMonitor: {error}"

    def _watch_idle(self, loop: SignalLoop) -> int:
        """Subscribe to Mutter's watches; return the idle time at this moment (ms)."""
        bus = loop.bus
        loop.on_signal(MUTTER, "WatchFired", self._on_watch_fired, MUTTER_PATH)
        loop.on_name_lost(MUTTER, self._on_mutter_gone)
        (self._idle_watch,) = bus.call(
            MUTTER, MUTTER_PATH, MUTTER, "AddIdleWatch", signature="t", body=(self.threshold_ms,)
        )
        (idle_ms,) = bus.call(MUTTER, MUTTER_PATH, MUTTER, "GetIdletime")
        return int(idle_ms)

    def _watch_inhibitors(self, loop: SignalLoop) -> None:
        """gnome-session's IsInhibited, re-asked whenever an inhibitor comes or goes."""
        for member in ("InhibitorAdded", "InhibitorRemoved"):
            loop.on_signal(SESSION_MANAGER, member, self._on_inhibitors_changed)
        inhibited = self._ask_inhibited(loop.bus)
        if inhibited is None:
            logger.info("No idle inhibitors: gnome-session does not answer here")
        self._update(inhibited=inhibited)

    @staticmethod
    def _ask_inhibited(bus: Bus) -> bool | None:
        """gnome-session's answer; None when it does not answer (not running, or broken)."""
        try:
            (inhibited,) = bus.call(
                SESSION_MANAGER,
                SESSION_MANAGER_PATH,
                SESSION_MANAGER,
                "IsInhibited",
                signature="u",
                body=(INHIBIT_IDLE,),
            )
        except DBusCallError:
            return None
        return bool(inhibited)

    # ------------------------------------------------------ listener thread
    def _run(self) -> None:
        assert self._loop is not None
        try:
            self._loop.run()
        except BusClosedError as exc:
            raise SourceReadError(f"the session bus connection ended ({exc})") from exc
        except DBusCallError as exc:
            raise SourceReadError(f"Mutter stopped answering ({exc})") from exc

    def _on_watch_fired(self, body: tuple[Any, ...]) -> None:
        (watch,) = body
        if watch == self._idle_watch:
            self._became_idle(self.threshold_ms / 1000)
        elif self._presence.idle:
            self._went_active()  # the one-shot user-active watch

    def _became_idle(self, idle_for: float) -> None:
        if self._presence.idle:
            return
        assert self._bus is not None
        self._bus.call(MUTTER, MUTTER_PATH, MUTTER, "AddUserActiveWatch")
        self._went_idle(idle_for)

    def _on_inhibitors_changed(self, _body: tuple[Any, ...]) -> None:
        assert self._bus is not None
        self._update(inhibited=self._ask_inhibited(self._bus))

    def _on_lock_changed(self, locked: bool) -> None:
        self._update(locked=locked)

    @staticmethod
    def _on_mutter_gone() -> None:
        raise MutterGoneError("Mutter left the session bus")

    # -------------------------------------------------------- any thread
    def interrupt(self) -> None:
        if self._bus is not None:
            self._bus.interrupt()

    def disconnect(self) -> None:
        if self._bus is not None:
            self._bus.close()
        self._bus = self._loop = None
        self._idle_watch = None
