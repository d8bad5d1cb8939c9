"""Home Assistant MQTT discovery helpers shared by the services.

Discovery topics are `<prefix>/<component>/<node_id>/<object_id>/config` with the
service name as node_id, so the broker's ACL can grant each service its own subtree.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mqtt_service.connection import MqttConnection
from mqtt_service.delivery import DeliveryTicket

_NOT_SLUG = re.compile(r"[^a-z0-9_]+")


def slugify(text: str) -> str:
    """A Home Assistant-safe object ID: lower case letters, digits and underscores."""
    slug = _NOT_SLUG.sub("_", text.strip().lower()).strip("_")
    return slug or "unnamed"


def discovery_topic(prefix: str, component: str, node_id: str, object_id: str) -> str:
    return f"{prefix}/{component}/{slugify(node_id)}/{slugify(object_id)}/config"


def availability(topic: str) -> list[dict[str, str]]:
    return [{"topic": topic, "payload_available": "online", "payload_not_available": "offline"}]


def device(identifier: str, name: str, model: str, sw_version: str) -> dict[str, Any]:
    return {
        "identifiers": [identifier],
        "name": name,
        "manufacturer": "mqtt-home-voice",
        "model": model,
        "sw_version": sw_version,
    }


def publish_config(
    connection: MqttConnection, topic: str, config: dict[str, Any] | None
) -> DeliveryTicket:
    """Publish (retained) a discovery config; `None` removes the entity from HA."""
    payload = json.dumps(config, separators=(",", ":")) if config is not None else ""
    return connection.publish(topic, payload, retain=True)
