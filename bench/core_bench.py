"""MQTT core benchmark: QoS 1 latency through the core next to bare paho, and recovery time.

Prints, against a real Mosquitto started from the project's config:
- publish-to-delivery latency (p50, p99) of QoS 1 messages delivered to a service's
  handler through the core, and published by the core, next to a bare paho client
  pair on the same broker (the floor);
- request -> answer round trip through a service that answers on sonos/result and
  acknowledges the request once the broker has the answer, as the bridge does;
- head-of-line: one request held unanswered for HOLD seconds while 50 more arrive; how
  many of them are handled meanwhile, and their latency, per MQTT_RECEIVE_MAXIMUM (MQTT 5)
  and per broker max_inflight_messages (MQTT 3.1.1: Mosquitto's default 20, and the
  project's setting);
- seconds from a broker restart until the service is connected and resubscribed.
Run: python bench/core_bench.py  (env BENCH_MESSAGES, BENCH_RESTARTS to change counts)
"""

from __future__ import annotations

import logging
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt

from mqtt_service.acks import Receipt
from mqtt_service.connection import MqttConnection
from mqtt_service.delivery import when_all_delivered
from testkit.support.broker import PROJECT_CONF, MosquittoBroker
from testkit.support.probe import Probe
from testkit.support.service_process import core_connection, print_recovery

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "500"))
RESTARTS = int(os.environ.get("BENCH_RESTARTS", "5"))
TOPIC = "sonos/tts/bench"
HOLD = 2.0
BEHIND = 50
WINDOWS = (20, 100, 1000)
INFLIGHT = re.compile(r"^max_inflight_messages\s+(\d+)", re.MULTILINE)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(
    send: Callable[[bytes], object], arrived: threading.Event, box: list[float]
) -> list[float]:
    """Send one message at a time and time each until the receiver saw it."""
    samples: list[float] = []
    for number in range(MESSAGES):
        arrived.clear()
        start = time.perf_counter()
        send(str(number).encode())
        if not arrived.wait(5):
            raise RuntimeError(f"message {number} not delivered within 5 s")
        samples.append((box[0] - start) * 1000)
    return samples


def receiver_hook(arrived: threading.Event, box: list[float]) -> Callable[[mqtt.MQTTMessage], None]:
    def on_message(_message: mqtt.MQTTMessage) -> None:
        box[0] = time.perf_counter()
        arrived.set()

    return on_message


def report(label: str, samples: list[float]) -> None:
    print(
        f"{label:<44} p50 {statistics.median(samples):6.2f} ms   "
        f"p99 {percentile(samples, 0.99):6.2f} ms   (n={len(samples)})"
    )


def started(service: MqttConnection) -> MqttConnection:
    service.start()
    if not service.wait_ready(10):
        raise RuntimeError(f"{service.service_name} did not connect")
    return service


def answer_and_ack_when_delivered(service: MqttConnection) -> None:
    def handler(message: mqtt.MQTTMessage, receipt: Receipt) -> None:
        when_all_delivered([service.publish("sonos/result", message.payload)], receipt.settle)

    service.subscribe_deferred(TOPIC, handler)


def head_of_line(
    broker: MosquittoBroker, sender: Probe, state_dir: Path, label: str, **settings: object
) -> None:
    """Hold the first request's answer for HOLD s; time the BEHIND requests after it."""
    service = core_connection(broker, state_dir, "hol", **settings)
    held: list[Receipt] = []
    handled: dict[bytes, float] = {}

    def handler(message: mqtt.MQTTMessage, receipt: Receipt) -> None:
        if message.payload == b"hold":
            held.append(receipt)
            return
        handled[message.payload] = time.perf_counter()
        receipt.settle()

    service.subscribe_deferred(TOPIC, handler)
    started(service)
    sender.client.publish(TOPIC, "hold", qos=1)
    sent = {}
    for number in range(BEHIND):
        payload = f"behind {number}".encode()
        sent[payload] = time.perf_counter()
        sender.client.publish(TOPIC, payload, qos=1)
    time.sleep(HOLD)
    during = len(handled)
    held[0].settle()
    while len(handled) < BEHIND:
        time.sleep(0.01)
    latencies = [(handled[p] - t) * 1000 for p, t in sent.items()]
    print(
        f"{label:<40} {during:>2} of {BEHIND} handled while the first waits {HOLD:g} s   "
        f"p50 {statistics.median(latencies):7.1f} ms   max {max(latencies):7.1f} ms"
    )
    service.stop()


def head_of_line_v311(workdir: Path, inflight: int) -> None:
    """On MQTT 3.1.1 the broker's max_inflight_messages is the window: a broker of its own."""
    broker = MosquittoBroker(workdir / f"broker-{inflight}")
    broker.conf.write_text(
        INFLIGHT.sub(f"max_inflight_messages {inflight}", broker.conf.read_text()),
        encoding="utf-8",
    )
    broker.start()
    try:
        sender = Probe(broker, "homeassistant")
        label = f"MQTT 3.1.1, max_inflight_messages {inflight:>4}:"
        head_of_line(broker, sender, workdir / f"hol311-{inflight}", label, mqtt_protocol=311)
        sender.close()
    finally:
        broker.kill()


def main() -> int:
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    workdir = Path(tempfile.mkdtemp(prefix="core-bench-"))
    broker = MosquittoBroker(workdir / "broker")
    broker.start()
    arrived = threading.Event()
    box = [0.0]
    try:
        # Floor: bare paho publisher -> bare paho subscriber.
        sender = Probe(broker, "homeassistant")
        bare = Probe(broker, "homeassistant")
        bare.client.on_message = lambda _c, _u, m: receiver_hook(arrived, box)(m)
        bare.subscribe(TOPIC)
        floor = measure(lambda p: sender.client.publish(TOPIC, p, qos=1), arrived, box)
        bare.close()

        # Through the core: bare publisher -> the core's handler.
        service = core_connection(broker, workdir / "state", service_name="bench")
        service.subscribe(TOPIC, receiver_hook(arrived, box))
        started(service)
        inbound = measure(lambda p: sender.client.publish(TOPIC, p, qos=1), arrived, box)

        # The core publishing: core -> bare subscriber.
        listener = Probe(broker, "homeassistant")
        listener.client.on_message = lambda _c, _u, m: receiver_hook(arrived, box)(m)
        listener.subscribe("sonos/result")
        outbound = measure(lambda p: service.publish("sonos/result", p), arrived, box)

        print(f"QoS 1 publish-to-delivery latency, {MESSAGES} messages one at a time:")
        report("bare paho -> bare paho (floor)", floor)
        report("bare paho -> service handler (core)", inbound)
        report("service publish (core) -> bare paho", outbound)

        answering = core_connection(broker, workdir / "answering", service_name="answer")
        answer_and_ack_when_delivered(answering)
        started(answering)
        round_trip = measure(lambda p: sender.client.publish(TOPIC, p, qos=1), arrived, box)
        report("request -> answer (ack after the answer)", round_trip)
        answering.stop()
        for window in WINDOWS:
            label = f"MQTT 5, receive maximum {window:>4}:"
            state = workdir / f"hol-{window}"
            head_of_line(broker, sender, state, label, mqtt_receive_maximum=window)
        project = INFLIGHT.search(PROJECT_CONF.read_text(encoding="utf-8"))
        for inflight in sorted({20, int(project.group(1)) if project else 20}):
            head_of_line_v311(workdir, inflight)

        print_recovery(broker, service, RESTARTS)
        service.stop()
        sender.close()
        listener.close()
    finally:
        broker.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
