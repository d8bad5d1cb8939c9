"""Delivery tickets complete from on_publish, even when the ack beats registration."""

from __future__ import annotations

from mqtt_service.delivery import DeliveryTracker


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
