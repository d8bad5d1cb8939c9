"""The smallest real service on the MQTT core, for testing the core itself.

It runs as the `sonos_bridge` broker user (so the project's ACL applies unchanged):
every message on `sonos/tts/#` is echoed to `sonos/result` with QoS 1, and Home
Assistant's birth message makes it publish `sonos/speakers`, as discovery would.
"""

from __future__ import annotations

import logging
import sys

import paho.mqtt.client as mqtt

from mqtt_service.bootstrap import fail_start, load_settings_or_exit
from mqtt_service.config import MqttSettings
from mqtt_service.connection import MqttConnection
from mqtt_service.errors import StateDirError
from mqtt_service.runner import ServiceRunner

logger = logging.getLogger(__name__)


def main() -> int:
    settings = load_settings_or_exit("echo-service", MqttSettings)
    try:
        connection = MqttConnection(settings, service_name="echo", base_topic="sonos")
    except StateDirError as exc:
        fail_start("echo-service", exc)

    def echo(message: mqtt.MQTTMessage) -> None:
        logger.info("echo %s", message.payload.decode(errors="replace"))
        connection.publish("sonos/result", message.payload)

    connection.subscribe("sonos/tts/#", echo)
    connection.on_home_assistant_online(
        lambda: connection.publish("sonos/speakers", "rediscovered", retain=False)
    )
    return ServiceRunner(connection).run()


if __name__ == "__main__":
    sys.exit(main())
