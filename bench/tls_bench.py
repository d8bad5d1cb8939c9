"""What TLS on the broker costs (issue 18), against the real broker from the project's
config with its TLS listener and a certificate made by mosquitto/tls.sh.

- 20 clients connected over TLS vs 20 over the plain port, each publishing a QoS 1
  message of 200 bytes RATE times a second (about what 20 desktops' reporters and sensors
  send, many times over): the broker's CPU per second and its memory (VmRSS) with the
  clients connected, and the connect time (TCP + TLS handshake + CONNACK) per client;
- a TLS reporter's reconnect after a broker restart: from the broker listening again to
  the core connection connected and resubscribed (the goal: under 2 s, as plain), measured
  as bench/core_bench.py measures it;
- how long tls.sh takes to make the CA and the server certificate (the broker's first start).

    python bench/tls_bench.py [--clients 20] [--seconds 10] [--rate 5]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from pydantic import SecretStr

from mqtt_service.config import MqttSettings
from mqtt_service.connection import MqttConnection
from testkit.support.broker import MosquittoBroker, password_for, run_tls_script
from testkit.support.service_process import print_recovery

RESTARTS = int(os.environ.get("BENCH_RESTARTS", "5"))

TICKS = os.sysconf("SC_CLK_TCK")
PAYLOAD = "x" * 200


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def connect_client(broker: MosquittoBroker, index: int, tls: bool) -> tuple[mqtt.Client, float]:
    connected = threading.Event()
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"bench-{'tls' if tls else 'plain'}-{index}",
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.username_pw_set("homeassistant", password_for("homeassistant"))
    client.on_connect = lambda *_args: connected.set()
    began = time.perf_counter()
    if tls:
        client.tls_set(ca_certs=str(broker.tls_dir / "ca.crt"))
        client.connect("localhost", broker.tls_port, keepalive=60)
    else:
        client.connect("127.0.0.1", broker.port, keepalive=60)
    client.loop_start()
    if not connected.wait(10):
        raise RuntimeError("a bench client did not connect")
    return client, (time.perf_counter() - began) * 1000


def load(broker: MosquittoBroker, tls: bool, clients: int, seconds: float, rate: float) -> None:
    assert broker.process is not None
    pid = broker.process.pid
    before_rss = rss_kib(pid)
    made = [connect_client(broker, i, tls) for i in range(clients)]
    connected_rss = rss_kib(pid)
    cpu_before = cpu_seconds(pid)
    began = time.perf_counter()
    sent = 0
    while time.perf_counter() - began < seconds:
        for client, _ in made:
            client.publish(f"bench/{sent % clients}", PAYLOAD, qos=1)
        sent += len(made)
        time.sleep(1 / rate)
    elapsed = time.perf_counter() - began
    cpu = cpu_seconds(pid) - cpu_before
    connects = [ms for _, ms in made]
    for client, _ in made:
        client.disconnect()
        client.loop_stop()
    label = "TLS  " if tls else "plain"
    print(
        f"{label} {clients} clients, {sent / elapsed:5.0f} msg/s: broker CPU "
        f"{cpu / elapsed * 100:5.2f} % of a core, RSS {before_rss} KiB idle -> "
        f"{connected_rss} KiB connected (+{(connected_rss - before_rss) / clients:.0f} KiB "
        f"per client); connect p50 {statistics.median(connects):.1f} ms, "
        f"max {max(connects):.1f} ms"
    )


def reconnect(broker: MosquittoBroker, workdir: Path, tls: bool) -> None:
    settings = MqttSettings(
        mqtt_host="localhost" if tls else broker.host,
        mqtt_port=broker.tls_port if tls else broker.port,
        mqtt_tls=tls,
        mqtt_ca_file=broker.tls_dir / "ca.crt" if tls else None,
        mqtt_username="sonos_bridge",
        mqtt_password=SecretStr(password_for("sonos_bridge")),
        mqtt_reconnect_min_delay=1,
        state_dir=workdir / f"state-{tls}",
        ha_discovery=False,
    )
    service = MqttConnection(settings, service_name="echo", base_topic="sonos")
    service.subscribe("sonos/tts", lambda _message: None)
    service.start()
    if not service.wait_ready(10):
        raise RuntimeError("the bench service did not connect")
    print("TLS  " if tls else "plain", end=" ")
    print_recovery(broker, service, RESTARTS)
    service.stop()


def certificate_time(workdir: Path) -> None:
    began = time.perf_counter()
    run_tls_script(workdir / "first-start")
    made = time.perf_counter() - began
    began = time.perf_counter()
    run_tls_script(workdir / "first-start")
    kept = time.perf_counter() - began
    print(f"tls.sh: CA + server certificate made in {made:.2f} s; a later start: {kept:.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=float, default=5, help="messages per client per second")
    options = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    workdir = Path(tempfile.mkdtemp(prefix="tls-bench-"))
    version = subprocess.run(["mosquitto", "-h"], capture_output=True, text=True, check=False)
    print(version.stdout.splitlines()[0])
    certificate_time(workdir)
    for tls in (False, True):
        broker = MosquittoBroker(workdir / f"broker-{tls}")
        broker.start()
        try:
            load(broker, tls, options.clients, options.seconds, options.rate)
            reconnect(broker, workdir, tls)
        finally:
            broker.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
