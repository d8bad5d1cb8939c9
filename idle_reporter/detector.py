"""Turns readings into `active` / `idle` / `unknown`, with hysteresis.

Going idle: the idle time reached IDLE_THRESHOLD (or the desktop's own hint says idle)
and no idle inhibitor is active. Going active again needs real input: the idle counter
must fall back by more than the jitter tolerance, so a counter that wobbles by a few
milliseconds around the threshold never flaps. A source that stops answering keeps its
last state for a grace period, then becomes `unknown`, rather than freezing on a lie.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from idle_reporter.sources.base import Reading

logger = logging.getLogger(__name__)

# Counter wobble tolerated without calling it input (capped for tiny test thresholds).
MAX_JITTER = 1.0


class State(StrEnum):
    ACTIVE = "active"
    IDLE = "idle"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Decision:
    """The detector's view after one poll."""

    state: State
    changed: bool
    idle_seconds: float | None
    locked: bool | None


class Detector:
    """State machine over successive readings of one source."""

    def __init__(
        self,
        threshold: float,
        unknown_after: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.unknown_after = unknown_after
        self.jitter = min(MAX_JITTER, threshold / 10)
        self._clock = clock
        self.state = State.UNKNOWN
        self._last: Reading | None = None
        self._failing_since: float | None = None
        self._inhibit_noted = False

    @property
    def last_reading(self) -> Reading | None:
        return self._last

    @property
    def answering(self) -> bool:
        """False from the first failed read until the source answers again."""
        return self._failing_since is None

    def _idle_reached(self, reading: Reading) -> bool:
        if reading.idle_hint is not None:
            return reading.idle_hint
        return reading.idle_seconds >= self.threshold

    def _input_seen(self, reading: Reading) -> bool:
        """True when the user did something since the previous reading."""
        if reading.idle_hint is not None:
            return not reading.idle_hint
        previous = self._last.idle_seconds if self._last is not None else None
        if previous is not None and reading.idle_seconds + self.jitter < previous:
            return True
        return reading.idle_seconds < self.threshold - self.jitter

    def _next_state(self, reading: Reading) -> State:
        if reading.inhibited:
            return State.ACTIVE
        if self.state is State.IDLE:
            return State.ACTIVE if self._input_seen(reading) else State.IDLE
        return State.IDLE if self._idle_reached(reading) else State.ACTIVE

    def update(self, reading: Reading) -> Decision:
        """Feed one successful reading."""
        if self._failing_since is not None:
            logger.info("The idle source answers again")
            self._failing_since = None
        new_state = self._next_state(reading)
        held_by_inhibitor = bool(reading.inhibited) and self._idle_reached(reading)
        if held_by_inhibitor and not self._inhibit_noted:
            logger.info("An idle inhibitor is active (video, presentation): staying active")
        self._inhibit_noted = held_by_inhibitor
        changed = new_state is not self.state
        self.state = new_state
        self._last = reading
        return Decision(new_state, changed, reading.idle_seconds, reading.locked)

    def failure(self, error: Exception) -> Decision:
        """Note that the source did not answer; `unknown` once the grace period is over."""
        now = self._clock()
        if self._failing_since is None:
            self._failing_since = now
            logger.warning(
                "The idle source stopped answering (%s); state becomes unknown after %g s",
                error,
                self.unknown_after,
            )
        else:
            logger.debug("The idle source still does not answer: %s", error)
        if self.state is not State.UNKNOWN and now - self._failing_since >= self.unknown_after:
            logger.error(
                "No answer from the idle source for %g s: state unknown", self.unknown_after
            )
            self.state = State.UNKNOWN
            self._last = None
            return Decision(State.UNKNOWN, True, None, None)
        return Decision(self.state, False, None, None)

    def reset(self) -> Decision:
        """No source at all (none works yet): the state is unknown."""
        changed = self.state is not State.UNKNOWN
        self.state = State.UNKNOWN
        self._last = None
        return Decision(State.UNKNOWN, changed, None, None)
