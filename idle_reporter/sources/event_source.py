"""Shared machinery of the event-driven sources (`wayland`, `gnome`): the desktop pushes
changes, the source keeps a snapshot of them, and a read costs no I/O at all.

Threads:
* The service's worker thread calls `open`, `read` and `close`. `read` reconnects when the
  connection was lost: the first read after the loss raises SourceReadError with the
  reason (the detector logs it once), each later read tries to connect again.
* Each listener thread runs one blocking loop returned by `connect` (a Wayland event loop,
  a D-Bus `SignalLoop`). Its handlers change the snapshot only through `_went_idle`,
  `_went_active` and `_update`, which also call the service's wake callback. When a loop
  ends, the listener records why, stops the source's other loops and wakes the service.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from idle_reporter.errors import SourceReadError, SourceUnavailableError
from idle_reporter.sources.base import IdleSource, Reading, Wake

logger = logging.getLogger(__name__)

Loop = Callable[[], None]
JOIN_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Presence:
    """What the desktop last told us. `since` is when the idle period began (clock time)."""

    idle: bool = False
    since: float = 0.0
    locked: bool | None = None
    inhibited: bool | None = None


def _nothing() -> None:
    """The wake callback until the service sets one."""


class EventSource(IdleSource):
    """A source whose listener threads keep `Presence` current; see the module docstring."""

    event_driven = True

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._presence = Presence()
        self._presence_lock = threading.Lock()
        self._wake: Wake = _nothing
        self._listeners: list[threading.Thread] = []
        self._ended: str | None = None
        self._closing = False
        self._knows_locked = False

    # ------------------------------------------------------ what a source provides
    @abstractmethod
    def connect(self) -> list[Loop]:
        """Connect and subscribe (worker thread); return the blocking loops, one thread each.

        Raise SourceUnavailableError with a one-line reason when it cannot work here. A loop
        raises SourceReadError (or returns) when its connection ends.
        """

    @abstractmethod
    def interrupt(self) -> None:
        """Make every loop return soon; any thread may call it."""

    @abstractmethod
    def disconnect(self) -> None:
        """Release the connections after the loops ended (worker thread)."""

    # ---------------------------------------------------------------- interface
    @property
    def knows_locked(self) -> bool:
        return self._knows_locked

    def on_change(self, wake: Wake) -> None:
        self._wake = wake

    def open(self) -> None:
        self._start(self.connect())

    def read(self) -> Reading:
        if self._ended is not None or not self._listeners:
            self._recover()
        presence = self._presence
        idle_seconds = max(0.0, self._clock() - presence.since) if presence.idle else 0.0
        return Reading(
            idle_seconds=idle_seconds,
            idle_hint=presence.idle,
            locked=presence.locked,
            inhibited=presence.inhibited,
        )

    def close(self) -> None:
        self._closing = True
        try:
            self._stop_listeners()
            self.disconnect()
        finally:
            self._closing = False

    # ------------------------------------------------------------- worker thread
    def _recover(self) -> None:
        if self._listeners:
            reason = self._ended or "the listener stopped"
            self._stop_listeners()
            self.disconnect()
            raise SourceReadError(f"{self.name}: {reason}")
        try:
            loops = self.connect()
        except SourceUnavailableError as exc:
            raise SourceReadError(f"{self.name}: {exc}") from exc
        logger.info("%s: connected to the desktop again", self.name)
        self._start(loops)

    def _start(self, loops: list[Loop]) -> None:
        self._ended = None
        self._listeners = [
            threading.Thread(target=self._listen, args=(loop,), name=f"{self.name}-events")
            for loop in loops
        ]
        for thread in self._listeners:
            thread.daemon = True
            thread.start()

    def _stop_listeners(self) -> None:
        self.interrupt()
        for thread in self._listeners:
            thread.join(timeout=JOIN_TIMEOUT)
        self._listeners = []

    # ----------------------------------------------------------- listener threads
    def _listen(self, loop: Loop) -> None:
        try:
            loop()
            reason = "the desktop closed the connection"
        except SourceReadError as exc:
            reason = str(exc)
        except Exception as exc:
            logger.exception("%s: the event listener failed", self.name)
            reason = f"the event listener failed: {exc!r}"
        if self._closing:
            return
        if self._ended is None:
            self._ended = reason
        self.interrupt()  # the source's other loops end with this one
        self._wake()

    def _update(self, **changes: Any) -> None:
        with self._presence_lock:
            self._presence = replace(self._presence, **changes)
        self._wake()

    def _went_idle(self, idle_for: float) -> None:
        """The desktop says idle; the user has been away for `idle_for` seconds already."""
        if not self._presence.idle:
            self._update(idle=True, since=self._clock() - idle_for)

    def _went_active(self) -> None:
        if self._presence.idle:
            self._update(idle=False)

    def _reset_presence(self, locked: bool | None = None) -> None:
        """At (re)connect, on the worker thread before any listener runs."""
        self._knows_locked = locked is not None
        with self._presence_lock:
            self._presence = Presence(locked=locked)
