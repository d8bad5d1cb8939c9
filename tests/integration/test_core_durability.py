"""The broker keeps what it acknowledged, even when it is killed (SIGKILL, power cut)."""

from __future__ import annotations

from collections.abc import Callable

from testkit.support.broker import MosquittoBroker
from testkit.support.probe import Probe
from tests.integration.conftest import ServiceFactory

READY = r"Ready: "


def test_acknowledged_messages_sessions_and_retained_survive_a_broker_sigkill(
    broker: MosquittoBroker, probe_factory: Callable[..., Probe], service_factory: ServiceFactory
) -> None:
    # The service's session and subscription are created on this broker, then it stops.
    service = service_factory().start()
    service.wait_for_log(READY)
    assert service.stop() == 0

    sender = probe_factory()
    sent = [f"while-down-{n}".encode() for n in range(5)]
    for payload in sent:
        sender.publish("sonos/tts/kitchen", payload)  # returns once the broker acked it
    sender.publish("reply/kept", b"retained", retain=True)
    # Mosquitto saves at the end of the loop iteration that acknowledged a message: a
    # publish sent after the last acknowledgement arrived is read in a later iteration,
    # so its acknowledgement proves every earlier one is on disk.
    sender.publish("reply/barrier", b"")
    broker.kill()
    broker.start()

    watcher = probe_factory()
    watcher.subscribe("sonos/result")
    watcher.subscribe("reply/kept")
    restarted = service_factory().start()
    restarted.wait_for_log(r"Connected to .*\(session resumed\)")
    received = watcher.wait_for("sonos/result", count=len(sent))
    assert [m.payload for m in received] == sent
    assert watcher.wait_for("reply/kept")[0].retain
