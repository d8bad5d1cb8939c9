"""Home Assistant MQTT discovery: one `notify` entity per speaker.

HA's MQTT notify entity publishes the message text to its command topic, which is the
bridge's `<base>/tts/<speaker>`, so "notify.send_message" makes the speaker talk.
Configs are retained and re-sent when HA announces it (re)started; speakers that
disappeared get an empty config, which removes their entity.
"""

from __future__ import annotations

import logging
import threading
from importlib import metadata
from typing import Any

from mqtt_service.connection import MqttConnection
from mqtt_service.discovery import (
    availability,
    device,
    discovery_topic,
    publish_config,
    slugify,
)
from sonos_bridge.speakers import Speaker

logger = logging.getLogger(__name__)

NODE_ID = "sonos_bridge"


def _version() -> str:
    try:
        return metadata.version("mqtt-home-voice")
    except metadata.PackageNotFoundError:
        return "unknown"


def command_topic(base_topic: str, name: str) -> str:
    """`<base>/tts/<name>`; a name that cannot be a topic level uses its slug instead.

    The bridge matches slugs as well as names, so both forms reach the speaker.
    """
    level = slugify(name) if any(char in name for char in "/+#") else name
    return f"{base_topic}/tts/{level}"


def notify_config(speaker: Speaker, base_topic: str, status_topic: str) -> dict[str, Any]:
    return {
        "name": "Announce",
        "unique_id": f"{NODE_ID}_{speaker.uid}_notify",
        "command_topic": command_topic(base_topic, speaker.name),
        "availability": availability(status_topic),
        "qos": 1,
        "retain": False,
        "icon": "mdi:bullhorn",
        "device": device(
            f"{NODE_ID}_{speaker.uid}", speaker.name, "Sonos speaker via sonos_bridge", _version()
        ),
    }


class DiscoveryPublisher:
    """Keeps HA's entities in line with the known speakers."""

    def __init__(self, connection: MqttConnection, prefix: str, base_topic: str) -> None:
        self._connection = connection
        self._prefix = prefix
        self._base_topic = base_topic
        self._published: dict[str, str] = {}  # topic -> speaker uid
        self._lock = threading.Lock()

    def topic_for(self, speaker: Speaker) -> str:
        return discovery_topic(self._prefix, "notify", NODE_ID, speaker.name)

    def publish(self, speakers: list[Speaker]) -> None:
        status = self._connection.availability_topic
        with self._lock:
            current: dict[str, str] = {}
            for speaker in speakers:
                topic = self.topic_for(speaker)
                publish_config(
                    self._connection, topic, notify_config(speaker, self._base_topic, status)
                )
                current[topic] = speaker.uid
            for topic in set(self._published) - set(current):
                logger.info("Removing the Home Assistant entity at %s", topic)
                publish_config(self._connection, topic, None)
            self._published = current
        logger.info("Published Home Assistant discovery for %d speakers", len(speakers))
