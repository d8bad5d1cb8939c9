"""The project's mosquitto.conf and ACL, exercised on a real broker."""

from __future__ import annotations

from pathlib import Path

import pytest

from testkit.support.broker import BrokerError, MosquittoBroker
from testkit.support.probe import Probe


def test_project_config_starts_a_broker_that_logs_iso_timestamps(
    broker: MosquittoBroker, probe: Probe
) -> None:
    probe.subscribe("sonos/#")
    log = broker.log()
    assert "running" in log
    # log_timestamp_format %Y-%m-%dT%H:%M:%S gives sortable, readable lines
    first_line = log.splitlines()[0]
    assert first_line[4] == "-" and first_line[10] == "T", first_line


def test_a_broken_option_fails_the_broker(tmp_path: Path) -> None:
    instance = MosquittoBroker(tmp_path)
    instance.conf.write_text(instance.conf.read_text() + "\nkeepalive_interval 60\n")
    with pytest.raises(BrokerError):
        instance.start()


def test_anonymous_clients_are_refused(broker: MosquittoBroker) -> None:
    anonymous = Probe(broker, user=None)
    try:
        assert anonymous.connect_result().is_failure
        assert "Not authorized" in str(anonymous.connect_result())
    finally:
        anonymous.close()


def test_wrong_password_is_refused(broker: MosquittoBroker) -> None:
    intruder = Probe(broker, "homeassistant", password="wrong")
    try:
        assert intruder.connect_result().is_failure
    finally:
        intruder.close()


def test_acl_keeps_each_service_in_its_own_topics(
    broker: MosquittoBroker, probe_factory: object
) -> None:
    listener: Probe = probe_factory()  # type: ignore[operator]
    listener.subscribe("#")
    bridge: Probe = probe_factory("sonos_bridge")  # type: ignore[operator]
    bridge.publish("idle/desk/state", "idle")  # another service's topic: must be dropped
    bridge.publish("homeassistant/binary_sensor/idle_reporter/x/config", "{}")
    bridge.publish("sonos/result", "sentinel")  # its own topic, sent after the forbidden ones
    listener.wait_for("sonos/result", payload=b"sentinel")
    topics = {m.topic for m in listener.messages}
    assert "idle/desk/state" not in topics
    assert "homeassistant/binary_sensor/idle_reporter/x/config" not in topics


def test_home_assistant_may_clear_the_services_discovery_configs_and_nothing_more(
    broker: MosquittoBroker, probe_factory: object
) -> None:
    """Deleting an entity in Home Assistant publishes an empty retained config."""
    configs = {
        "sonos_bridge": "homeassistant/notify/sonos_bridge/rincon_1/config",
        "idle_reporter": "homeassistant/binary_sensor/idle_reporter/desk_occupancy/config",
    }
    for user, topic in configs.items():
        service: Probe = probe_factory(user)  # type: ignore[operator]
        service.publish(topic, "{}", retain=True)
    home_assistant: Probe = probe_factory()  # type: ignore[operator]
    for topic in configs.values():
        home_assistant.publish(topic, "", retain=True)
    home_assistant.publish("homeassistant/notify/other/x/config", "{}", retain=True)
    home_assistant.publish("sonos/result", "forged", retain=True)
    late: Probe = probe_factory()  # type: ignore[operator]
    late.subscribe("#")
    late.publish("homeassistant/status", "online")  # arrives after every retained message
    late.wait_for("homeassistant/status")
    assert {m.topic for m in late.messages if m.retain} == set()
