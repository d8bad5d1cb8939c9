"""The smallest real service on the MQTT core, for testing the core itself.

It runs as the `sonos_bridge` broker user (so the project's ACL applies unchanged):
every message on `sonos/tts/#` is echoed to `sonos/result` with QoS 1 and acknowledged
once the broker has the echo, as a service answers a request. A message starting with
`hold` is answered only after the process receives SIGUSR1, so a test can keep a message
unanswered for as long as it needs. Home Assistant's birth message makes it publish
`sonos/speakers`, as discovery would.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading

import paho.mqtt.client as mqtt

from mqtt_service.acks import Receipt
from mqtt_service.bootstrap import fail_start, load_settings_or_exit
from mqtt_service.config import MqttSettings
from mqtt_service.connection import MqttConnection
from mqtt_service.delivery import when_all_delivered
from mqtt_service.errors import StateDirError
from mqtt_service.runner import ServiceRunner

logger = logging.getLogger(__name__)


def main() -> int:
    settings = load_settings_or_exit("echo-service", MqttSettings)
    try:
        connection = MqttConnection(settings, service_name="echo", base_topic="sonos")
    except StateDirError as exc:
        fail_start("echo-service", exc)
    release = threading.Event()
    signal.signal(signal.SIGUSR1, lambda _signum, _frame: release.set())

    def answer(message: mqtt.MQTTMessage, receipt: Receipt) -> None:
        ticket = connection.publish("sonos/result", message.payload)
        when_all_delivered([ticket], receipt.settle)

    def answer_when_released(message: mqtt.MQTTMessage, receipt: Receipt) -> None:
        release.wait()
        answer(message, receipt)

    def echo(message: mqtt.MQTTMessage, receipt: Receipt) -> None:
        logger.info("echo %s", message.payload.decode(errors="replace"))
        if message.payload.startswith(b"hold"):
            threading.Thread(
                target=answer_when_released, args=(message, receipt), daemon=True
            ).start()
        else:
            answer(message, receipt)

    connection.subscribe_deferred("sonos/tts/#", echo)
    connection.on_home_assistant_online(
        lambda: connection.publish("sonos/speakers", "rediscovered", retain=False)
    )
    return ServiceRunner(connection).run()


if __name__ == "__main__":
    sys.exit(main())
