"""In-order acknowledgement of received QoS 1 messages: at-least-once, end to end.

paho acknowledges a QoS 1 PUBLISH as soon as `on_message` returns, so a request queued
inside a service died with the process. The core turns on paho's manual acknowledgement
and sends each PUBACK only once the service has *settled* the message (answered it, or
found that it needs no answer). MQTT requires PUBACKs in the order the PUBLISHes
arrived, so a message settled early waits for every earlier one.

Redelivery: after a reconnect, and after a restart of the service, the broker resends
every message it holds unacknowledged (flagged DUP) with the packet identifier it had.
The broker cannot give that identifier to another message before it has our PUBACK, so
a message whose identifier and content match a pending one *is* that one:
- still being handled here: it is not handed to the service again, and the PUBACK of the
  original acknowledges it;
- already settled (its PUBACK waited for an earlier message, or the link was down): it is
  acknowledged in turn, not handled twice;
- pending from before a restart (see `ack_journal`) and never answered: it is handed to
  the service, with the time it first arrived.
A resend (DUP) of a message acknowledged on an earlier connection means the broker lost
that PUBACK (it was killed before it saved it): it is acknowledged again, in turn, and not
handed out. Until the broker has our PUBACK it cannot reuse the identifier, and it hands
them out in sequence, so a recent identifier with the same content is that message.
A message settled before a reconnect is acknowledged only once the broker resent it on
the new connection: acknowledging it earlier could race the resend, which would then look
new. The broker resends before it sends anything new, so the first new message (DUP
clear) also tells which old ones the broker no longer has (it lost them to a crash):
those are forgotten, as is everything when the broker starts a new session.

Threads: `receive`, `connected` and `disconnected` run on paho's network thread,
`Receipt.settle` on any thread (a worker, or paho's thread through a delivery callback).
All of them take the ledger's lock; `send_ack` (paho's `ack`) only queues a packet.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace

import paho.mqtt.client as mqtt

from mqtt_service.ack_journal import AckJournal, JournalEntry

logger = logging.getLogger(__name__)

# Acknowledged messages remembered in case the broker loses the PUBACK in a crash.
REMEMBER_ACKNOWLEDGED = 1000


@dataclass(frozen=True, slots=True)
class Receipt:
    """The duty to acknowledge one received message: `settle()` once it is answered.

    Settling twice, or settling a message the broker has forgotten, does nothing.
    """

    ledger: AckLedger | None
    mid: int
    serial: int
    first_seen: float  # wall-clock time the message first arrived, across restarts

    def settle(self) -> None:
        if self.ledger is not None:
            self.ledger.settle(self)

    @classmethod
    def unneeded(cls) -> Receipt:
        """For a QoS 0 message: there is nothing to acknowledge."""
        return cls(None, 0, 0, time.time())


@dataclass(frozen=True, slots=True)
class _Pending:
    record: JournalEntry
    serial: int
    connection: int  # the connection it was last received on
    handled: bool  # handed to a handler by this process


def digest_of(message: mqtt.MQTTMessage) -> str:
    """Identifies a message's content, to tell a resend from a new message."""
    digest = hashlib.blake2b(digest_size=12)
    digest.update(message.topic.encode("utf-8", "replace"))
    digest.update(b"\0")
    digest.update(message.payload)
    return digest.hexdigest()


class AckLedger:
    """Received messages not yet acknowledged, in arrival order."""

    def __init__(
        self, send_ack: Callable[[int, int], object], journal: AckJournal | None = None
    ) -> None:
        self._send_ack = send_ack
        self._journal = journal
        self._lock = threading.Lock()
        self._pending: dict[int, _Pending] = {}  # by packet identifier, in arrival order
        # Acknowledged: packet identifier -> (digest, connection it was acknowledged on).
        self._acknowledged: OrderedDict[int, tuple[str, int]] = OrderedDict()
        self._serials = itertools.count(1)
        self._connection = 0
        self._online = False
        self._resending = True  # until the broker sends something new after a connect
        for record in journal.load() if journal else []:
            self._pending[record.mid] = _Pending(record, next(self._serials), 0, handled=False)
        if self._pending:
            logger.info(
                "%d message(s) were not acknowledged when the service last stopped "
                "(%d of them answered); the broker resends them",
                len(self._pending),
                sum(p.record.settled for p in self._pending.values()),
            )

    @property
    def pending_count(self) -> int:
        with self._lock:
            return len(self._pending)

    # ------------------------------------------------------- paho's thread
    def connected(self, session_present: bool) -> None:
        with self._lock:
            self._connection += 1
            self._online = True
            self._resending = True
            if not session_present:
                self._acknowledged.clear()
                if self._pending:
                    self._forget(list(self._pending.values()), "the broker started a new session")

    def disconnected(self) -> None:
        with self._lock:
            self._online = False

    def receive(self, message: mqtt.MQTTMessage) -> Receipt | None:
        """A receipt to hand with the message to its handler; None for a resend of a
        message that was handled already (it must not be handled twice)."""
        if message.qos == 0:
            return Receipt.unneeded()
        digest = digest_of(message)
        with self._lock:
            known = self._pending.get(message.mid)
            if known is not None and known.record.digest == digest:
                return self._received_again(known)
            if known is not None:
                self._forget([known], "the broker gave its packet identifier to a new message")
            if not message.dup and self._resending:
                self._end_resending()
            acknowledged = message.dup and self._was_acknowledged(message.mid, digest)
            record = JournalEntry(message.mid, message.qos, digest, time.time(), acknowledged)
            pending = _Pending(record, next(self._serials), self._connection, handled=True)
            self._pending[message.mid] = pending
            if self._journal is not None:
                self._journal.received(record)
            if acknowledged:
                logger.info(
                    "Message %d was resent although it was acknowledged (the broker lost the "
                    "acknowledgement); acknowledging it again",
                    message.mid,
                )
                self._flush()
                return None
            return self._receipt(pending)

    def _was_acknowledged(self, mid: int, digest: str) -> bool:
        earlier = self._acknowledged.get(mid)
        return earlier is not None and earlier[0] == digest and earlier[1] < self._connection

    def _received_again(self, known: _Pending) -> Receipt | None:
        again = replace(known, connection=self._connection, handled=True)
        self._pending[known.record.mid] = again
        if known.handled or known.record.settled:
            logger.debug("Message %d was resent; it is handled already", known.record.mid)
            self._flush()
            return None
        logger.info(
            "Message %d arrived again after a restart, %.1f s after it first did; handling it",
            known.record.mid,
            time.time() - known.record.first_seen,
        )
        return self._receipt(again)

    def _receipt(self, pending: _Pending) -> Receipt:
        return Receipt(self, pending.record.mid, pending.serial, pending.record.first_seen)

    # ----------------------------------------------------------- any thread
    def settle(self, receipt: Receipt) -> None:
        with self._lock:
            pending = self._pending.get(receipt.mid)
            if pending is None or pending.serial != receipt.serial or pending.record.settled:
                return
            record = replace(pending.record, settled=True)
            self._pending[receipt.mid] = replace(pending, record=record)
            if self._journal is not None:
                self._journal.settled(receipt.mid)
            self._flush()
            if receipt.mid in self._pending:
                logger.debug(
                    "Message %d answered; its acknowledgement waits for an earlier one",
                    receipt.mid,
                )

    def close(self) -> None:
        with self._lock:
            if self._journal is not None:
                self._journal.close()

    # ------------------------------------------------------ under the lock
    def _flush(self) -> None:
        """Acknowledge the settled messages at the head, in arrival order."""
        ready: list[_Pending] = []
        for pending in self._pending.values():
            current = self._online and pending.connection == self._connection
            if not (pending.record.settled and current):
                break
            ready.append(pending)
        if not ready:
            return
        self._drop(ready)
        # The journal says "done" before the PUBACK leaves: a crash in between costs a
        # replay, the other order could cost a message.
        for pending in ready:
            self._send_ack(pending.record.mid, pending.record.qos)
            self._acknowledged[pending.record.mid] = (pending.record.digest, self._connection)
            self._acknowledged.move_to_end(pending.record.mid)
        while len(self._acknowledged) > REMEMBER_ACKNOWLEDGED:
            self._acknowledged.popitem(last=False)

    def _end_resending(self) -> None:
        """The broker sends something new: it has resent all it had, and may now reuse
        the identifiers acknowledged on earlier connections."""
        self._resending = False
        for mid, (_digest, connection) in list(self._acknowledged.items()):
            if connection < self._connection:
                del self._acknowledged[mid]
        stale = [p for p in self._pending.values() if p.connection < self._connection]
        if stale:
            self._forget(stale, "the broker did not resend them after the reconnect")

    def _forget(self, stale: list[_Pending], why: str) -> None:
        self._drop(stale)
        logger.warning(
            "Forgetting %d unacknowledged message(s) (%s); any still being handled are "
            "answered but not acknowledged",
            len(stale),
            why,
        )
        self._flush()

    def _drop(self, entries: list[_Pending]) -> None:
        for pending in entries:
            del self._pending[pending.record.mid]
        if self._journal is not None:
            self._journal.done([p.record.mid for p in entries])
            self._journal.compact_if_large([p.record for p in self._pending.values()])
