"""Home Assistant discovery: one device per host, up to three entities.

Topics are `<prefix>/<component>/idle_reporter/<host>_<object>/config`, the subtree the
broker's ACL grants this service. No `expire_after`: the state is retained and the last
will marks a dead reporter unavailable. Entities this source cannot feed (the lock state)
and every entity when HA_DISCOVERY is off are removed with an empty retained config;
those of a host name used before are removed through the publisher's record.
"""

from __future__ import annotations

from dataclasses import dataclass

from idle_reporter.publisher import Topics
from mqtt_service import discovery as ha

NODE_ID = "idle_reporter"
# Map anything but the two states (`unknown`) to HA's "None", i.e. the unknown state.
OCCUPANCY_TEMPLATE = "{{ value if value in ('active', 'idle') else 'None' }}"


class BinarySensorConfig(ha.EntityConfig):
    state_topic: str
    payload_on: str
    payload_off: str


class OccupancyConfig(BinarySensorConfig):
    device_class: str
    value_template: str


class LockedConfig(BinarySensorConfig):
    icon: str


class SensorConfig(ha.EntityConfig):
    state_topic: str
    device_class: str
    unit_of_measurement: str
    state_class: str


@dataclass(frozen=True, slots=True)
class Entity:
    component: str
    object_id: str
    config: ha.EntityConfig | None


def entities(
    topics: Topics, host: str, discovery_prefix: str, *, knows_locked: bool, enabled: bool
) -> dict[str, ha.EntityConfig | None]:
    """Discovery topic -> config (None: remove the entity)."""
    slug = ha.slugify(host)
    device = ha.device(f"{NODE_ID}_{slug}", host, "Idle reporter")

    def base(name: str, object_id: str) -> ha.EntityConfig:
        return ha.entity_base(
            NODE_ID,
            name=name,
            unique_id=f"{NODE_ID}_{slug}_{object_id}",
            status_topic=topics.status,
            device_info=device,
        )

    occupancy: OccupancyConfig = {
        **base("Occupancy", "occupancy"),
        "state_topic": topics.state,
        "device_class": "occupancy",
        "payload_on": "active",
        "payload_off": "idle",
        "value_template": OCCUPANCY_TEMPLATE,
    }
    idle_time: SensorConfig = {
        **base("Idle time", "idle_seconds"),
        "state_topic": topics.idle_seconds,
        "device_class": "duration",
        "unit_of_measurement": "s",
        "state_class": "measurement",
    }
    # No device_class: HA's `lock` class means "on = unlocked", the opposite of this topic.
    locked: LockedConfig = {
        **base("Locked", "locked"),
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
