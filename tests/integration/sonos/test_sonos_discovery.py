"""The bridge's Home Assistant discovery on a real broker.

Topics are keyed by the speaker's UID, so a rename in the Sonos app re-publishes to the
same topic (Home Assistant keeps the entity and its id); every config names its origin
and the package's real version; and what the bridge published is kept in STATE_DIR, so a
speaker that disappeared while the bridge was down still loses its entity.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import metadata
from typing import Any

import pytest

from testkit.fakes.harness import wait_result
from testkit.fakes.speaker import FakeSonosSystem, FakeSpeaker
from testkit.support.broker import MosquittoBroker
from testkit.support.probe import Probe
from tests.integration.sonos.conftest import BridgeFactory

VERSION = metadata.version("mqtt-home-voice")


def config_topic(speaker: FakeSpeaker) -> str:
    return f"homeassistant/notify/sonos_bridge/{speaker.uid.lower()}/config"


def config_of(listener: Probe, topic: str, count: int = 1) -> dict[str, Any]:
    config = json.loads(listener.wait_for(topic, count=count)[-1].payload)
    assert isinstance(config, dict)
    return config


def removals_seen(listener: Probe) -> list[str]:
    return [m.topic for m in listener.messages if m.topic.endswith("/config") and not m.payload]


def retained_configs(broker: MosquittoBroker) -> set[str]:
    """Discovery topics a Home Assistant starting now would see (its sentinel comes last)."""
    late = Probe(broker)
    try:
        late.subscribe("homeassistant/+/sonos_bridge/+/config")
        late.subscribe("sonos/status")  # retained, sent after the subscription above
        late.wait_for("sonos/status")
        return {m.topic for m in late.messages if m.topic.endswith("/config") and m.payload}
    finally:
        late.close()


def test_notify_config_is_keyed_by_uid_and_names_its_origin(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen = sonos.add("Kitchen")
    bridge_factory()
    config = config_of(listener, config_topic(kitchen))
    assert config["unique_id"] == f"sonos_bridge_{kitchen.uid}_notify"
    # No object_id: Home Assistant builds `notify.kitchen_announce` from the device's
    # name and the entity's name, and keeps that id when the speaker is renamed.
    assert "object_id" not in config
    assert (config["device"]["name"], config["name"]) == ("Kitchen", "Announce")
    assert config["origin"] == {"name": "mqtt-home-voice sonos_bridge", "sw_version": VERSION}
    assert config["device"]["sw_version"] == VERSION
    assert "{{" in config["command_template"] and "value" in config["command_template"]


@pytest.mark.parametrize(
    "text", ['{"looks": "like JSON"', "[Alert] door open", '"quoted" words', "plain words"]
)
def test_what_the_command_template_sends_is_spoken_as_text(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe, text: str
) -> None:
    """The request Home Assistant's notify entity sends through the command template."""
    kitchen = sonos.add("Kitchen")
    bridge_factory()
    config = config_of(listener, config_topic(kitchen))
    listener.publish(config["command_topic"], json.dumps({"text": text, "id": "from-ha"}))
    assert wait_result(listener, "from-ha")["status"] == "played"


def test_renamed_speaker_keeps_its_discovery_topic(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    office = sonos.add("Office")
    bridge = bridge_factory()
    before = config_of(listener, config_topic(office))
    removals = removals_seen(listener)
    office.name = "Study"  # renamed in the Sonos app
    bridge.refresh_speakers()
    after = config_of(listener, config_topic(office), count=2)
    assert after["unique_id"] == before["unique_id"]
    assert after["device"]["name"] == "Study"
    assert after["command_topic"] == "sonos/tts/Study"
    # An empty config would make Home Assistant delete the entity.
    assert removals_seen(listener) == removals


def test_speaker_gone_while_the_bridge_was_down_loses_its_entity(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe, broker: MosquittoBroker
) -> None:
    kitchen = sonos.add("Kitchen")
    office = sonos.add("Office")
    first = bridge_factory()
    listener.wait_for(config_topic(office))
    first.stop()
    office.close()  # unplugged while the bridge was down
    sonos.household.remove(office)
    bridge_factory(sonos_hosts=kitchen.ip)
    listener.wait_for(config_topic(office), payload=b"")
    assert retained_configs(broker) == {config_topic(kitchen)}


def test_first_start_clears_the_name_keyed_configs_of_earlier_versions(
    sonos: FakeSonosSystem,
    bridge_factory: BridgeFactory,
    listener: Probe,
    broker: MosquittoBroker,
    probe_factory: Callable[..., Probe],
) -> None:
    kitchen = sonos.add("Kitchen")
    legacy = "homeassistant/notify/sonos_bridge/kitchen/config"
    probe_factory("sonos_bridge").publish(legacy, '{"name": "Announce"}', retain=True)
    first = bridge_factory()
    listener.wait_for(legacy, payload=b"")
    assert retained_configs(broker) == {config_topic(kitchen)}
    first.stop()
    bridge_factory()  # the record exists now: nothing to clear
    listener.wait_for(config_topic(kitchen), count=2)
    assert len(listener.on_topic(legacy)) == 2  # the retained original and one removal
