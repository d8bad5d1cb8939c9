"""Home Assistant discovery: one device per host, up to three entities.

Topics are `<prefix>/<component>/idle_reporter/<host>_<object>/config`, the subtree the
broker's ACL grants this service. No `expire_after`: the state is retained and the last
will marks a dead reporter unavailable. Entities this source cannot feed (the lock state)
and every entity when HA_DISCOVERY is off are removed with an empty retained config.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from idle_reporter.publisher import Topics
from mqtt_service import discovery as ha

logger = logging.getLogger(__name__)

NODE_ID = "idle_reporter"
# Map anything but the two states (`unknown`) to HA's "None", i.e. the unknown state.
OCCUPANCY_TEMPLATE = "{{ value if value in ('active', 'idle') else 'None' }}"


def _version() -> str:
    try:
        return metadata.version("mqtt-home-voice")
    except metadata.PackageNotFoundError:
        return "0"


@dataclass(frozen=True)
class Entity:
    component: str
    object_id: str
    config: dict[str, Any] | None


def entities(
    topics: Topics, host: str, discovery_prefix: str, *, knows_locked: bool, enabled: bool
) -> dict[str, dict[str, Any] | None]:
    """Discovery topic -> config (None: remove the entity)."""
    slug = ha.slugify(host)
    device = ha.device(f"idle_reporter_{slug}", host, "Idle reporter", _version())
    common: dict[str, Any] = {
        "availability": ha.availability(topics.status),
        "device": device,
        "qos": 1,
        "origin": {"name": "mqtt-home-voice idle_reporter", "sw_version": _version()},
    }
    occupancy: dict[str, Any] = {
        **common,
        "name": "Occupancy",
        "unique_id": f"idle_reporter_{slug}_occupancy",
        "state_topic": topics.state,
        "device_class": "occupancy",
        "payload_on": "active",
        "payload_off": "idle",
        "value_template": OCCUPANCY_TEMPLATE,
    }
    idle_time: dict[str, Any] = {
        **common,
        "name": "Idle time",
        "unique_id": f"idle_reporter_{slug}_idle_seconds",
        "state_topic": topics.idle_seconds,
        "device_class": "duration",
        "unit_of_measurement": "s",
        "state_class": "measurement",
    }
    # No device_class: HA's `lock` class means "on = unlocked", the opposite of this topic.
    locked: dict[str, Any] = {
        **common,
        "name": "Locked",
        "unique_id": f"idle_reporter_{slug}_locked",
        "state_topic": topics.locked,
        "payload_on": "ON",
        "payload_off": "OFF",
        "icon": "mdi:monitor-lock",
    }
    wanted = [
        Entity("binary_sensor", "occupancy", occupancy),
        Entity("sensor", "idle_seconds", idle_time),
        Entity("binary_sensor", "locked", locked if knows_locked else None),
    ]
    return {
        ha.discovery_topic(discovery_prefix, item.component, NODE_ID, f"{host}_{item.object_id}"): (
            item.config if enabled else None
        )
        for item in wanted
    }
