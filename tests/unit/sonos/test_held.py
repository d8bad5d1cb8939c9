"""Held requests: released when due or when a switch changes, left unanswered at a stop."""

from __future__ import annotations

import queue
import threading

from sonos_bridge.request.held import MAX_SLEEP, HeldRequests


def ignore(_item: str) -> None:
    raise AssertionError("the thread is not started in these tests")


def test_due_requests_are_taken_in_the_order_held() -> None:
    held: HeldRequests[str] = HeldRequests(ignore)
    held.hold("morning", 700.0)
    held.hold("early", 600.0)
    held.hold("switch", None)
    assert held.take_due(599.0) == []
    assert held.next_wake(599.0) == 1.0
    assert held.take_due(700.0) == ["morning", "early"]
    assert held.count == 1
    assert held.next_wake(700.0) == MAX_SLEEP  # nothing timed: look at the clock again later


def test_a_recheck_makes_everything_due_once() -> None:
    held: HeldRequests[str] = HeldRequests(ignore)
    held.hold("dnd", None)
    held.hold("quiet", 10_000.0)
    held.recheck()
    assert held.take_due(0.0) == ["dnd", "quiet"]
    held.hold("dnd", None)
    assert held.take_due(0.0) == []


def test_the_thread_releases_at_the_wake_up_and_on_recheck() -> None:
    released: queue.Queue[str] = queue.Queue()
    now = [1000.0]
    held: HeldRequests[str] = HeldRequests(released.put, clock=lambda: now[0])
    held.start()
    try:
        held.hold("switch", None)
        held.hold("past", 999.0)
        assert released.get(timeout=5) == "past"
        held.recheck()
        assert released.get(timeout=5) == "switch"
        assert held.count == 0
    finally:
        assert held.stop() == []


def test_a_release_may_hold_again_and_stop_leaves_it_unanswered() -> None:
    seen = threading.Event()

    def again(item: str) -> None:
        held.hold(item, None)  # still do-not-disturb
        seen.set()

    held: HeldRequests[str] = HeldRequests(again)
    held.start()
    held.hold("request", 0.0)
    assert seen.wait(5)
    assert held.stop() == ["request"]


def test_a_failing_release_does_not_end_the_thread() -> None:
    released: queue.Queue[str] = queue.Queue()

    def release(item: str) -> None:
        if item == "bad":
            raise RuntimeError("bug")
        released.put(item)

    held: HeldRequests[str] = HeldRequests(release)
    held.start()
    try:
        held.hold("bad", 0.0)
        held.hold("good", 0.0)
        assert released.get(timeout=5) == "good"
    finally:
        held.stop()
