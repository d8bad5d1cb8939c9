"""Delivery tracking for QoS 1 publishes through paho's `on_publish` callback.

`MQTTMessageInfo.wait_for_publish` raises while the link is down even though paho keeps
the message queued and resends it after reconnecting; a ticket that is completed from
`on_publish` reports the truth: the broker acknowledged the message. A publish paho
refused outright (its queue is full, or a QoS 0 message while disconnected) gets a ticket
that is already complete and not accepted: nothing would ever complete it.

Tickets complete on paho's network thread; callbacks added with `add_done_callback` run
there (or at once on the caller's thread when the ticket is already complete) and must
not block.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

DoneCallback = Callable[[], object]


class DeliveryTicket:
    """Completed when the broker has acknowledged one published message."""

    def __init__(self, mid: int) -> None:
        self.mid = mid
        self.accepted = False
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[DoneCallback] = []

    @classmethod
    def refused(cls, mid: int) -> DeliveryTicket:
        """For a message paho did not take: complete, not accepted."""
        ticket = cls(mid)
        ticket.mark_delivered(accepted=False)
        return ticket

    def mark_delivered(self, accepted: bool = True) -> None:
        """`accepted` is False when the broker answered with a failure (e.g. the ACL)."""
        with self._lock:
            self.accepted = accepted
            self._done.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def add_done_callback(self, callback: DoneCallback) -> None:
        with self._lock:
            if not self._done.is_set():
                self._callbacks.append(callback)
                return
        callback()

    @property
    def delivered(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until acknowledged; True when it was, False on timeout."""
        return self._done.wait(timeout)


def when_all_delivered(tickets: Sequence[DeliveryTicket], callback: DoneCallback) -> None:
    """Run `callback` once, after every ticket has completed (accepted or not)."""
    remaining = [len(tickets)]
    lock = threading.Lock()

    def one_done() -> None:
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            callback()

    if not tickets:
        callback()
    for ticket in tickets:
        ticket.add_done_callback(one_done)


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
                accepted = self._early_acks.pop(mid)
            else:
                self._pending[mid] = ticket
                return ticket
        ticket.mark_delivered(accepted)
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
