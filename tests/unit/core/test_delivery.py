"""Delivery tickets complete from on_publish, even when the ack beats registration."""

from __future__ import annotations

from pathlib import Path

from mqtt_service.config import MqttSettings
from mqtt_service.connection import MqttConnection
from mqtt_service.delivery import DeliveryTracker, when_all_delivered
from testkit.support.broker import free_port


def test_ack_after_registration() -> None:
    tracker = DeliveryTracker()
    ticket = tracker.register(7)
    assert not ticket.delivered
    tracker.acknowledge(7)
    assert ticket.wait(0)
    assert tracker.pending_count == 0


def test_ack_before_registration_is_not_lost() -> None:
    tracker = DeliveryTracker()
    tracker.acknowledge(9)
    assert tracker.register(9).delivered
    assert not tracker.register(9).delivered  # the early ack was used once


def test_a_refused_publish_is_not_reported_as_accepted() -> None:
    tracker = DeliveryTracker()
    ticket = tracker.register(3)
    tracker.acknowledge(3, accepted=False)
    assert ticket.delivered
    assert not ticket.accepted


def test_a_publish_paho_drops_leaves_no_ticket_behind(tmp_path: Path) -> None:
    # Not connected: paho drops a QoS 0 message at once, so no PUBACK will ever come.
    connection = MqttConnection(
        MqttSettings(mqtt_port=free_port(), state_dir=tmp_path), "tracker", base_topic="t"
    )
    ticket = connection.publish("t/state", "lost", qos=0)
    assert ticket.delivered
    assert not ticket.accepted
    assert connection.pending_deliveries == 0


def test_callbacks_run_once_every_ticket_completed() -> None:
    tracker = DeliveryTracker()
    first, second = tracker.register(1), tracker.register(2)
    calls: list[str] = []
    when_all_delivered([first, second], lambda: calls.append("done"))
    tracker.acknowledge(2)
    assert calls == []
    tracker.acknowledge(1, accepted=False)
    assert calls == ["done"]
    when_all_delivered([first], lambda: calls.append("at once"))
    assert calls == ["done", "at once"]
