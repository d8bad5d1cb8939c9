"""What the broker's persistence options cost, and what each loses to a SIGKILL.

Mosquitto 2.0 writes its whole in-memory database (retained messages, sessions, queued
messages) to `mosquitto.db` and fsyncs it: every `autosave_interval` seconds, or, with
`autosave_on_changes true`, once that many changes (a message queued for an offline
client, a PUBACK from a subscriber, a retained message, a persistent connect, a
(un)subscribe) have piled up. For each option this prints, against the real broker
started from the project's config with only the persistence lines replaced:

- lost: QoS 1 requests the broker acknowledged for the (stopped) bridge, gone after the
  broker was killed with SIGKILL one second later, and whether the bridge's session and
  subscription survived;
- a steady 20 requests/s with 1,000 retained messages in the database: each request goes
  to a bridge that answers on sonos/result and acknowledges the request after the
  broker acknowledged the answer (manual ack), and to a Home Assistant subscriber that
  reads the answer; broker CPU and bytes written to disk per request, and request ->
  answer latency;
- save time: a retained publish makes one save; publishing them one at a time, each
  waits for the previous save, so the time per publish minus the same without saves is
  the time the broker is blocked saving 1,000 retained messages (medians).

    python bench/broker_bench.py [--seconds 10] [--rate 20] [--retained 1000]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from testkit.support.broker import MosquittoBroker, password_for
from testkit.waits import WaitTimeoutError, eventually

OPTIONS = {
    "autosave_interval 60 (time-based)": ["autosave_interval 60"],
    "autosave_on_changes, interval 100": ["autosave_on_changes true", "autosave_interval 100"],
    "autosave_on_changes, interval 10": ["autosave_on_changes true", "autosave_interval 10"],
    "autosave_on_changes, interval 1": ["autosave_on_changes true", "autosave_interval 1"],
}
REQUEST_TOPIC = "sonos/tts/bench"
RESULT_TOPIC = "sonos/result"
RETAINED_PAYLOAD = "x" * 400  # about a Home Assistant discovery config
TICKS = os.sysconf("SC_CLK_TCK")


class Client:
    """A paho client that connects, and awaits its CONNACK, SUBACKs and PUBACKs."""

    def __init__(self, broker: MosquittoBroker, user: str, client_id: str = "") -> None:
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=bool(client_id),
        )
        self.client.username_pw_set(user, password_for(user))
        self.host, self.port, self.clean = broker.host, broker.port, not client_id
        self.session_present = False
        self._connected = threading.Event()
        self._acked: set[int] = set()
        self._condition = threading.Condition()
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def _on_message(self, _c: mqtt.Client, _u: Any, _message: mqtt.MQTTMessage) -> None:
        """Subclasses record what arrives."""

    def start(self) -> Client:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = 3600
        self.client.connect(self.host, self.port, clean_start=self.clean, properties=properties)
        self.client.loop_start()
        if not self._connected.wait(10):
            raise RuntimeError("the client did not connect")
        return self

    def _on_connect(self, _c: mqtt.Client, _u: Any, flags: Any, _rc: Any, _p: Any) -> None:
        self.session_present = bool(flags.session_present)
        self._connected.set()

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, _rc: Any, _p: Any) -> None:
        with self._condition:
            self._acked.add(mid)
            self._condition.notify_all()

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, mid: int, _rc: Any, _p: Any) -> None:
        self._on_publish(_c, _u, mid, _rc, _p)

    def wait_acked(self, mid: int) -> None:
        with self._condition:
            if not self._condition.wait_for(lambda: mid in self._acked, 30):
                raise RuntimeError(f"no acknowledgement for message {mid}")

    def publish(self, topic: str, payload: str, retain: bool = False) -> int:
        return self.client.publish(topic, payload, qos=1, retain=retain).mid

    def subscribe(self, topic: str) -> None:
        _rc, mid = self.client.subscribe(topic, qos=1)
        assert mid is not None
        self.wait_acked(mid)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Bridge(Client):
    """Answers each request on sonos/result; acknowledges it once the answer is acked."""

    def __init__(self, broker: MosquittoBroker) -> None:
        super().__init__(broker, "sonos_bridge", client_id="bench-bridge")
        self.received: list[bytes] = []
        self._request_of: dict[int, int] = {}
        self.start()

    def _on_message(self, client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        self.received.append(message.payload)
        result_mid = client.publish(RESULT_TOPIC, message.payload, qos=1).mid
        self._request_of[result_mid] = message.mid

    def _on_publish(self, client: mqtt.Client, _u: Any, mid: int, rc: Any, p: Any) -> None:
        request_mid = self._request_of.pop(mid, None)
        if request_mid is not None:
            client.ack(request_mid, 1)
        super()._on_publish(client, _u, mid, rc, p)


class Listener(Client):
    """Home Assistant reading answers: records when each arrived."""

    def __init__(self, broker: MosquittoBroker) -> None:
        super().__init__(broker, "homeassistant")
        self.arrivals: dict[bytes, float] = {}
        self.start()
        self.subscribe(RESULT_TOPIC)

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        self.arrivals[message.payload] = time.perf_counter()


@dataclass
class Load:
    requests: int
    cpu_ms: float
    written: int
    db_bytes: int
    latencies: list[float] = field(default_factory=list)


def broker_with(workdir: Path, lines: list[str]) -> MosquittoBroker:
    broker = MosquittoBroker(workdir)
    text = re.sub(r"^autosave_\w+\s+.*\n", "", broker.conf.read_text(), flags=re.MULTILINE)
    broker.conf.write_text(text + "\n".join(lines) + "\n")
    broker.start()
    return broker


def broker_pid(broker: MosquittoBroker) -> int:
    assert broker.process is not None
    return broker.process.pid


def usage(pid: int) -> tuple[float, int]:
    """CPU seconds and bytes written to storage so far by process `pid`."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICKS
    io = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    return cpu, int(io["write_bytes"])


def preload_retained(broker: MosquittoBroker, count: int) -> None:
    writer = Client(broker, "sonos_bridge").start()
    mids = [
        writer.publish(f"sonos/bench/retained/{n}", RETAINED_PAYLOAD, retain=True)
        for n in range(count)
    ]
    for mid in mids:
        writer.wait_acked(mid)
    writer.close()


def steady_load(broker: MosquittoBroker, seconds: float, rate: float) -> Load:
    bridge = Bridge(broker)
    bridge.subscribe(REQUEST_TOPIC)
    listener = Listener(broker)
    requester = Client(broker, "homeassistant").start()
    pid = broker_pid(broker)
    cpu_before, written_before = usage(pid)
    sent: dict[bytes, float] = {}
    started = time.perf_counter()
    for number in range(round(seconds * rate)):
        time.sleep(max(0.0, started + number / rate - time.perf_counter()))
        payload = f"request {number}".encode()
        sent[payload] = time.perf_counter()
        requester.publish(REQUEST_TOPIC, payload.decode())
    with contextlib.suppress(WaitTimeoutError):  # what never arrived is counted below
        eventually(lambda: len(listener.arrivals) >= len(sent), "every request", 30, every=0.05)
    time.sleep(0.5)  # the last acknowledgements and the saves they cause
    cpu_after, written_after = usage(pid)
    arrived = listener.arrivals
    db = Path(broker.workdir / "data" / "mosquitto.db")
    load = Load(
        requests=len(sent),
        cpu_ms=(cpu_after - cpu_before) * 1000,
        written=written_after - written_before,
        db_bytes=db.stat().st_size if db.exists() else 0,
        latencies=[(listener.arrivals[p] - t) * 1000 for p, t in sent.items() if p in arrived],
    )
    for client in (requester, listener, bridge):
        client.close()
    return load


def publish_time_ms(broker: MosquittoBroker, count: int = 200) -> float:
    """Median time of a retained QoS 1 publish, sent one at a time."""
    writer = Client(broker, "sonos_bridge").start()
    samples = []
    for number in range(count):
        started = time.perf_counter()
        writer.wait_acked(writer.publish("sonos/bench/save", str(number), retain=True))
        samples.append((time.perf_counter() - started) * 1000)
    writer.close()
    return statistics.median(samples)


def lost_on_sigkill(workdir: Path, lines: list[str], count: int = 5) -> tuple[int, bool]:
    """Requests acknowledged for the stopped bridge, lost to a SIGKILL of the broker."""
    broker = broker_with(workdir, lines)
    try:
        bridge = Bridge(broker)
        bridge.subscribe(REQUEST_TOPIC)
        bridge.close()
        requester = Client(broker, "homeassistant").start()
        for number in range(count):
            requester.wait_acked(requester.publish(REQUEST_TOPIC, f"queued {number}"))
        requester.close()
        time.sleep(1)
        assert broker.process is not None
        broker.process.send_signal(signal.SIGKILL)
        broker.process.wait()
        broker.start()
        bridge = Bridge(broker)
        with contextlib.suppress(WaitTimeoutError):  # the messages lost are the result
            eventually(lambda: len(bridge.received) >= count, "the queued messages", 3, every=0.05)
        resumed = bridge.session_present
        bridge.close()
        return count - len(bridge.received), resumed
    finally:
        broker.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--retained", type=int, default=1000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="broker-bench-"))
    print(
        f"{args.rate:g} requests/s for {args.seconds:g} s, {args.retained} retained messages "
        "in the database; save time per retained publish, one at a time"
    )
    baseline_publish_ms = None
    for number, (label, lines) in enumerate(OPTIONS.items()):
        lost, resumed = lost_on_sigkill(workdir / f"kill-{number}", lines)
        broker = broker_with(workdir / f"load-{number}", lines)
        try:
            preload_retained(broker, args.retained)
            load = steady_load(broker, args.seconds, args.rate)
            publish_ms = publish_time_ms(broker)
        finally:
            broker.kill()
        baseline_publish_ms = baseline_publish_ms or publish_ms
        print(
            f"{label:<36} lost {lost}/5 (session {'kept' if resumed else 'LOST'})  "
            f"CPU {load.cpu_ms / load.requests:5.2f} ms/req  "
            f"written {load.written / load.requests / 1024:7.1f} KiB/req  "
            f"db {load.db_bytes / 1024:5.0f} KiB "
            f"({load.written / load.requests / max(1, load.db_bytes):4.2f} saves/req)  "
            f"latency p50 {statistics.median(load.latencies):5.1f} ms "
            f"max {max(load.latencies):6.1f} ms  "
            f"save {max(0.0, publish_ms - baseline_publish_ms):5.2f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
