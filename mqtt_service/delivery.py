"""Delivery tracking for QoS 1 publishes through paho's `on_publish` callback.

`MQTTMessageInfo.wait_for_publish` raises while the link is down even though paho keeps
the message queued and resends it after reconnecting; a ticket that is completed from
`on_publish` reports the truth: the broker acknowledged the message.
"""

from __future__ import annotations

import threading


class DeliveryTicket:
    """Completed when the broker has acknowledged one published message."""

    def __init__(self, mid: int) -> None:
        self.mid = mid
        self._done = threading.Event()

    def mark_delivered(self) -> None:
        self._done.set()

    @property
    def delivered(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until acknowledged; True when it was, False on timeout."""
        return self._done.wait(timeout)


class DeliveryTracker:
    """Maps message IDs to tickets; tolerates the ack arriving before registration.

    paho may process the PUBACK on its network thread before `publish()` has returned
    the message ID to us, so an acknowledgement with no ticket yet is remembered.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[int, DeliveryTicket] = {}
        self._early_acks: set[int] = set()

    def register(self, mid: int) -> DeliveryTicket:
        ticket = DeliveryTicket(mid)
        with self._lock:
            if mid in self._early_acks:
                self._early_acks.discard(mid)
                ticket.mark_delivered()
            else:
                self._pending[mid] = ticket
        return ticket

    def acknowledge(self, mid: int) -> None:
        with self._lock:
            ticket = self._pending.pop(mid, None)
            if ticket is None:
                self._early_acks.add(mid)
                return
        ticket.mark_delivered()

    @property
    def pending_count(self) -> int:
        with self._lock:
            return len(self._pending)
