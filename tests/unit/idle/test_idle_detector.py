"""The detector's state machine: threshold, hysteresis, inhibitors, hints, failures."""

from __future__ import annotations

import pytest

from idle_reporter.detector import Detector, State
from idle_reporter.errors import SourceReadError
from idle_reporter.sources.base import Reading


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def detector(clock: Clock) -> Detector:
    return Detector(threshold=300, unknown_after=15, clock=clock)


def feed(detector: Detector, *seconds: float) -> list[State]:
    return [detector.update(Reading(idle_seconds=value)).state for value in seconds]


def test_starts_unknown_then_follows_the_first_reading(detector: Detector) -> None:
    before = detector.state
    decision = detector.update(Reading(idle_seconds=3))
    assert before is State.UNKNOWN
    assert decision.changed and decision.state is State.ACTIVE


def test_idle_once_the_threshold_is_reached(detector: Detector) -> None:
    assert feed(detector, 0, 150, 299.9, 300.0) == [State.ACTIVE] * 3 + [State.IDLE]


def test_active_at_the_first_input_after_idle(detector: Detector) -> None:
    feed(detector, 0, 400)
    assert feed(detector, 405, 2) == [State.IDLE, State.ACTIVE]


def test_active_at_input_even_when_the_counter_stays_above_threshold(clock: Clock) -> None:
    # A poll interval longer than the time since the input: the counter fell back.
    detector = Detector(threshold=2, unknown_after=15, clock=clock)
    feed(detector, 0, 10)
    assert feed(detector, 2.5) == [State.ACTIVE]


def test_millisecond_jitter_around_the_threshold_does_not_flap(detector: Detector) -> None:
    states = feed(detector, 0, 300.001, 299.998, 300.002, 299.999, 300.0)
    assert states == [State.ACTIVE] + [State.IDLE] * 5


def test_jitter_below_the_threshold_does_not_flap_either(detector: Detector) -> None:
    states = feed(detector, 299.999, 300.001, 299.4)
    assert states == [State.ACTIVE, State.IDLE, State.IDLE]


def test_an_inhibitor_keeps_it_active_and_its_end_lets_it_go_idle(detector: Detector) -> None:
    held = detector.update(Reading(idle_seconds=900, inhibited=True))
    assert held.state is State.ACTIVE
    assert detector.update(Reading(idle_seconds=960, inhibited=False)).state is State.IDLE


def test_an_inhibitor_that_starts_while_idle_makes_it_active(detector: Detector) -> None:
    feed(detector, 0, 400)
    assert detector.update(Reading(idle_seconds=420, inhibited=True)).state is State.ACTIVE


def test_a_desktop_hint_wins_over_the_threshold(detector: Detector) -> None:
    assert detector.update(Reading(idle_seconds=0, idle_hint=True)).state is State.IDLE
    assert detector.update(Reading(idle_seconds=0, idle_hint=False)).state is State.ACTIVE


def test_hint_and_inhibitor_mean_active(detector: Detector) -> None:
    reading = Reading(idle_seconds=100, idle_hint=True, inhibited=True)
    assert detector.update(reading).state is State.ACTIVE


def test_failures_keep_the_state_then_become_unknown(detector: Detector, clock: Clock) -> None:
    feed(detector, 0, 400)
    error = SourceReadError("gone")
    first = detector.failure(error)
    assert (first.state, first.changed) == (State.IDLE, False)
    clock.now += 14
    assert detector.failure(error).state is State.IDLE
    clock.now += 1
    gone = detector.failure(error)
    assert (gone.state, gone.changed) == (State.UNKNOWN, True)
    assert not detector.failure(error).changed
    back = detector.update(Reading(idle_seconds=1))
    assert (back.state, back.changed) == (State.ACTIVE, True)


def test_a_single_failure_does_not_restart_the_grace_period(
    detector: Detector, clock: Clock
) -> None:
    feed(detector, 0)
    detector.failure(SourceReadError("gone"))
    clock.now += 10
    detector.update(Reading(idle_seconds=1))
    detector.failure(SourceReadError("gone"))
    clock.now += 10
    assert detector.failure(SourceReadError("gone")).state is State.ACTIVE


def test_locked_is_passed_through(detector: Detector) -> None:
    assert detector.update(Reading(idle_seconds=0, locked=True)).locked is True
    assert detector.update(Reading(idle_seconds=0)).locked is None


def test_one_stray_event_gives_one_active_period_not_a_flap(detector: Detector) -> None:
    feed(detector, 0, 400, 405)
    # The cat brushes the mouse once: active, and it stays so until a whole threshold
    # of quiet has passed again, instead of toggling at every poll.
    states = feed(detector, 0.2, 5.2, 150, 299.0)
    assert states == [State.ACTIVE] * 4
    assert feed(detector, 300.2, 305.2) == [State.IDLE, State.IDLE]
