"""The acknowledgement ledger: arrival order, resends, restarts, and forgotten messages.

The ledger's only outside effect is the PUBACK it asks paho to send; here that call
records the packet identifiers, in the order they would leave.
"""

from __future__ import annotations

from pathlib import Path

import paho.mqtt.client as mqtt

from mqtt_service.ack_journal import AckJournal
from mqtt_service.acks import AckLedger, Receipt


def message(mid: int, payload: bytes, *, dup: bool = False, qos: int = 1) -> mqtt.MQTTMessage:
    received = mqtt.MQTTMessage(mid, b"sonos/tts/kitchen")
    received.payload = payload
    received.qos = qos
    received.dup = dup
    return received


class Acks:
    """A ledger with the PUBACKs it sent."""

    def __init__(self, journal: AckJournal | None = None) -> None:
        self.sent: list[int] = []
        self.ledger = AckLedger(lambda mid, _qos: self.sent.append(mid), journal)
        self.ledger.connected(session_present=True)

    def receive(self, mid: int, payload: bytes, *, dup: bool = False) -> Receipt:
        receipt = self.ledger.receive(message(mid, payload, dup=dup))
        assert receipt is not None, f"message {mid} was taken for a resend"
        return receipt


def test_acknowledgements_leave_in_arrival_order() -> None:
    acks = Acks()
    first, second, third = (acks.receive(n, f"m{n}".encode()) for n in (1, 2, 3))
    third.settle()
    second.settle()
    assert acks.sent == []  # the first one is still being handled
    first.settle()
    assert acks.sent == [1, 2, 3]
    assert acks.ledger.pending_count == 0


def test_a_resend_of_a_message_being_handled_is_not_handed_out_again() -> None:
    acks = Acks()
    receipt = acks.receive(7, b"hello")
    acks.ledger.disconnected()
    acks.ledger.connected(session_present=True)
    assert acks.ledger.receive(message(7, b"hello", dup=True)) is None
    receipt.settle()
    assert acks.sent == [7]


def test_settled_while_offline_is_acknowledged_once_the_broker_resent_it() -> None:
    acks = Acks()
    receipt = acks.receive(4, b"hello")
    acks.ledger.disconnected()
    receipt.settle()
    acks.ledger.connected(session_present=True)
    assert acks.sent == []  # acknowledging now could race the resend
    assert acks.ledger.receive(message(4, b"hello", dup=True)) is None
    assert acks.sent == [4]


def test_messages_the_broker_lost_are_forgotten_at_the_first_new_message() -> None:
    acks = Acks()
    lost = acks.receive(1, b"the broker crashed before saving me")
    acks.ledger.disconnected()
    acks.ledger.connected(session_present=True)
    fresh = acks.receive(1, b"a new message with the same id")
    lost.settle()
    fresh.settle()
    assert acks.sent == [1]
    other = acks.receive(2, b"after")
    other.settle()
    assert acks.sent == [1, 2]


def test_a_new_session_forgets_every_pending_acknowledgement() -> None:
    acks = Acks()
    receipt = acks.receive(3, b"hello")
    acks.ledger.connected(session_present=False)
    receipt.settle()
    assert acks.sent == []
    assert acks.ledger.pending_count == 0


def test_qos0_needs_no_acknowledgement() -> None:
    acks = Acks()
    receipt = acks.ledger.receive(message(0, b"fire and forget", qos=0))
    assert receipt is not None
    receipt.settle()
    assert acks.sent == []


def test_the_journal_carries_answers_and_arrival_times_over_a_restart(tmp_path: Path) -> None:
    journal = AckJournal(tmp_path / "acks.log")
    before = Acks(journal)
    unanswered = before.receive(1, b"first")
    before.receive(2, b"second").settle()  # waits for the first: the process dies
    journal.close()

    after = Acks(AckJournal(tmp_path / "acks.log"))
    again = after.receive(1, b"first", dup=True)
    assert abs(again.first_seen - unanswered.first_seen) < 0.01
    assert after.ledger.receive(message(2, b"second", dup=True)) is None  # answered before
    again.settle()
    assert after.sent == [1, 2]
    assert AckJournal(tmp_path / "acks.log").load() == []


def test_the_journal_stays_small(tmp_path: Path) -> None:
    journal = AckJournal(tmp_path / "acks.log")
    acks = Acks(journal)
    for number in range(3000):
        acks.receive(number + 1, b"x").settle()
    acks.receive(4000, b"still being played")
    assert len((tmp_path / "acks.log").read_text().splitlines()) < 1100
    [pending] = AckJournal(tmp_path / "acks.log").load()
    assert (pending.mid, pending.settled) == (4000, False)


def test_a_resend_of_one_acknowledged_before_a_broker_crash_is_not_handled_again() -> None:
    # The broker was killed after our PUBACK arrived but before it saved that fact.
    acks = Acks()
    acks.receive(5, b"played already").settle()
    acks.ledger.disconnected()
    acks.ledger.connected(session_present=True)
    assert acks.ledger.receive(message(5, b"played already", dup=True)) is None
    assert acks.sent == [5, 5]
    assert acks.ledger.pending_count == 0


def test_after_the_resends_an_acknowledged_identifier_may_carry_a_new_message() -> None:
    acks = Acks()
    acks.receive(5, b"hello").settle()
    acks.ledger.disconnected()
    acks.ledger.connected(session_present=True)
    acks.receive(6, b"something new")  # the broker resent nothing: 5 was saved as done
    assert acks.ledger.receive(message(5, b"hello", dup=True)) is not None
