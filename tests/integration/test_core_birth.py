"""Home Assistant's birth message, heard on a real broker.

Home Assistant announces a restart on `homeassistant/status` whatever its discovery
prefix: the services must listen there even with a custom HA_DISCOVERY_PREFIX, and a
user whose Home Assistant uses another birth topic sets HA_BIRTH_TOPIC.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from mqtt_service.config import MqttSettings
from mqtt_service.connection import MqttConnection
from testkit.support.broker import MosquittoBroker, password_for
from testkit.support.probe import Probe


@pytest.fixture
def births(broker: MosquittoBroker, tmp_path: Path) -> Iterator[Any]:
    """Start a connection with some settings; returns an event set on each birth."""
    connections: list[MqttConnection] = []

    def start(user: str = "sonos_bridge", **settings: Any) -> threading.Event:
        heard = threading.Event()
        connection = MqttConnection(
            MqttSettings(
                mqtt_host=broker.host,
                mqtt_port=broker.port,
                mqtt_username=user,
                mqtt_password=SecretStr(password_for(user)),
                state_dir=tmp_path / "state",
                **settings,
            ),
            service_name="birth",
            base_topic="sonos" if user == "sonos_bridge" else "reply/birth",
        )
        connection.on_home_assistant_online(heard.set)
        connections.append(connection)
        connection.start()
        assert connection.wait_ready(10), connection.last_connect_error
        return heard

    yield start
    for connection in connections:
        connection.stop()


def test_birth_is_heard_with_a_custom_discovery_prefix(births: Any, probe: Probe) -> None:
    heard = births(ha_discovery_prefix="custom")
    probe.publish("homeassistant/status", "online")
    assert heard.wait(10)


def test_birth_topic_has_its_own_setting(births: Any, probe: Probe) -> None:
    # Under reply/, which the `homeassistant` user may read and write; the services' ACL
    # grants them the default birth topic only.
    heard = births(user="homeassistant", ha_birth_topic="reply/hass/status")
    probe.publish("reply/hass/status", "online")
    assert heard.wait(10)
