"""The interface every idle source implements, and what a reading carries."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

logger = logging.getLogger(__name__)

# Called by an event-driven source, from its own listener thread, when a read would now
# answer differently; it only queues work for the service's worker thread.
Wake = Callable[[], None]


@dataclass(frozen=True, slots=True)
class Reading:
    """What a source knows at one instant.

    `idle_hint` is set by sources whose desktop already decided (logind's IdleHint, an
    idle daemon's hook): the desktop applied its own timeout, so the detector follows the
    hint instead of comparing `idle_seconds` with IDLE_THRESHOLD. `None` means "this
    source cannot tell" for every optional field.
    """

    idle_seconds: float
    idle_hint: bool | None = None
    locked: bool | None = None
    inhibited: bool | None = None


class IdleSource(ABC):
    """One way of learning how long the desk has been idle.

    A source opens its connection once (`open`) and keeps it for its lifetime: a new
    connection per poll exhausted XWayland's client limit in other projects. `open`
    raises SourceUnavailableError with a one-line reason when the source cannot work
    here; `read` raises SourceReadError when it worked but does not answer now.
    """

    name: ClassVar[str]
    # True when the desktop tells the source about changes (compositor events, D-Bus
    # signals): it calls the `on_change` callback and the service needs no timed polls
    # to notice input or going idle; its timer then only refreshes the idle seconds.
    event_driven: ClassVar[bool] = False

    @abstractmethod
    def open(self) -> None:
        """Connect and check that the source answers; raise SourceUnavailableError if not."""

    @abstractmethod
    def read(self) -> Reading:
        """The current reading; raise SourceReadError when the source does not answer."""

    def close(self) -> None:  # noqa: B027 - optional for sources without resources
        """Release the connection; the default has nothing to release."""

    @property
    def knows_locked(self) -> bool:
        """Whether readings carry `locked` (decides the HA "locked" entity)."""
        return False

    def on_change(self, wake: Wake) -> None:  # noqa: B027 - polled sources never call it
        """Event-driven sources call `wake` (from their listener thread) on every change."""

    def take_resumed(self) -> bool:
        """True once after the source saw the machine resume from sleep."""
        return False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
