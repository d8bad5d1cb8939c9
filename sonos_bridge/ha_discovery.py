"""Home Assistant MQTT discovery: one `notify` entity per speaker, "All speakers", and
the house rules' do-not-disturb `switch` entities (one per speaker's room, one for the house).

HA's MQTT notify entity renders its `command_template` with the message as `value` and
publishes the result to the command topic, the bridge's `<base>/tts/<speaker>`. The
template wraps the message as a JSON request, so any text is spoken as text: a message
that starts with `{` or `[` ("[Alert] door open") would otherwise be parsed as JSON.

The discovery topic is keyed by the speaker's UID: a speaker renamed in the Sonos app
re-publishes to the same topic and HA keeps the entity, its id and the automations that
use it. Configs are retained, re-sent when HA announces it (re)started, and removed for
speakers that are gone (see `mqtt_service.discovery_publisher`).

Earlier bridges keyed the topic by the speaker's name and kept no record of what they
published. On the first start without a record, the configs under the names' slugs are
cleared before the UID-keyed ones go out: HA removes each entity and creates it again
from the new config, with the same entity id (it is built from the names).

Threads: `publish` runs on paho's network thread (connect and birth hooks) and on the
bridge's speaker-refresh thread; the shared publisher serialises it.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Literal

from mqtt_service.connection import MqttConnection
from mqtt_service.discovery import (
    EntityConfig,
    device,
    discovery_topic,
    entity_base,
    slugify,
)
from mqtt_service.discovery_publisher import DiscoveryPublisher
from sonos_bridge.request.announcement import ALL_SPEAKERS
from sonos_bridge.speakers import Speaker

logger = logging.getLogger(__name__)

NODE_ID = "sonos_bridge"
# HA's `to_json` filter escapes quotes and keeps non-ASCII text as UTF-8.
COMMAND_TEMPLATE = '{{ {"text": value} | to_json }}'


class NotifyConfig(EntityConfig):
    command_topic: str
    command_template: str
    retain: Literal[False]
    icon: str


def command_topic(base_topic: str, name: str) -> str:
    """`<base>/tts/<name>`; a name that cannot be a topic level uses its slug instead.

    The bridge matches slugs as well as names, so both forms reach the speaker.
    """
    level = slugify(name) if any(char in name for char in "/+#") else name
    return f"{base_topic}/tts/{level}"


def _notify(key: str, name: str, model: str, topic: str, status_topic: str) -> NotifyConfig:
    """The one shape of every notify entity: `key` makes its ids, `name` its device."""
    base = entity_base(
        NODE_ID,
        name="Announce",
        unique_id=f"{NODE_ID}_{key}_notify",
        status_topic=status_topic,
        device_info=device(f"{NODE_ID}_{key}", name, model),
    )
    return {
        **base,
        "command_topic": topic,
        "command_template": COMMAND_TEMPLATE,
        "retain": False,
        "icon": "mdi:bullhorn",
    }


def notify_config(speaker: Speaker, base_topic: str, status_topic: str) -> NotifyConfig:
    topic = command_topic(base_topic, speaker.name)
    model = "Sonos speaker via sonos_bridge"
    return _notify(speaker.uid, speaker.name, model, topic, status_topic)


def all_speakers_config(base_topic: str, status_topic: str) -> NotifyConfig:
    """Every room at once (`<base>/tts/all`): in step by default (SONOS_SYNC=all)."""
    topic = f"{base_topic}/tts/{ALL_SPEAKERS}"
    model = "Every Sonos speaker via sonos_bridge"
    return _notify(ALL_SPEAKERS, "All speakers", model, topic, status_topic)


class SwitchConfig(EntityConfig):
    command_topic: str
    state_topic: str
    payload_on: str
    payload_off: str
    retain: Literal[True]
    optimistic: Literal[False]
    icon: str


def dnd_topic(base_topic: str, name: str | None) -> str:
    """`<base>/dnd` for the house, `<base>/dnd/<room>` (a slug if the name cannot be a level)."""
    if name is None:
        return f"{base_topic}/dnd"
    level = slugify(name) if any(char in name for char in "/+#") else name
    return f"{base_topic}/dnd/{level}"


def dnd_switch_config(speaker: Speaker | None, base_topic: str, status_topic: str) -> SwitchConfig:
    """The do-not-disturb switch of a speaker's room, or of the house (None).

    Command and state share the retained topic: HA's command is the state, and the
    broker hands it to the bridge and to HA at every (re)connect.
    """
    if speaker is None:
        name, unique, info = (
            "House do not disturb",
            f"{NODE_ID}_house_dnd",
            device(f"{NODE_ID}_house", "Sonos bridge", "Sonos bridge (house rules)"),
        )
    else:
        name, unique, info = (
            "Do not disturb",
            f"{NODE_ID}_{speaker.uid}_dnd",
            device(f"{NODE_ID}_{speaker.uid}", speaker.name, "Sonos speaker via sonos_bridge"),
        )
    topic = dnd_topic(base_topic, None if speaker is None else speaker.name)
    base = entity_base(
        NODE_ID, name=name, unique_id=unique, status_topic=status_topic, device_info=info
    )
    return {
        **base,
        "command_topic": topic,
        "state_topic": topic,
        "payload_on": "ON",
        "payload_off": "OFF",
        "retain": True,
        "optimistic": False,
        "icon": "mdi:bell-sleep",
    }


class SpeakerDiscovery:
    """Keeps HA's notify entities in line with the known speakers."""

    def __init__(self, connection: MqttConnection, prefix: str, base_topic: str) -> None:
        self._connection = connection
        self._prefix = prefix
        self._base_topic = base_topic
        self._publisher = DiscoveryPublisher(connection)
        self._clear_name_keyed = not self._publisher.had_record

    def topic_for(self, speaker: Speaker) -> str:
        return discovery_topic(self._prefix, "notify", NODE_ID, speaker.uid)

    def publish(self, speakers: list[Speaker]) -> None:
        status = self._connection.availability_topic
        configs: dict[str, EntityConfig | None] = {}
        if self._clear_name_keyed:
            configs |= {
                discovery_topic(self._prefix, "notify", NODE_ID, speaker.name): None
                for speaker in speakers
            }
            self._clear_name_keyed = not speakers
        configs |= {
            self.topic_for(speaker): notify_config(speaker, self._base_topic, status)
            for speaker in speakers
        }
        if speakers:
            all_topic = discovery_topic(self._prefix, "notify", NODE_ID, ALL_SPEAKERS)
            configs[all_topic] = all_speakers_config(self._base_topic, status)
        configs |= self._switches(speakers, status)
        self._publisher.publish(configs)
        logger.info("Published Home Assistant discovery for %d speakers", len(speakers))

    def _switches(self, speakers: list[Speaker], status: str) -> dict[str, EntityConfig | None]:
        """The do-not-disturb switches: per room, and the house's while any speaker is."""
        switch = partial(discovery_topic, self._prefix, "switch", NODE_ID)
        configs: dict[str, EntityConfig | None] = {
            switch(f"{speaker.uid}_dnd"): dnd_switch_config(speaker, self._base_topic, status)
            for speaker in speakers
        }
        if speakers:
            configs[switch("house_dnd")] = dnd_switch_config(None, self._base_topic, status)
        return configs
