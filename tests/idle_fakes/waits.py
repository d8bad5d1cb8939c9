"""Waiting on what the reporter published, as a sequence of state changes."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.support.probe import Probe


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
