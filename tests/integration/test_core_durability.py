"""What a broker acknowledged survives its SIGKILL (a crash, the OOM killer, a power cut).

The stack runs two brokers (issue 20): Home Assistant publishes to the household broker,
which saves only every 30 minutes and forwards the stack's requests at once to the queue
broker, which saves after every change and is where the services connect. Whichever of
the two is killed, and both, no acknowledged request is lost.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from testkit.support.broker import BrokerPair, MosquittoBroker, password_for
from testkit.support.probe import Probe
from testkit.support.service_process import ServiceProcess, service_env
from testkit.waits import WaitTimeoutError, wait_on
from tests.integration.conftest import ECHO

READY = r"Ready: "
KILLED = {
    "household": lambda pair: [pair.household],
    "queue": lambda pair: [pair.queue],
    "both": lambda pair: [pair.household, pair.queue],
}


def restart_killed(brokers: list[MosquittoBroker]) -> None:
    for broker in brokers:
        broker.kill()
    for broker in reversed(brokers):  # the queue broker first, as Compose starts them
        broker.start()


class QueueWatcher:
    """Sees each request arrive on the queue broker, to know when it has saved them all.

    The queue broker saves at the end of the loop iteration that queued a message for the
    stopped service, the one that also sent it here; the acknowledgement of a publish sent
    afterwards comes from a later iteration, so it proves the save is done.
    """

    def __init__(self, pair: BrokerPair, topic: str) -> None:
        self.probe = Probe(pair.queue)
        self.probe.subscribe(topic)

    def wait_saved(self, topic: str, count: int) -> None:
        self.probe.wait_for(topic, count=count)
        self.probe.publish("reply/barrier", b"")
        self.probe.close()


@pytest.mark.parametrize("killed", sorted(KILLED))
def test_acknowledged_requests_survive_a_sigkill_of_either_broker(
    pair: BrokerPair, tmp_path: Path, killed: str
) -> None:
    env = service_env(pair.queue, tmp_path / "state")
    first = ServiceProcess(ECHO, env).start()
    first.wait_for_log(READY)
    assert first.stop() == 0  # its session and subscription stay on the queue broker

    watcher = QueueWatcher(pair, "sonos/tts/#")
    home_assistant = Probe(pair.household)
    sent = [f"while-down-{n}".encode() for n in range(5)]
    for payload in sent:
        home_assistant.publish("sonos/tts/kitchen", payload)  # the household broker acked it
    home_assistant.close()
    watcher.wait_saved("sonos/tts/kitchen", len(sent))
    restart_killed(KILLED[killed](pair))

    results = Probe(pair.household)
    results.subscribe("sonos/result")
    restarted = ServiceProcess(ECHO, env).start()
    try:
        restarted.wait_for_log(r"Connected to .*\(session resumed\)")
        assert [m.payload for m in results.wait_for("sonos/result", count=len(sent))] == sent
    finally:
        restarted.kill()
        results.close()


class Reporter:
    """An idle reporter's MQTT session on the queue broker: persistent, like the real one's."""

    def __init__(self, pair: BrokerPair) -> None:
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id="durability-desk",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self.client.username_pw_set("idle_reporter", password_for("idle_reporter"))
        self.commands: list[bytes] = []
        self.subscribed = threading.Event()
        self.arrived = threading.Condition()  # notified at every command
        self.client.on_message = lambda _c, _u, m: self._arrive(m.payload)
        self.client.on_subscribe = lambda *_args: self.subscribed.set()
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = 3600
        self.client.connect(
            pair.queue.host, pair.queue.port, clean_start=False, properties=properties
        )
        self.client.loop_start()

    def _arrive(self, payload: bytes) -> None:
        with self.arrived:
            self.commands.append(payload)
            self.arrived.notify_all()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.parametrize("killed", ["household", "both"])
def test_acknowledged_idle_commands_survive_a_sigkill(pair: BrokerPair, killed: str) -> None:
    reporter = Reporter(pair)
    reporter.client.subscribe("idle/desk/command", 1)
    assert reporter.subscribed.wait(10)
    reporter.close()

    watcher = QueueWatcher(pair, "idle/+/command")
    home_assistant = Probe(pair.household)
    sent = [b"report", b"lock", b"report", b"lock", b"report"]
    for payload in sent:
        home_assistant.publish("idle/desk/command", payload)
    home_assistant.close()
    watcher.wait_saved("idle/desk/command", len(sent))
    restart_killed(KILLED[killed](pair))

    back = Reporter(pair)
    try:
        with contextlib.suppress(WaitTimeoutError):  # the assertion below says what came
            wait_on(back.arrived, lambda: len(back.commands) >= len(sent), 10, "the commands")
        assert back.commands == sent
    finally:
        back.close()
