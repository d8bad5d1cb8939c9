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
        self.accepted = False
        self._done = threading.Event()

    def mark_delivered(self, accepted: bool = True) -> None:
        """`accepted` is False when the broker answered with a failure (e.g. the ACL)."""
        self.accepted = accepted
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
        self._early_acks: dict[int, bool] = {}

    def register(self, mid: int) -> DeliveryTicket:
        ticket = DeliveryTicket(mid)
        with self._lock:
            if mid in self._early_acks:
                ticket.mark_delivered(self._early_acks.pop(mid))
            else:
                self._pending[mid] = ticket
        return ticket

    def acknowledge(self, mid: int, accepted: bool = True) -> None:
        with self._lock:
            ticket = self._pending.pop(mid, None)
            if ticket is None:
                self._early_acks[mid] = accepted
                return
        ticket.mark_delivered(accepted)

    @property
    def pending_count(self) -> int:
        with self._lock:
            return len(self._pending)
