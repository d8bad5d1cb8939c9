"""Waiting on what the reporter published, and on what an event-driven source heard."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from idle_reporter.sources.base import IdleSource, Reading
from testkit.support.probe import Probe


def transitions(probe: Probe, topic: str) -> list[str]:
    """Payloads on `topic` with repeats folded (a forced report repeats the state)."""
    folded: list[str] = []
    for message in probe.on_topic(topic):
        if not folded or folded[-1] != message.text:
            folded.append(message.text)
    return folded


def wait_for_transitions(probe: Probe, topic: str, expected: list[str]) -> None:
    """Block until the folded payloads on `topic` are exactly `expected`."""
    probe.wait_until(
        lambda: transitions(probe, topic)[: len(expected)] == expected,
        what=f"{topic} to go {' -> '.join(expected)} (saw {transitions(probe, topic)})",
    )


def eventually(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """For state with no event to await (a reader thread's variable): check every 10 ms."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


class NextMessage:
    """Counts `payload` on `topic` now, so `wait()` returns only on a later one: set it up
    before causing the change (input, a lock) to await that change's own message."""

    def __init__(self, probe: Probe, topic: str, payload: bytes) -> None:
        self.probe, self.topic, self.payload = probe, topic, payload
        self.seen = sum(1 for m in probe.on_topic(topic) if m.payload == payload)

    def wait(self, timeout: float = 15.0) -> None:
        self.probe.wait_for(self.topic, count=self.seen + 1, payload=self.payload, timeout=timeout)


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
