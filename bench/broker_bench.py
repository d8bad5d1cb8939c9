"""What the broker design costs on disk and CPU, and what it loses to a SIGKILL (issue 20).

Two designs, against real brokers started from the project's own config files:

- old: one broker that saves after every change (`autosave_on_changes true`,
  `autosave_interval 1`): the household's clients and the stack's services share it;
- new: the household broker (mosquitto.conf: saves every 30 min and on a clean stop),
  bridged to the stack's queue broker (queue.conf: saves after every change), where the
  services connect (mosquitto/config/queue-bridge.conf);
- (and, to show why the queue broker is there, the household broker alone.)

For each it prints:

- shared load, the issue's two rows: other clients' retained updates (no announcements)
  on a database of 500 small device states at 20 updates/s, and of 1,500 discovery
  configs at 2 updates/s: bytes written per update by all the brokers (measured, then
  with the household broker's periodic save spread over the updates of its interval),
  broker CPU per update;
- lost: of 5 QoS 1 requests the broker acknowledged for the stopped Sonos bridge, how
  many are gone when the broker that received them is SIGKILLed 1 s later (new design:
  the household broker, the queue broker, both); the same for 5 idle-reporter commands;
- requests: a steady stream answered by a bridge (manual ack after its answer is
  acknowledged) and read by Home Assistant, with the 1,500 configs in the database:
  bytes written and broker CPU per request, request -> answer latency;
- hand-over (new design): how long after the household broker acknowledged a request the
  queue broker had it, the window in which a SIGKILL of the household broker loses it;
- idle: Docker's health check every 3 s for 30 s, old (a login) and new (the listening
  socket), as bytes written and log lines per hour.

    python bench/broker_bench.py [--seconds 10] [--rate 10]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from testkit.support.broker import BrokerPair, MosquittoBroker, password_for
from testkit.support.probe import wait_bridged as bridges_up

REQUEST_TOPIC = "sonos/tts/bench"
RESULT_TOPIC = "sonos/result"
COMMAND_TOPIC = "idle/bench-desk/command"
FOREIGN = "reply/household"  # what Home Assistant's user may write: stands for any device
TICKS = os.sysconf("SC_CLK_TCK")
OLD_SAVES = ["autosave_on_changes true", "autosave_interval 1"]
HOUSEHOLD_INTERVAL_S = 1800
ROWS = {  # label: (retained messages, payload bytes, updates/s)
    "500 device states, 20 updates/s": (500, 120, 20.0),
    "1,500 discovery configs, 2 updates/s": (1500, 500, 2.0),
}
OLD_HEALTHCHECK = (
    "mosquitto_sub -h 127.0.0.1 -p {port} -u healthcheck -P {password} "
    "-t '$SYS/broker/uptime' -C 1 -W 3 >/dev/null"
)
NEW_HEALTHCHECK = "grep -qsE ':{port:04X} [0-9A-F]+:0000 0A ' /proc/net/tcp /proc/net/tcp6"


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
        self.acked_at: dict[int, float] = {}
        self._condition = threading.Condition()
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def _on_message(self, _c: mqtt.Client, _u: Any, _message: mqtt.MQTTMessage) -> None:
        """Subclasses record what arrives."""

    def start(self) -> Self:
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
            self.acked_at[mid] = time.perf_counter()
            self._condition.notify_all()

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, mid: int, _rc: Any, _p: Any) -> None:
        self._on_publish(_c, _u, mid, _rc, _p)

    def wait_acked(self, mid: int) -> None:
        with self._condition:
            if not self._condition.wait_for(lambda: mid in self.acked_at, 30):
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


class Recorder(Client):
    """Records when each payload arrived."""

    def __init__(self, broker: MosquittoBroker, user: str, client_id: str = "") -> None:
        super().__init__(broker, user, client_id)
        self.arrivals: dict[bytes, float] = {}

    def _on_message(self, client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        self.arrivals[message.payload] = time.perf_counter()
        if self.clean is False:
            client.ack(message.mid, 1)


class Bridge(Client):
    """Answers each request on sonos/result; acknowledges it once the answer is acked."""

    def __init__(self, broker: MosquittoBroker) -> None:
        super().__init__(broker, "sonos_bridge", client_id="bench-bridge")
        self._request_of: dict[int, int] = {}
        self.start()

    def _on_message(self, client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        result_mid = client.publish(RESULT_TOPIC, message.payload, qos=1).mid
        self._request_of[result_mid] = message.mid

    def _on_publish(self, client: mqtt.Client, _u: Any, mid: int, rc: Any, p: Any) -> None:
        request_mid = self._request_of.pop(mid, None)
        if request_mid is not None:
            client.ack(request_mid, 1)
        super()._on_publish(client, _u, mid, rc, p)


# ---------------------------------------------------------------- the designs
@dataclass
class Design:
    """Where Home Assistant and other clients publish, where the services connect."""

    household: MosquittoBroker
    queue: MosquittoBroker
    brokers: list[MosquittoBroker]

    def usage(self) -> tuple[float, int]:
        """CPU seconds and bytes written to storage so far, all brokers together."""
        totals = [process_usage(broker) for broker in self.brokers]
        return sum(cpu for cpu, _ in totals), sum(written for _, written in totals)

    def kill(self) -> None:
        for broker in self.brokers:
            broker.kill()

    def settle(self) -> None:
        """Until the brokers write nothing for half a second: the saves of the bridges'
        sessions and subscriptions after a start are not part of what is measured."""
        deadline = time.monotonic() + 10
        _, written = self.usage()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            _, now = self.usage()
            if now == written:
                return
            written = now


def with_saves(broker: MosquittoBroker, lines: list[str]) -> MosquittoBroker:
    """The broker with its autosave lines replaced (from its next start)."""
    text = re.sub(r"^autosave_\w+\s+.*\n", "", broker.conf.read_text(), flags=re.MULTILINE)
    broker.conf.write_text(text + "\n".join(lines) + "\n")
    return broker


def quiet(*brokers: MosquittoBroker) -> None:
    """No log file: in Docker the log goes to stdout, so its writes are not the broker's."""
    for broker in brokers:
        text = re.sub(r"^log_dest\s+.*$", "log_dest none", broker.conf.read_text(), flags=re.M)
        broker.conf.write_text(text)


def old_design(workdir: Path) -> Design:
    broker = with_saves(MosquittoBroker(workdir / "old"), OLD_SAVES)
    quiet(broker)
    return Design(broker, broker, [broker])


def new_design(workdir: Path) -> Design:
    pair = BrokerPair(workdir / "new")
    quiet(pair.household, pair.queue)
    return Design(pair.household, pair.queue, [pair.household, pair.queue])


def household_alone(workdir: Path) -> Design:
    broker = MosquittoBroker(workdir / "alone")
    quiet(broker)
    return Design(broker, broker, [broker])


DESIGNS: dict[str, Callable[[Path], Design]] = {
    "old: one broker, saves every change": old_design,
    "new: household + queue broker": new_design,
}


@contextmanager
def running(design: Design) -> Iterator[Design]:
    for broker in reversed(design.brokers):  # the queue broker first
        broker.start()
    try:
        wait_bridged(design)
        yield design
    finally:
        design.kill()


def wait_bridged(design: Design) -> None:
    """Until the household broker's bridges are up (no bridge: at once)."""
    if design.household is not design.queue:
        bridges_up(design.household)


def process_usage(broker: MosquittoBroker) -> tuple[float, int]:
    assert broker.process is not None
    pid = broker.process.pid
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICKS
    io = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    return cpu, int(io["write_bytes"])


# ---------------------------------------------------------------- shared load
def preload(design: Design, count: int, size: int) -> None:
    """`count` retained messages from another client, written once (not one save each)."""
    household = design.household
    lines = household.conf.read_text()
    with_saves(household, [f"autosave_interval {HOUSEHOLD_INTERVAL_S}"])
    household.start()
    writer = Client(household, "homeassistant").start()
    mids = [writer.publish(f"{FOREIGN}/{n}", "x" * size, retain=True) for n in range(count)]
    for mid in mids:
        writer.wait_acked(mid)
    writer.close()
    household.stop()  # a clean stop saves the database
    household.conf.write_text(lines)


@dataclass(frozen=True, slots=True)
class Cost:
    count: int
    written: int
    cpu_s: float
    db_bytes: int

    def per_item(self) -> str:
        return (
            f"written {self.written / self.count / 1024:7.1f} KiB  "
            f"CPU {self.cpu_s * 1000 / self.count:5.2f} ms"
        )


def database_size(broker: MosquittoBroker) -> int:
    db = broker.workdir / "data" / "mosquitto.db"
    return db.stat().st_size if db.exists() else 0


def foreign_updates(design: Design, seconds: float, rate: float, size: int, count: int) -> Cost:
    writer = Client(design.household, "homeassistant").start()
    design.settle()
    cpu_before, written_before = design.usage()
    started = time.perf_counter()
    mids = []
    for number in range(round(seconds * rate)):
        time.sleep(max(0.0, started + number / rate - time.perf_counter()))
        topic = f"{FOREIGN}/{number % count}"
        mids.append(writer.publish(topic, str(number).ljust(size, "y"), retain=True))
    for mid in mids:
        writer.wait_acked(mid)
    writer.wait_acked(writer.publish(f"{FOREIGN}/barrier", ""))  # saves of the last one done
    cpu_after, written_after = design.usage()
    writer.close()
    return Cost(len(mids), written_after - written_before, cpu_after - cpu_before, 0)


def periodic_save_bytes(design: Design) -> int:
    """What one periodic save of the household broker writes (SIGUSR1 saves at once)."""
    household = design.household
    _, before = process_usage(household)
    assert household.process is not None
    household.process.send_signal(signal.SIGUSR1)
    probe = Client(household, "homeassistant").start()
    probe.wait_acked(probe.publish(f"{FOREIGN}/barrier", ""))
    probe.close()
    _, after = process_usage(household)
    return after - before


def shared_load(workdir: Path, label: str, make: Callable[[Path], Design], seconds: float) -> None:
    for row, (count, size, rate) in ROWS.items():
        design = make(workdir / f"shared-{label[:3]}-{count}")
        preload(design, count, size)
        with running(design):
            cost = foreign_updates(design, seconds, rate, size, count)
            line = f"  {row:<38} {cost.per_item()} per update"
            if make is not old_design:
                save = periodic_save_bytes(design)
                amortized = save / (HOUSEHOLD_INTERVAL_S * rate)
                per_day = cost.written / seconds * 86400 + save * 86400 / HOUSEHOLD_INTERVAL_S
                line += (
                    f"; + one save of {save / 1024:.0f} KiB every {HOUSEHOLD_INTERVAL_S} s"
                    f" = {(cost.written / cost.count + amortized) / 1024:.2f} KiB per update, "
                    f"{per_day / 1e6:,.0f} MB/day"
                )
            else:
                line += f", {cost.written / seconds * 86400 / 1e9:,.1f} GB/day"
            print(line, flush=True)


# ---------------------------------------------------------------- loss on SIGKILL
def lost_on_sigkill(
    workdir: Path, make: Callable[[Path], Design], victims: str, topic: str, user: str
) -> int:
    """Of 5 requests acknowledged for a stopped subscriber, lost to a SIGKILL 1 s later."""
    design = make(workdir)
    with running(design):
        subscriber = Recorder(design.queue, user, client_id="bench-subscriber").start()
        subscriber.subscribe(topic)
        subscriber.close()
        requester = Client(design.household, "homeassistant").start()
        sent = [f"queued {n}" for n in range(5)]
        for payload in sent:
            requester.wait_acked(requester.publish(topic, payload))
        requester.close()
        time.sleep(1)
        killed = {"household": [design.household], "queue": [design.queue]}.get(
            victims, design.brokers
        )
        for broker in killed:
            broker.kill()
        for broker in reversed(killed):
            broker.start()
        subscriber = Recorder(design.queue, user, client_id="bench-subscriber").start()
        deadline = time.monotonic() + 3
        while len(subscriber.arrivals) < len(sent) and time.monotonic() < deadline:
            time.sleep(0.05)
        subscriber.close()
        return len(sent) - len({p.decode() for p in subscriber.arrivals} & set(sent))


def losses(workdir: Path, label: str, make: Callable[[Path], Design]) -> str:
    victims = ["broker"] if make is not new_design else ["household", "queue", "both"]
    parts = []
    for number, victim in enumerate(victims):
        sonos = lost_on_sigkill(
            workdir / f"kill-{label[:3]}-{number}", make, victim, REQUEST_TOPIC, "sonos_bridge"
        )
        idle = lost_on_sigkill(
            workdir / f"kill-{label[:3]}-{number}i", make, victim, COMMAND_TOPIC, "idle_reporter"
        )
        parts.append(f"{victim} killed: {sonos}/5 requests, {idle}/5 commands")
    return "; ".join(parts)


# ---------------------------------------------------------------- requests
@dataclass
class Requests:
    cost: Cost
    latencies: list[float] = field(default_factory=list)


def steady_requests(design: Design, seconds: float, rate: float) -> Requests:
    bridge = Bridge(design.queue)
    bridge.subscribe(REQUEST_TOPIC)
    listener = Recorder(design.household, "homeassistant").start()
    listener.subscribe(RESULT_TOPIC)
    requester = Client(design.household, "homeassistant").start()
    design.settle()
    cpu_before, written_before = design.usage()
    sent: dict[bytes, float] = {}
    started = time.perf_counter()
    for number in range(round(seconds * rate)):
        time.sleep(max(0.0, started + number / rate - time.perf_counter()))
        payload = f"request {number}"
        sent[payload.encode()] = time.perf_counter()
        requester.publish(REQUEST_TOPIC, payload)
    deadline = time.monotonic() + 30
    while len(listener.arrivals) < len(sent) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the last acknowledgements and the saves they cause
    cpu_after, written_after = design.usage()
    arrived = listener.arrivals
    result = Requests(
        Cost(len(sent), written_after - written_before, cpu_after - cpu_before, 0),
        [(arrived[p] - t) * 1000 for p, t in sent.items() if p in arrived],
    )
    for client in (requester, listener, bridge):
        client.close()
    return result


def requests_line(workdir: Path, label: str, make: Callable[[Path], Design], args: Any) -> str:
    count, size, _ = ROWS["1,500 discovery configs, 2 updates/s"]
    design = make(workdir / f"requests-{label[:3]}")
    preload(design, count, size)
    with running(design):
        measured = steady_requests(design, args.seconds, args.rate)
    latencies = measured.latencies or [float("nan")]
    return (
        f"{measured.cost.per_item()} per request; request -> answer p50 "
        f"{statistics.median(latencies):.1f} ms, max {max(latencies):.1f} ms "
        f"({len(measured.latencies)}/{measured.cost.count} answered)"
    )


# ---------------------------------------------------------------- hand-over window
def hand_over_window(workdir: Path, count: int = 200) -> str:
    """ms from the household broker's PUBACK (as the publisher receives it) to the queue
    broker sending the request on: negative when the queue broker had it first."""
    design = new_design(workdir / "window")
    with running(design):
        watcher = Recorder(design.queue, "homeassistant").start()
        watcher.subscribe(REQUEST_TOPIC)
        publisher = Client(design.household, "homeassistant").start()
        gaps = []
        for number in range(count):
            mid = publisher.publish(REQUEST_TOPIC, f"window {number}")
            publisher.wait_acked(mid)
            deadline = time.monotonic() + 5
            while f"window {number}".encode() not in watcher.arrivals:
                if time.monotonic() > deadline:
                    raise RuntimeError("the request never reached the queue broker")
                time.sleep(0.0005)
            arrived = watcher.arrivals[f"window {number}".encode()]
            gaps.append(arrived - publisher.acked_at[mid])
        publisher.close()
        watcher.close()
    gaps_ms = sorted(gap * 1000 for gap in gaps)
    return (
        f"queue broker had the request {statistics.median(gaps_ms):+.2f} ms after the "
        f"household broker's PUBACK (p50), {gaps_ms[int(len(gaps_ms) * 0.99)]:+.2f} ms (p99),"
        f" {gaps_ms[-1]:+.2f} ms (max), {count} requests"
    )


# ---------------------------------------------------------------- idle health checks
def health_checks(workdir: Path, seconds: float = 30.0, interval: float = 3.0) -> None:
    for label, lines, command in (
        ("old (login, saves every change)", OLD_SAVES, OLD_HEALTHCHECK),
        ("new (listening socket)", [f"autosave_interval {HOUSEHOLD_INTERVAL_S}"], NEW_HEALTHCHECK),
    ):
        broker = with_saves(MosquittoBroker(workdir / f"idle-{label[:3]}"), lines)
        broker.start()
        try:
            stack = Client(broker, "sonos_bridge").start()  # the stack's own retained state
            for number in range(20):
                stack.wait_acked(stack.publish(f"sonos/bench/{number}", "x" * 500, retain=True))
            stack.close()
            time.sleep(1)
            log_before = broker.log()
            _, written_before = process_usage(broker)
            checks = 0
            started = time.monotonic()
            while time.monotonic() - started < seconds:
                subprocess.run(
                    command.format(port=broker.port, password=password_for("healthcheck")),
                    shell=True,
                    check=True,
                )
                checks += 1
                time.sleep(interval)
            _, written_after = process_usage(broker)
            per_hour = 3600 / (time.monotonic() - started)
            log = broker.log()
            logged = log[len(log_before) :]
            saved = written_after - written_before - len(logged.encode())
            print(
                f"  {label:<34} {checks} checks: database {saved * per_hour / 1e6:6.2f} MB/h "
                f"written, {len(logged.splitlines()) * per_hour:6.0f} log lines/h",
                flush=True,
            )
        finally:
            broker.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=10.0, help="requests/s")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="broker-bench-"))
    designs = {**DESIGNS, "household broker alone (no queue broker)": household_alone}
    for label, make in designs.items():
        print(f"{label}", flush=True)
        print("  shared load, other clients' retained updates:", flush=True)
        shared_load(workdir, label, make, args.seconds)
        print(f"  lost to a SIGKILL 1 s after the ack: {losses(workdir, label, make)}")
        if make is not household_alone:
            print(
                f"  {args.rate:g} requests/s for {args.seconds:g} s, 1,500 configs in the "
                f"database: {requests_line(workdir, label, make, args)}",
                flush=True,
            )
    print(f"hand-over (new design): {hand_over_window(workdir)}", flush=True)
    print("idle, Docker's health check every 3 s:", flush=True)
    health_checks(workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
