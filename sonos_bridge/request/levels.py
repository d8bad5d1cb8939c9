"""The volume one announcement plays at in each room, decided when it plays.

The house rules' volume limits depend on the clock (quiet hours) and, for requests that
follow the room's own volume (`"volume": "room"`, or none given and no default), on the
room's volume just before the announcement, which only the playback method reads. So a
request carries one `Levels`: the method asks it for each room's volume as it plays, and
it remembers what was used, and which asked-for volumes were lowered, for the result.

Threads: `level` and `plan` run on the coordinator workers' threads (one announcement may
play on several groups at once); `used` and `notes` on the worker that answers. A lock
keeps the record.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sonos_bridge.request.house_rules import Ask, HouseRules, Play, Room


class Levels:
    """One request's volumes per room under the house rules."""

    def __init__(self, rules: HouseRules, ask: Ask, clock: Callable[[], float] = time.time) -> None:
        self._rules = rules
        self._ask = ask
        self._clock = clock
        self._lock = threading.Lock()
        self._used: dict[str, int] = {}
        self._notes: list[str] = []

    def plan(self, room: str) -> Play:
        """The rules' volume plan for `room` now (quiet hours as of this moment)."""
        hours = self._rules.quiet_hours
        quiet = hours is not None and hours.active(self._clock())
        return self._rules.play(self._ask, Room(room), quiet)

    def level(self, room: str, current: int) -> int:
        """The volume to set in `room`, whose volume is `current` before the announcement."""
        plan = self.plan(room)
        return self.record(room, plan, plan.level(current))

    def record(self, room: str, plan: Play, volume: int) -> int:
        with self._lock:
            self._used[room] = volume
            self._notes += [note for note in plan.notes if note not in self._notes]
        return volume

    def used(self) -> int | dict[str, int] | None:
        """For the result: one number when every room played at one volume, else per room."""
        with self._lock:
            values = set(self._used.values())
            if not values:
                return None
            return values.pop() if len(values) == 1 else dict(self._used)

    def notes(self) -> list[str]:
        with self._lock:
            return list(self._notes)
