"""Home Assistant MQTT discovery: the payload parts both services share, built here only.

Discovery topics are `<prefix>/<component>/<node_id>/<object_id>/config` with the
service name as node_id, so the broker's ACL can grant each service its own subtree. The
topic's object_id must be what never changes (a speaker's UID, a host's name): Home
Assistant keys its discovery on the topic, and a config that moves to another topic with
the same `unique_id` is refused as a duplicate. The payload carries no `object_id`: Home
Assistant then builds the entity id from the device's and the entity's names
(`notify.kitchen_announce`), and keeps it in its registry across renames.

The TypedDicts follow Home Assistant's schemas for these parts (`MQTT_ORIGIN_INFO_SCHEMA`,
the device schema, the availability list); keys are never abbreviated.
"""

from __future__ import annotations

import functools
import json
import re
from importlib import metadata
from typing import NotRequired, TypedDict

from mqtt_service.connection import MqttConnection
from mqtt_service.delivery import DeliveryTicket

DISTRIBUTION = "mqtt-home-voice"
MANUFACTURER = "mqtt-home-voice"
_NOT_SLUG = re.compile(r"[^a-z0-9_]+")


class OriginInfo(TypedDict):
    """The application that published the config; Home Assistant logs it with errors."""

    name: str
    sw_version: NotRequired[str]


class DeviceInfo(TypedDict):
    identifiers: list[str]
    name: str
    manufacturer: str
    model: str
    sw_version: NotRequired[str]


class Availability(TypedDict):
    topic: str
    payload_available: str
    payload_not_available: str


class EntityConfig(TypedDict):
    """What every entity of this project carries; each platform adds its own keys."""

    name: str
    unique_id: str
    availability: list[Availability]
    device: DeviceInfo
    origin: OriginInfo
    qos: int


@functools.cache
def package_version() -> str | None:
    """The installed distribution's version; None when running from an uninstalled tree.

    An unknown version is left out of the payload rather than replaced by a made-up one.
    """
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None


def slugify(text: str) -> str:
    """A Home Assistant-safe object ID: lower case letters, digits and underscores."""
    slug = _NOT_SLUG.sub("_", text.strip().lower()).strip("_")
    return slug or "unnamed"


def discovery_topic(prefix: str, component: str, node_id: str, object_id: str) -> str:
    return f"{prefix}/{component}/{slugify(node_id)}/{slugify(object_id)}/config"


def availability(topic: str) -> list[Availability]:
    return [{"topic": topic, "payload_available": "online", "payload_not_available": "offline"}]


def origin(service_name: str) -> OriginInfo:
    info: OriginInfo = {"name": f"{DISTRIBUTION} {service_name}"}
    version = package_version()
    if version is not None:
        info["sw_version"] = version
    return info


def device(identifier: str, name: str, model: str) -> DeviceInfo:
    info: DeviceInfo = {
        "identifiers": [identifier],
        "name": name,
        "manufacturer": MANUFACTURER,
        "model": model,
    }
    version = package_version()
    if version is not None:
        info["sw_version"] = version
    return info


def entity_base(
    service_name: str, *, name: str, unique_id: str, status_topic: str, device_info: DeviceInfo
) -> EntityConfig:
    """The keys every entity shares: identity, availability, device, origin, QoS 1."""
    return {
        "name": name,
        "unique_id": unique_id,
        "availability": availability(status_topic),
        "device": device_info,
        "origin": origin(service_name),
        "qos": 1,
    }


def publish_config(
    connection: MqttConnection, topic: str, config: EntityConfig | None
) -> DeliveryTicket:
    """Publish (retained) a discovery config; `None` removes the entity from HA."""
    payload = json.dumps(config, separators=(",", ":")) if config is not None else ""
    return connection.publish(topic, payload, retain=True)
