"""Publishes state, idle seconds and the lock state: retained, QoS 1, only what changed.

The state goes out at once on every change. Idle seconds go out at most every
IDLE_REPORT_INTERVAL and only when the whole-second value moved, so a desk that stays
active (counter near zero) or a reporter in `unknown` does not chatter.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from idle_reporter.detector import Decision, State
from mqtt_service.connection import MqttConnection

logger = logging.getLogger(__name__)


class Topics:
    """`idle/<host>/...`: the reporter's whole user-facing contract."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.state = f"{prefix}/state"
        self.idle_seconds = f"{prefix}/idle_seconds"
        self.locked = f"{prefix}/locked"
        self.status = f"{prefix}/status"
        self.command = f"{prefix}/command"


class StatePublisher:
    """Remembers what it published so only changes (or forced reports) go out."""

    def __init__(
        self,
        connection: MqttConnection,
        topics: Topics,
        report_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.connection = connection
        self.topics = topics
        self.report_interval = report_interval
        self._clock = clock
        self._state: State | None = None
        self._locked: bool | None = None
        self._seconds: int | None = None
        self._seconds_at = 0.0

    def publish(self, decision: Decision, *, force: bool = False) -> None:
        """Send what changed; with `force` (report, resume, HA restart) send everything."""
        state_changed = decision.state is not self._state
        if force or state_changed:
            self.connection.publish(self.topics.state, decision.state.value, retain=True)
            if state_changed:
                logger.info("State %s", decision.state.value)
            self._state = decision.state
        if decision.locked is not None and (force or decision.locked != self._locked):
            self.connection.publish(
                self.topics.locked, "ON" if decision.locked else "OFF", retain=True
            )
            self._locked = decision.locked
        if decision.idle_seconds is not None:
            self._publish_seconds(int(decision.idle_seconds), force or state_changed)

    def _publish_seconds(self, seconds: int, now_please: bool) -> None:
        now = self._clock()
        due = now - self._seconds_at >= self.report_interval
        if now_please or (due and seconds != self._seconds):
            self.connection.publish(self.topics.idle_seconds, str(seconds), retain=True)
            self._seconds = seconds
            self._seconds_at = now
