"""Notices a resume from sleep for any source, by comparing two kernel clocks.

CLOCK_MONOTONIC stops while the machine sleeps and CLOCK_BOOTTIME does not, so their
difference jumps by the time slept. logind's PrepareForSleep says the same for the
logind source; this covers X11, evdev and the rest without another connection.
"""

from __future__ import annotations

import logging
import time

logger = logging.getLogger(__name__)

# Anything shorter is scheduling noise, not a suspend.
MIN_SLEEP = 2.0


class SleepWatch:
    def __init__(self) -> None:
        self._offset = self._now_offset()

    @staticmethod
    def _now_offset() -> float:
        return time.clock_gettime(time.CLOCK_BOOTTIME) - time.clock_gettime(time.CLOCK_MONOTONIC)

    def resumed(self) -> bool:
        """True once after the machine slept since the last call."""
        offset = self._now_offset()
        slept = offset - self._offset
        self._offset = offset
        if slept >= MIN_SLEEP:
            logger.info("Resumed after sleeping %.0f s; re-reading the state", slept)
            return True
        return False
