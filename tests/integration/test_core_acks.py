"""At-least-once, end to end: a message is acknowledged only once the service answered it.

The echo service answers `hold...` messages only when it receives SIGUSR1, so these tests
decide when a message is answered; everything else is answered at once.
"""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest

from testkit.support.broker import MosquittoBroker
from testkit.support.probe import Probe
from testkit.support.service_process import ServiceProcess
from tests.integration.conftest import ServiceFactory

READY = r"Ready: "
TOPIC = "sonos/tts/kitchen"
RESENT = r"Message \d+ was resent; it is handled already"


def answers(probe: Probe) -> list[bytes]:
    return [message.payload for message in probe.on_topic("sonos/result")]


def release_held(service: ServiceProcess, payload: bytes, count: int = 1) -> None:
    """SIGUSR1 once the service has the held message (before, it would kill it)."""
    service.wait_for_log(f"echo {payload.decode()}$", count=count)
    service.signal(signal.SIGUSR1)


def started_holding(
    factory: ServiceFactory, probe: Probe, held: bytes, **extra: str
) -> ServiceProcess:
    """A ready service that has received `held` and not answered it."""
    service = factory(**extra).start()
    service.wait_for_log(READY)
    probe.subscribe("sonos/result")
    probe.publish(TOPIC, held)
    service.wait_for_log(f"echo {held.decode()}$")
    return service


def answered_then(probe: Probe, answer: bytes, then: bytes) -> list[bytes]:
    """Await `answer`, then a fresh message's answer (all acknowledgements flowed)."""
    probe.wait_for("sonos/result", payload=answer)
    probe.publish(TOPIC, then)
    probe.wait_for("sonos/result", payload=then)
    return answers(probe)


def test_killed_service_answers_what_it_had_not_and_nothing_twice(
    probe: Probe, service_factory: ServiceFactory
) -> None:
    service = started_holding(service_factory, probe, b"hold first")
    probe.publish(TOPIC, b"second")
    # Answered, but its acknowledgement must wait for the earlier, unanswered one.
    probe.wait_for("sonos/result", payload=b"second")
    service.wait_for_log(r"answered; its acknowledgement waits for an earlier one")
    service.kill()

    restarted = service_factory().start()
    restarted.wait_for_log(RESENT)  # "second": the journal says it was answered
    release_held(restarted, b"hold first")
    assert answered_then(probe, b"hold first", b"third") == [b"second", b"hold first", b"third"]


def test_a_resend_after_a_broker_restart_is_not_handled_twice(
    broker: MosquittoBroker, probe_factory: Callable[..., Probe], service_factory: ServiceFactory
) -> None:
    service = started_holding(service_factory, probe_factory(), b"hold during the restart")
    broker.restart()  # saves the unacknowledged message and resends it on reconnect
    service.wait_for_log(RESENT)
    watcher = probe_factory()
    watcher.subscribe("sonos/result")
    service.signal(signal.SIGUSR1)
    held = b"hold during the restart"
    assert answered_then(watcher, held, b"after") == [held, b"after"]
    assert service.log().count("echo hold during the restart") == 1


@pytest.mark.parametrize("protocol", ["5", "311"])
def test_a_long_unanswered_message_does_not_hold_back_later_ones(
    probe: Probe, service_factory: ServiceFactory, protocol: str
) -> None:
    # More than Mosquitto's default in-flight window of 20: the broker delivers them while
    # the first one waits for its answer (MQTT 5: the service's Receive Maximum; 3.1.1:
    # the broker's max_inflight_messages).
    service = started_holding(service_factory, probe, b"hold long", MQTT_PROTOCOL=protocol)
    quick = [f"quick-{n}".encode() for n in range(40)]
    for payload in quick:
        probe.publish(TOPIC, payload)
    probe.wait_for("sonos/result", count=len(quick))
    service.signal(signal.SIGUSR1)
    probe.wait_for("sonos/result", payload=b"hold long")
    assert answers(probe) == [*quick, b"hold long"]


def test_stopping_leaves_unanswered_messages_for_the_next_start(
    probe: Probe, service_factory: ServiceFactory
) -> None:
    service = started_holding(service_factory, probe, b"hold over the restart")
    assert service.stop() == 0
    assert answers(probe) == []

    restarted = service_factory().start()
    release_held(restarted, b"hold over the restart")
    held = b"hold over the restart"
    assert answered_then(probe, held, b"next") == [held, b"next"]
