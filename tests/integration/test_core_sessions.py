"""The MQTT core against a real Mosquitto: sessions, restarts, identity, availability."""

from __future__ import annotations

import re
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from testkit.support.broker import MosquittoBroker
from testkit.support.probe import Probe
from testkit.support.service_process import ServiceProcess, core_connection
from tests.integration.conftest import ServiceFactory

CONNECTED = r"Ready: "


def client_id_of(service: ServiceProcess) -> str:
    line = service.wait_for_log(r"Connecting to .*client ID \S+,")
    match = re.search(r"client ID (\S+),", line)
    assert match, line
    return match.group(1)


def publish_numbered(probe: Probe, count: int, prefix: str) -> list[bytes]:
    payloads = [f"{prefix}-{n}".encode() for n in range(count)]
    for payload in payloads:
        probe.publish("sonos/tts/kitchen", payload, qos=1)
    return payloads


def test_broker_restart_loses_no_qos1_message(
    broker: MosquittoBroker, probe_factory: Callable[..., Probe], service_factory: ServiceFactory
) -> None:
    service = service_factory().start()
    service.wait_for_log(CONNECTED)
    broker.restart()
    # Published while the service is still waiting out its reconnect backoff:
    # the broker must queue them for the persistent session.
    sender = probe_factory()
    sender.subscribe("sonos/result")
    sent = publish_numbered(sender, 20, "during-outage")
    service.wait_for_log(r"Connected to .*\(session resumed\)")
    service.wait_for_log(CONNECTED, count=2)
    received = sender.wait_for("sonos/result", count=len(sent))
    assert [m.payload for m in received] == sent
    # The subscription still delivers after the restart, too.
    after = publish_numbered(sender, 5, "after")
    received = sender.wait_for("sonos/result", count=len(sent) + len(after))
    assert [m.payload for m in received] == sent + after


@pytest.mark.parametrize("protocol", ["5", "311"])
def test_service_restart_resumes_its_session(
    probe: Probe, service_factory: ServiceFactory, tmp_path: Path, protocol: str
) -> None:
    first = service_factory(MQTT_PROTOCOL=protocol).start()
    first.wait_for_log(CONNECTED)
    first_id = client_id_of(first)
    assert first.stop() == 0

    probe.subscribe("sonos/result")
    sent = publish_numbered(probe, 25, "while-down")

    second = service_factory(MQTT_PROTOCOL=protocol).start()
    assert client_id_of(second) == first_id
    second.wait_for_log(r"Connected to .*\(session resumed\)")
    received = probe.wait_for("sonos/result", count=len(sent))
    assert [m.payload for m in received] == sent


def test_two_default_instances_never_share_a_client_id(
    broker: MosquittoBroker, probe: Probe, service_factory: ServiceFactory
) -> None:
    # Same settings, same state directory: the worst case for identity.
    first = service_factory().start()
    second = service_factory().start()
    first.wait_for_log(CONNECTED)
    second.wait_for_log(CONNECTED)
    assert client_id_of(first) != client_id_of(second)
    probe.subscribe("sonos/result")
    probe.publish("sonos/tts/kitchen", b"both hear this")
    probe.wait_for("sonos/result", count=2)
    log = broker.log()
    assert "already connected" not in log
    assert "taken over" not in first.log() + second.log()


def test_sigkill_leaves_the_retained_last_will(
    broker: MosquittoBroker, probe_factory: Callable[..., Probe], service_factory: ServiceFactory
) -> None:
    service = service_factory(MQTT_KEEPALIVE="5").start()
    service.wait_for_log(CONNECTED)
    watcher = probe_factory()
    watcher.subscribe("sonos/status")
    watcher.wait_for("sonos/status", payload=b"online")
    service.kill()
    watcher.wait_for("sonos/status", payload=b"offline")
    # A client arriving later still learns the service is gone: the will is retained.
    late = probe_factory()
    late.subscribe("sonos/status")
    assert late.wait_for("sonos/status")[0].payload == b"offline"
    assert late.wait_for("sonos/status")[0].retain


def test_sigterm_publishes_offline_and_exits_zero(
    probe: Probe, service_factory: ServiceFactory
) -> None:
    service = service_factory().start()
    service.wait_for_log(CONNECTED)
    probe.subscribe("sonos/status")
    probe.wait_for("sonos/status", payload=b"online")
    service.signal(signal.SIGTERM)
    assert service.wait() == 0
    offline = probe.wait_for("sonos/status", payload=b"offline")
    assert offline
    assert "Stopped cleanly" in service.log()


def test_home_assistant_birth_triggers_rediscovery(
    probe: Probe, service_factory: ServiceFactory
) -> None:
    service = service_factory().start()
    service.wait_for_log(CONNECTED)
    probe.subscribe("sonos/speakers")
    probe.publish("homeassistant/status", b"online")
    probe.wait_for("sonos/speakers", payload=b"rediscovered")


def test_wrong_password_is_reported_in_words(service_factory: ServiceFactory) -> None:
    service = service_factory(MQTT_PASSWORD="not-the-password").start()
    line = service.wait_for_log(r"Broker refused the connection")
    assert "Not authorized" in line or "Bad user name or password" in line
    assert "MQTT_PASSWORD" in line
    assert "rc=" not in service.log()


@pytest.mark.parametrize(
    ("variable", "value"),
    [("MQTT_PORT", "eighteen"), ("MQTT_PROTOCOL", "4"), ("MQTT_KEEPALIVE", "-1")],
)
def test_bad_configuration_stops_with_one_clear_line(
    service_factory: ServiceFactory, variable: str, value: str
) -> None:
    service = service_factory(**{variable: value}).start()
    assert service.wait() == 2
    lines = [line for line in service.log().splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert variable in lines[0]
    assert "Traceback" not in lines[0]


def test_acl_refusal_is_reported_by_the_core(broker: MosquittoBroker, tmp_path: Path) -> None:
    connection = core_connection(broker, tmp_path)
    connection.start()
    try:
        assert connection.wait_ready(10)
        forbidden = connection.publish("idle/desk/state", "idle")
        allowed = connection.publish("sonos/result", "ok")
        assert forbidden.wait(10) and allowed.wait(10)
        assert not forbidden.accepted
        assert allowed.accepted
    finally:
        connection.stop()
