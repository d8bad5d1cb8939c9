"""Checks shared by the event-driven idle sources' tests: an idle event, then input wakes."""

from __future__ import annotations

import threading
from collections.abc import Callable

from idle_reporter.sources.base import IdleSource, Reading
from testkit.waits import eventually


def check_idle_then_input_wakes(source: IdleSource, give_input: Callable[[], None]) -> Reading:
    """Open an event-driven source, await its idle event, give input and check that the
    source itself woke the service for it (no poll could have). Returns the idle reading."""
    woke = threading.Event()
    source.on_change(woke.set)
    source.open()
    try:
        eventually(lambda: source.read().idle_hint is True, f"{source.name}: the idle event")
        idle = source.read()
        woke.clear()
        give_input()
        assert woke.wait(timeout=10), f"{source.name}: no event after the input"
        assert source.read().idle_hint is False and source.read().idle_seconds == 0
        return idle
    finally:
        source.close()
