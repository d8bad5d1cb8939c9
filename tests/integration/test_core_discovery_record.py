"""What discovery published is kept in STATE_DIR until the broker has the removal.

The services' own tests cover the user-visible cases (a speaker unplugged, a host renamed
while the service was down); these cover the record itself on a real broker.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from mqtt_service.connection import MqttConnection
from mqtt_service.discovery import EntityConfig, entity_base
from mqtt_service.discovery_publisher import DiscoveryPublisher, record_path
from testkit.support.broker import MosquittoBroker
from testkit.support.probe import Probe
from testkit.support.service_process import core_connection

KITCHEN = "homeassistant/notify/sonos_bridge/rincon_1/config"
OFFICE = "homeassistant/notify/sonos_bridge/rincon_2/config"


def config(name: str) -> EntityConfig:
    return entity_base(
        "sonos_bridge",
        name=name,
        unique_id=name,
        status_topic="sonos/status",
        device_info={"identifiers": [name], "name": name, "manufacturer": "m", "model": "m"},
    )


def recorded(connection: MqttConnection) -> list[str]:
    topics = json.loads(record_path(connection).read_text())["topics"]
    assert isinstance(topics, list)
    return topics


def connected(broker: MosquittoBroker, state_dir: Path) -> MqttConnection:
    connection = core_connection(broker, state_dir)
    connection.start()
    assert connection.wait_connected(10)
    return connection


def test_a_removal_stays_recorded_until_the_broker_has_it(
    broker: MosquittoBroker, probe_factory: Callable[..., Probe], tmp_path: Path
) -> None:
    first = connected(broker, tmp_path)
    DiscoveryPublisher(first).publish({KITCHEN: config("k"), OFFICE: config("o")})
    first.stop()  # waits for `offline` to be acknowledged, so both configs are stored
    broker.stop()
    # Office is gone; the broker is down, so its removal waits in the client's queue.
    second = core_connection(broker, tmp_path)
    publisher = DiscoveryPublisher(second)
    publisher.publish({KITCHEN: config("k")})
    assert recorded(second) == [KITCHEN, OFFICE]  # a crash now is repaired at next start
    broker.start()
    watcher = probe_factory()
    watcher.subscribe(OFFICE)
    second.start()
    watcher.wait_for(OFFICE, payload=b"", timeout=20)
    # A clean stop waits for the ack of `offline`, so the earlier removal's ack is in too.
    second.stop()
    publisher.publish({KITCHEN: config("k")})
    assert recorded(second) == [KITCHEN]
    assert not list(tmp_path.glob(".*.tmp"))  # written by rename, nothing left over


def test_an_unreadable_record_is_ignored(broker: MosquittoBroker, tmp_path: Path) -> None:
    connection = connected(broker, tmp_path)
    try:
        record_path(connection).write_text("{not json")
        publisher = DiscoveryPublisher(connection)
        publisher.publish({KITCHEN: config("k")})
        assert recorded(connection) == [KITCHEN]
    finally:
        connection.stop()
