"""Whether an engine may be asked now: working, late, resting after a failure, or due a probe.

An engine that failed is logged once with its reason and rests (ENGINE_REST_SECONDS), so a
dead internet connection costs one failure, not one per announcement. When the rest is
over the engine is not tried on the next announcement's path: the synthesizer probes it in
the background and the announcement is spoken by the next engine. An online engine that
has not answered an earlier request within its deadline is "late": later requests do not
wait for it either until that call ends.

Called from the synthesizer's worker threads and from paho's thread (the cache fast path);
everything is guarded by one lock and nothing blocks.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from concurrent.futures import Future
from typing import Any

logger = logging.getLogger(__name__)

ENGINE_REST_SECONDS = 60.0


class Availability(enum.Enum):
    ASK = "ask"  # try it on this request
    SKIP = "skip"  # resting or being probed: the next engine speaks
    LATE = "late"  # an earlier call is overdue: the next engine speaks, this one as last resort
    PROBE = "probe"  # rest over: probe it in the background, the next engine speaks


class EngineHealth:
    """Rest and probe bookkeeping of every engine, by name."""

    def __init__(self, rest_seconds: float = ENGINE_REST_SECONDS) -> None:
        self.rest_seconds = rest_seconds
        self._lock = threading.Lock()
        self._failed_until: dict[str, float] = {}
        self._busy: dict[str, Future[Any]] = {}  # a late call or a running probe

    def availability(self, name: str) -> tuple[Availability, str]:
        """What to do with `name` now, and the reason when it is not asked."""
        now = time.monotonic()
        with self._lock:
            busy = self._busy.get(name)
            if busy is not None and busy.done():
                del self._busy[name]
                busy = None
            until = self._failed_until.get(name)
        if busy is not None:
            if until is not None:
                return Availability.SKIP, "being probed in the background after a failure"
            return Availability.LATE, "still no answer to an earlier request"
        if until is None:
            return Availability.ASK, ""
        if now < until:
            return Availability.SKIP, f"resting after a failure ({until - now:.0f} s left)"
        return Availability.PROBE, "probed in the background after its rest"

    def busy(self, name: str, call: Future[Any]) -> None:
        """`call` (late, or a probe) is running: skip `name` until it has ended."""
        with self._lock:
            if not call.done():
                self._busy[name] = call

    def failed(self, name: str, reason: str) -> None:
        with self._lock:
            first = name not in self._failed_until
            self._failed_until[name] = time.monotonic() + self.rest_seconds
        if first:
            logger.warning(
                "TTS engine %s failed: %s; using the next engine for %.0f s",
                name,
                reason,
                self.rest_seconds,
            )
        else:
            logger.debug("TTS engine %s failed again: %s", name, reason)

    def worked(self, name: str) -> None:
        with self._lock:
            was_failed = self._failed_until.pop(name, None) is not None
        if was_failed:
            logger.info("TTS engine %s works again", name)
