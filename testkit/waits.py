"""The one set of wait helpers for tests, benches and fakes.

Prefer awaiting an event: `wait_on` waits on a `threading.Condition` that the code under
watch notifies (the probe's message list, a fake speaker's state). `eventually` is for
state that has no event to await (another process, a file, a reader thread's variable):
it checks every 10 ms. Both raise `WaitTimeoutError` (an `AssertionError`, so a test fails
with what it waited for) after `timeout` seconds. The MQTT helpers at the end await what a
service published, through a `Probe`.

Any thread may call these; `wait_on` takes the condition's lock while it checks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from testkit.support.probe import Probe

DEFAULT_TIMEOUT = 10.0
POLL_EVERY = 0.01


class WaitTimeoutError(AssertionError):
    """What was awaited did not happen in time."""


def wait_on(
    condition: threading.Condition,
    predicate: Callable[[], bool],
    timeout: float = DEFAULT_TIMEOUT,
    what: object = "",
) -> None:
    """Block until `predicate` (checked under `condition`'s lock) is true; the owner of
    `condition` must `notify_all` whenever the state it guards changes."""
    with condition:
        if not condition.wait_for(predicate, timeout):
            raise WaitTimeoutError(f"timed out after {timeout} s waiting for {what or predicate}")


def eventually(
    predicate: Callable[[], bool],
    what: str,
    timeout: float = DEFAULT_TIMEOUT,
    every: float = POLL_EVERY,
) -> None:
    """For state with no event to await: check `predicate` every `every` seconds. An
    exception from `predicate` propagates (a process that died is not worth waiting for)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise WaitTimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


# ------------------------------------------------------------- MQTT, through a probe
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


class NextMessage:
    """Counts `payload` on `topic` now, so `wait()` returns only on a later one: set it up
    before causing the change (input, a lock) to await that change's own message."""

    def __init__(self, probe: Probe, topic: str, payload: bytes) -> None:
        self.probe, self.topic, self.payload = probe, topic, payload
        self.seen = sum(1 for m in probe.on_topic(topic) if m.payload == payload)

    def wait(self, timeout: float = 15.0) -> None:
        self.probe.wait_for(self.topic, count=self.seen + 1, payload=self.payload, timeout=timeout)
