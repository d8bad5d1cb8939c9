"""Requests the house rules hold back: until quiet hours end or a do-not-disturb switch
goes off, never past their max_age.

A held request is not in any speaker's queue, so it delays nobody: other rooms, and
later requests for its own room, play meanwhile. It stays unanswered, and so
unacknowledged to the broker: a bridge stopped or killed while holding it gets it again
from the broker at its next start, where the rules hold it again (its max_age still
counts from its first arrival).

One thread ("held") sleeps until the earliest wake-up or until `recheck` (a switch
changed) and hands every due request to `release`, which asks the rules again: play,
hold again, or answer. Wake-ups are wall-clock times (quiet hours are wall-clock); the
thread never sleeps longer than `MAX_SLEEP`, so a clock set forward or back is noticed.

Threads: `hold` and `recheck` run on paho's network thread or on the held thread itself
(from `release`); `release` runs on the held thread, outside the lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
MAX_SLEEP = 30.0


@dataclass(frozen=True, slots=True)
class Waiting(Generic[T]):
    """One held request and when to ask again (None: only when a switch changes)."""

    item: T
    until: float | None


class HeldRequests(Generic[T]):
    """Held requests and the one thread that releases them when due."""

    def __init__(
        self, release: Callable[[T], None], clock: Callable[[], float] = time.time
    ) -> None:
        self._release = release
        self._clock = clock
        self._lock = threading.Lock()
        self._waiting: list[Waiting[T]] = []
        self._recheck = False
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="held", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> list[T]:
        """End the thread; what is still held is returned, unanswered (the broker
        delivers it again after a restart)."""
        self._stopped.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        with self._lock:
            left, self._waiting = [w.item for w in self._waiting], []
        return left

    def hold(self, item: T, until: float | None) -> None:
        with self._lock:
            self._waiting.append(Waiting(item, until))
        self._wake.set()

    def recheck(self) -> None:
        """Something the rules look at changed (a do-not-disturb switch): ask again now."""
        with self._lock:
            self._recheck = True
        self._wake.set()

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._waiting)

    def take_due(self, now: float) -> list[T]:
        """The requests due at `now` (all of them after a `recheck`), in the order held."""
        with self._lock:
            everything, self._recheck = self._recheck, False
            due = [w for w in self._waiting if everything or _due(w, now)]
            self._waiting = [w for w in self._waiting if not (everything or _due(w, now))]
        return [w.item for w in due]

    def next_wake(self, now: float) -> float:
        """Seconds until the earliest wake-up, at most MAX_SLEEP."""
        with self._lock:
            times = [w.until for w in self._waiting if w.until is not None]
        return max(0.0, min([MAX_SLEEP, *(t - now for t in times)]))

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._wake.clear()  # before looking: a later hold or recheck wakes the wait
            for item in self.take_due(self._clock()):
                if self._stopped.is_set():
                    self.hold(item, None)  # left to the broker's redelivery
                    continue
                try:
                    self._release(item)
                except Exception:
                    logger.exception("Releasing a held request failed")
            self._wake.wait(self.next_wake(self._clock()))


def _due(waiting: Waiting[T], now: float) -> bool:
    return waiting.until is not None and waiting.until <= now
