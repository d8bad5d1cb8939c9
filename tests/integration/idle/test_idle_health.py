"""The reporter's own health: a worker stuck in a source call stops the heartbeat (so the
service is restarted instead of freezing on its last state), and an event-driven source
whose listener thread dies says so and starts a new one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from idle_reporter.errors import SourceReadError
from idle_reporter.service import IdleReporter
from idle_reporter.sources.base import IdleSource, Reading
from idle_reporter.sources.event_source import EventSource, Loop
from mqtt_service.connection import MqttConnection
from testkit.waits import eventually
from tests.integration.idle.conftest import SettingsFactory


class HangingSource(IdleSource):
    """Answers until `hang` is set, then blocks in read() until `release` is."""

    name = "hanging"

    def __init__(self) -> None:
        self.hang = threading.Event()
        self.release = threading.Event()

    def open(self) -> None:
        """Nothing to connect."""

    def read(self) -> Reading:
        if self.hang.is_set():
            self.release.wait(timeout=60)
        return Reading(idle_seconds=0.0)


@pytest.fixture
def hanging_reporter(idle_settings: SettingsFactory) -> Iterator[tuple[IdleReporter, Any]]:
    settings = idle_settings(idle_source="file")
    source = HangingSource()
    connection = MqttConnection(
        settings, service_name="idle_reporter", base_topic=settings.topic_prefix
    )
    reporter = IdleReporter(
        settings, connection, source_factory=lambda _name, _settings: source, stall_limit=0.3
    )
    reporter.start()
    connection.start()
    yield reporter, source
    source.release.set()
    reporter.stop()
    connection.stop()


def test_a_worker_stuck_in_the_source_is_unhealthy(
    hanging_reporter: tuple[IdleReporter, HangingSource], caplog: pytest.LogCaptureFixture
) -> None:
    reporter, source = hanging_reporter
    eventually(lambda: reporter.last_decision is not None, "the first reading")
    assert reporter.healthy()
    source.hang.set()
    eventually(lambda: not reporter.healthy(), "the stall to be noticed")
    source.release.set()
    eventually(reporter.healthy, "health to come back once the call returns")
    assert caplog.text.count("The idle worker has been stuck") == 1


class CrashingListenerSource(EventSource):
    """An event source whose listener hits a bug at once, every time it is started."""

    name = "crashing"

    def __init__(self) -> None:
        super().__init__()
        self.connects = 0

    def connect(self) -> list[Loop]:
        self.connects += 1
        return [self._listen_badly]

    def _listen_badly(self) -> None:
        raise RuntimeError("a bug in a handler")

    def interrupt(self) -> None:
        """Nothing blocks."""

    def disconnect(self) -> None:
        """Nothing to release."""


def test_a_dead_listener_is_reported_then_restarted(caplog: pytest.LogCaptureFixture) -> None:
    source = CrashingListenerSource()
    woke = threading.Event()
    source.on_change(woke.set)
    source.open()
    assert woke.wait(timeout=10), "the dying listener did not wake the service"
    with pytest.raises(SourceReadError, match="the event listener failed"):
        source.read()
    source.read()  # the next read starts a new listener
    assert source.connects == 2
    assert "crashing: the event listener failed" in caplog.text
    source.close()
