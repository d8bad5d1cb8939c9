"""The services' discovery, checked by a real Home Assistant 2025.4 (`make test-ha`).

Everything is observed through Home Assistant itself: entity states through its
mqtt_statestream mirror, calls through its REST API, the registries through its WebSocket
API, and one automation of its own. The module shares one stack (conftest.py) and its
tests run in the order written, each leaving the stack as the next one expects: the
Kitchen is left alone until the last test deletes its entity, the Office is renamed.
"""

from __future__ import annotations

import json
from importlib import metadata
from typing import Any

import pytest

from testkit.fakes.speaker import FakeSpeaker
from testkit.support.probe import Probe
from tests.ha.conftest import WELCOME, Stack
from tests.ha.home_assistant import state_topic

VERSION = metadata.version("mqtt-home-voice")
LEGACY_TOPIC = "homeassistant/notify/sonos_bridge/kitchen/config"
ENTITIES = (
    "notify.kitchen_announce",
    "notify.office_announce",
    "binary_sensor.desk_occupancy",
    "sensor.desk_idle_time",
)


def discovery_topic(speaker: FakeSpeaker) -> str:
    return f"homeassistant/notify/sonos_bridge/{speaker.uid.lower()}/config"


def registry_entry(stack: Stack, entity_id: str) -> dict[str, Any]:
    entry = stack.home_assistant.websocket(
        {"type": "config/entity_registry/get", "entity_id": entity_id}
    )
    assert isinstance(entry, dict)
    return entry


def send_message(stack: Stack, entity_id: str, text: str) -> None:
    stack.home_assistant.call_service(
        "notify", "send_message", {"entity_id": entity_id, "message": text}
    )


def test_speakers_and_desktop_appear_with_the_expected_entity_ids(stack: Stack) -> None:
    for entity_id in ENTITIES:
        stack.wait_state(entity_id)
    kitchen = stack.sonos["Kitchen"]
    entry = registry_entry(stack, "notify.kitchen_announce")
    assert entry["unique_id"] == f"sonos_bridge_{kitchen.uid}_notify"
    devices = stack.home_assistant.websocket({"type": "config/device_registry/list"})
    ours = {d["name"]: d for d in devices if d["manufacturer"] == "mqtt-home-voice"}
    assert set(ours) == {"Kitchen", "Office", "desk"}
    assert {d["sw_version"] for d in ours.values()} == {VERSION}
    assert stack.wait_state("sensor.desk_idle_time", attribute="unit_of_measurement") == '"s"'


def test_occupancy_follows_the_desktop_and_drives_an_automation(stack: Stack) -> None:
    assert stack.wait_state("binary_sensor.desk_occupancy") == "on"
    stack.desktop("idle")
    stack.wait_state("binary_sensor.desk_occupancy", "off")
    kitchen = stack.sonos["Kitchen"]
    plays = len(kitchen.plays)
    stack.desktop("active")
    stack.wait_state("binary_sensor.desk_occupancy", "on")
    # The automation's notify.send_message: text in brackets, spoken as text.
    stack.wait_spoken(kitchen, "Kitchen", WELCOME, plays)


@pytest.mark.parametrize(
    "text",
    ['{"looks": "like JSON"}', "[Alert] door open", '"Quoted", she said', "Grüße, ünïcödé"],
)
def test_send_message_speaks_any_text(stack: Stack, text: str) -> None:
    office = stack.sonos["Office"]
    plays = len(office.plays)
    send_message(stack, "notify.office_announce", text)
    stack.wait_spoken(office, "Office", text, plays)


def test_an_upgrade_from_name_keyed_topics_keeps_the_entity_id(stack: Stack) -> None:
    """Earlier bridges published under the speaker's name. The first start of this one,
    while Home Assistant runs, moves the entity to the UID-keyed topic; its id stays."""
    kitchen = stack.sonos["Kitchen"]
    topic = discovery_topic(kitchen)
    old_style = json.loads(stack.watcher.on_topic(topic)[-1].payload)
    del old_style["command_template"], old_style["origin"]
    with stack.home_assistant.entity_events("notify.kitchen_announce") as wait:
        # What an older bridge left on the broker and in Home Assistant.
        stack.watcher.publish(topic, "", retain=True)
        wait("removed")
        stack.watcher.publish(LEGACY_TOPIC, json.dumps(old_style), retain=True)
        wait("available")
        stack.restart_bridge(forget_discovery=True)
        wait("removed")
        wait("available")
    plays = len(kitchen.plays)
    send_message(stack, "notify.kitchen_announce", "[Upgrade] done")
    stack.wait_spoken(kitchen, "Kitchen", "[Upgrade] done", plays)
    entry = registry_entry(stack, "notify.kitchen_announce")
    assert entry["unique_id"] == f"sonos_bridge_{kitchen.uid}_notify"


def test_a_renamed_speaker_keeps_its_entity_id(stack: Stack) -> None:
    office = stack.sonos["Office"]
    office.name = "Study"  # renamed in the Sonos app
    stack.bridge.refresh_speakers()
    stack.wait_state("notify.office_announce", '"Study Announce"', attribute="friendly_name")
    plays = len(office.plays)
    send_message(stack, "notify.office_announce", "Still here")
    stack.wait_spoken(office, "Study", "Still here", plays)
    entities = stack.home_assistant.websocket({"type": "config/entity_registry/list"})
    assert "notify.study_announce" not in {e["entity_id"] for e in entities}


def test_a_restart_of_home_assistant_brings_entities_and_states_back(stack: Stack) -> None:
    """After a restart, Home Assistant's birth message is the way back.

    The retained configs are cleared while it is down, as on a broker that lost them
    (one without persistence): only the services' answer to the birth message can bring
    the entities back.
    """
    stack.home_assistant.stop()
    watcher = stack.watcher
    configs = {m.topic for m in watcher.messages if m.topic.endswith("/config") and m.payload}
    for topic in sorted(configs) + [state_topic(entity_id) for entity_id in ENTITIES]:
        watcher.publish(topic, "", retain=True)
    stack.home_assistant.start(watcher)
    stack.wait_state("binary_sensor.desk_occupancy", "on")
    stack.wait_state("sensor.desk_idle_time", str.isdigit)
    stack.wait_state("notify.kitchen_announce")
    assert stack.wait_state("notify.office_announce", attribute="friendly_name") == (
        '"Study Announce"'
    )


def test_deleting_entities_in_home_assistant_clears_their_configs(stack: Stack) -> None:
    kitchen_config = discovery_topic(stack.sonos["Kitchen"])
    idle_config = "homeassistant/sensor/idle_reporter/desk_idle_seconds/config"
    # The restart test cleared these topics too: wait for clears that come after these.
    earlier = {
        topic: sum(not m.payload for m in stack.watcher.on_topic(topic))
        for topic in (kitchen_config, idle_config)
    }
    for entity_id in ("notify.kitchen_announce", "sensor.desk_idle_time"):
        stack.home_assistant.websocket(
            {"type": "config/entity_registry/remove", "entity_id": entity_id}
        )
    for topic, cleared in earlier.items():
        stack.watcher.wait_for(topic, payload=b"", count=cleared + 1)
    late = Probe(stack.broker)
    try:
        late.subscribe("homeassistant/+/+/+/config")
        late.subscribe("sonos/status")  # retained: arrives after the retained configs
        late.wait_for("sonos/status")
        retained = {m.topic for m in late.messages if m.topic.endswith("/config")}
    finally:
        late.close()
    assert kitchen_config not in retained and idle_config not in retained
    assert discovery_topic(stack.sonos["Office"]) in retained  # only what was deleted
