"""Finding speakers: SSDP on loopback, regrouping picked up by a refresh, the standalone fake."""

from __future__ import annotations

from sonos_bridge.speakers import SpeakerRegistry
from testkit.fakes.harness import request, wait_result
from testkit.fakes.remote import start_fake_speakers
from testkit.fakes.speaker import FakeSonosSystem, address_is_free
from testkit.fakes.ssdp import SsdpResponder
from testkit.support.probe import Probe
from tests.integration.sonos.conftest import BridgeFactory


def test_ssdp_discovery_on_loopback_finds_the_household(sonos: FakeSonosSystem) -> None:
    kitchen, office = sonos.add("Kitchen"), sonos.add("Office")
    sonos.household.group(kitchen, office)
    responder = SsdpResponder(kitchen).start()
    try:
        registry = SpeakerRegistry(hosts=[], discovery_interface="127.0.0.1")
        assert registry.refresh()
    finally:
        responder.close()
    assert responder.searches >= 1
    found = {s.name: s for s in registry.all()}
    assert set(found) >= {"Kitchen", "Office"}
    assert found["Office"].coordinator_uid == kitchen.uid
    assert found["Office"].coordinator_ip == kitchen.ip


def test_regrouping_is_seen_after_a_refresh(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen, office = sonos.add("Kitchen"), sonos.add("Office")
    bridge = bridge_factory()
    sonos.household.group(kitchen, office)
    bridge.refresh_speakers()
    request(listener, "sonos/tts/Office", text="Grouped now", id="grouped")
    assert wait_result(listener, "grouped")["status"] == "played"
    assert len(kitchen.plays) == 1 and office.plays == []
    listener.wait_for("sonos/speakers", count=2)


def test_standalone_fake_speaker_process() -> None:
    ip = next(f"127.0.0.{h}" for h in range(230, 250) if address_is_free(f"127.0.0.{h}"))
    process, remotes = start_fake_speakers({"Porch": ip}, speed=0.1)
    try:
        state = remotes["Porch"].state()
        assert state["name"] == "Porch"
        assert state["state"] == "PLAYING" and state["volume"] == 20
    finally:
        process.terminate()
        assert process.wait(10) == 0


def test_a_new_speaker_is_found_after_an_unknown_name(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    sonos.add("Kitchen")
    bridge_factory()
    listener.wait_for("sonos/speakers")
    porch = sonos.add("Porch")  # plugged in after the bridge started
    request(listener, "sonos/tts/Porch", text="Hello porch", id="first")
    first = wait_result(listener, "first")
    assert first["status"] == "failed" and "unknown speaker" in first["error"]
    listener.wait_for("sonos/speakers", count=2)  # the unknown name caused a refresh
    request(listener, "sonos/tts/Porch", text="Hello porch", id="second")
    assert wait_result(listener, "second")["status"] == "played"
    assert len(porch.plays) == 1


def test_a_rebooted_speaker_is_reached_again(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    sonos.add("Kitchen")
    bridge_factory()
    request(listener, "sonos/tts/Kitchen", text="Before the reboot", id="before")
    assert wait_result(listener, "before")["status"] == "played"
    kitchen = sonos.restart("Kitchen")  # the bridge's kept-alive connection is now dead
    request(listener, "sonos/tts/Kitchen", text="After the reboot", id="after")
    assert wait_result(listener, "after")["status"] == "played"
    assert len(kitchen.plays) == 1
