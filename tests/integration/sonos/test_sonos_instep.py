"""Whole-house announcements in step, against fake speakers that group like Sonos.

Every test reads the topology before and after: the groups (who is grouped with whom, who
leads) must come back exactly, with their music and volumes.
"""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path

from testkit.fakes.harness import LONG_TEXT, radio_back, request, wait_result
from testkit.fakes.speaker import FakeSonosSystem, FakeSpeaker
from testkit.fakes.speaker.topology import Bonded
from testkit.support.probe import Probe
from testkit.waits import eventually
from tests.integration.sonos.conftest import BridgeFactory

TV_URI = "x-sonos-htastream:{uid}:spdif"
SPOTIFY_URI = "x-sonos-vli:{uid}:2,spotify:e934941535d7b182815bf2d1e4ffb8f5"


def house(sonos: FakeSonosSystem) -> dict[str, FakeSpeaker]:
    """Living Room (a stereo pair with a Sub) grouped with the Kitchen, playing radio; the
    Office on its own playing radio; the Bedroom stopped; a TV soundbar with surrounds
    watching TV."""
    rooms = {name: sonos.add(name) for name in ("Living Room", "Kitchen", "Office", "Bedroom")}
    rooms["TV"] = sonos.add("TV")
    household = sonos.household
    household.group(rooms["Living Room"], rooms["Kitchen"])
    household.bond(
        rooms["Living Room"],
        Bonded("RINCON_LRRIGHT01400", "127.0.0.250", "RF"),
        Bonded("RINCON_LRSUB001400", "127.0.0.251", "SW"),
    )
    household.bond(rooms["TV"], Bonded("RINCON_TVREAR01400", "127.0.0.252", "RR", True))
    rooms["Living Room"].play_radio(volume=15)
    rooms["Kitchen"].volume = 25
    rooms["Office"].play_radio(volume=30)
    rooms["TV"].set_source(TV_URI.format(uid=rooms["TV"].uid))
    return rooms


def fetches(sonos: FakeSonosSystem) -> dict[str, int]:
    return {name: len(s.plays) for name, s in sonos.speakers.items() if s.plays}


def test_in_step_to_all_one_stream_then_every_group_as_it_was(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe, tmp_path: Path
) -> None:
    rooms = house(sonos)
    before = sonos.household.grouping_of()
    zone_state = sonos.household.zone_group_state()
    bridge_factory()
    request(listener, "sonos/tts", text="Dinner is ready", speaker="all", id="all")
    result = wait_result(listener, "all")
    assert result["status"] == "played", result
    assert result["in_step"] is True
    assert "warnings" not in result, result
    assert fetches(sonos) == {"Living Room": 1}  # only the temporary coordinator fetched
    [play] = rooms["Living Room"].plays
    assert sorted(play.group) == ["Bedroom", "Kitchen", "Living Room", "Office", "TV"]
    assert play.ok, play.error
    assert sonos.household.grouping_of() == before
    assert sonos.household.zone_group_state() == zone_state  # bonded speakers never moved
    radio_back(rooms["Living Room"], volume=15)
    radio_back(rooms["Office"], volume=30)
    tv = rooms["TV"]
    tv.wait_until(lambda: tv.transport.uri == TV_URI.format(uid=tv.uid) and tv.state == "PLAYING")
    assert rooms["Bedroom"].state == "STOPPED" and rooms["Kitchen"].volume == 25
    assert list((tmp_path / "bridge" / "instep").iterdir()) == []  # the record is gone


def test_sync_false_plays_each_group_on_its_own_and_regroups_nothing(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    rooms = house(sonos)
    bridge_factory()
    request(listener, "sonos/tts", text="Hello", speaker="all", sync=False, id="apart")
    result = wait_result(listener, "apart")
    assert result["status"] == "played" and result["in_step"] is False, result
    assert fetches(sonos) == {"Living Room": 1, "Office": 1, "Bedroom": 1, "TV": 1}
    joins = [
        c for s in rooms.values() for c in s.calls("SetAVTransportURI")
        if c.arguments["CurrentURI"].startswith("x-rincon:")
    ]  # fmt: skip
    assert joins == []


def test_a_list_of_rooms_follows_sonos_sync_and_the_request_overrides_it(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    rooms = house(sonos)
    bridge_factory(sonos_sync="always")
    request(listener, "sonos/tts", text="Hi", speaker=["Office", "Bedroom"], id="list")
    assert wait_result(listener, "list")["in_step"] is True
    request(listener, "sonos/tts", text="Hi", speaker=["Office", "Bedroom"], sync=False, id="no")
    assert wait_result(listener, "no")["in_step"] is False
    request(listener, "sonos/tts/Office", text="Just here", id="one")
    assert "in_step" not in wait_result(listener, "one")
    assert len(rooms["Office"].plays) == 3  # the Office led: the larger group by UID


def test_spotify_in_one_room_is_not_pulled_in_and_is_named(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    rooms = house(sonos)
    office = rooms["Office"]
    office.set_source(SPOTIFY_URI.format(uid=office.uid))
    before = sonos.household.grouping_of()
    bridge_factory()
    request(listener, "sonos/tts", text="Dinner is ready", speaker="all", id="spotify")
    result = wait_result(listener, "spotify")
    assert result["status"] == "played", result
    assert result["warnings"][0] == (
        "Office is not in step: it plays from AirPlay or Spotify Connect, which could not "
        "come back after it left its group"
    )
    assert fetches(sonos) == {"Living Room": 1, "Office": 1}  # the Office on its own
    assert "Office" not in rooms["Living Room"].plays[0].group
    assert not [c for c in office.calls("SetAVTransportURI") if "x-rincon:" in str(c.arguments)]
    assert sonos.household.grouping_of() == before


def test_a_room_that_refuses_to_join_fails_the_request_by_name_the_others_play(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    rooms = house(sonos)
    rooms["Bedroom"].fail("SetAVTransportURI", 800)
    before = sonos.household.grouping_of()
    bridge_factory()
    request(listener, "sonos/tts", text="Dinner is ready", speaker="all", id="refused")
    result = wait_result(listener, "refused")
    assert result["status"] == "failed", result
    assert result["error"].startswith("Bedroom: did not join the others: Bedroom refused"), result
    assert sorted(rooms["Living Room"].plays[0].group) == ["Kitchen", "Living Room", "Office", "TV"]
    assert sonos.household.grouping_of() == before
    radio_back(rooms["Office"], volume=30)


def test_a_vanished_room_does_not_stop_the_others(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    rooms = house(sonos)
    bridge_factory()
    rooms["Office"].stall()  # off the network after the bridge found it
    before = sonos.household.grouping_of()
    request(listener, "sonos/tts", text="Dinner is ready", speaker="all", id="gone")
    result = wait_result(listener, "gone", timeout=30)
    assert result["status"] == "failed", result
    assert "Office" in result["error"], result
    assert sorted(rooms["Living Room"].plays[0].group) == [
        "Bedroom",
        "Kitchen",
        "Living Room",
        "TV",
    ]
    assert sonos.household.grouping_of() == before
    radio_back(rooms["Living Room"], volume=15)


def test_two_whole_house_requests_in_a_row_form_the_group_once(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    rooms = house(sonos)
    before = sonos.household.grouping_of()
    bridge_factory()
    request(listener, "sonos/tts", text=LONG_TEXT, speaker="all", id="first")
    request(listener, "sonos/tts", text="And again", speaker="all", id="second")
    assert wait_result(listener, "first")["status"] == "played"
    assert wait_result(listener, "second")["status"] == "played"
    assert len(rooms["Living Room"].plays) == 2
    office = rooms["Office"]
    joins = [c for c in office.calls("SetAVTransportURI") if "x-rincon:" in str(c.arguments)]
    assert len(joins) == 1 and len(office.calls("BecomeCoordinatorOfStandaloneGroup")) == 1
    assert sonos.household.grouping_of() == before
    radio_back(office, volume=30)


def test_many_concurrent_overlapping_requests_all_answered_groups_intact(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    rooms = house(sonos)
    before = sonos.household.grouping_of()
    bridge_factory()
    names = list(rooms)
    rng = random.Random(16)
    bodies = [
        {"text": f"Number {n}", "speaker": rng.sample(names, rng.randint(1, 4)), "sync": True,
         "id": f"c{n}"}
        for n in range(24)
    ]  # fmt: skip

    def send(part: list[dict[str, object]]) -> None:
        for body in part:
            listener.publish("sonos/tts", json.dumps(body))

    clients = [threading.Thread(target=send, args=(bodies[i::4],)) for i in range(4)]
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    for body in bodies:
        result = wait_result(listener, str(body["id"]), timeout=60)
        assert result["status"] == "played", result
    assert sonos.household.grouping_of() == before
    radio_back(rooms["Office"], volume=30)
    radio_back(rooms["Living Room"], volume=15)


def test_rooms_joined_wait_their_turn_and_an_unaffected_room_does_not(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    rooms = house(sonos)
    before = sonos.household.grouping_of()
    bridge_factory()
    together = ["Living Room", "Office"]
    request(listener, "sonos/tts", text=LONG_TEXT, speaker=together, sync=True, id="joined")
    living = rooms["Living Room"]
    living.wait_until(lambda: bool(living.plays) and living.state == "PLAYING")
    request(listener, "sonos/tts/Kitchen", text="Kitchen after", id="kitchen")
    request(listener, "sonos/tts/Bedroom", text="Bedroom now", id="bedroom")
    bedroom = wait_result(listener, "bedroom")
    assert bedroom["status"] == "played"
    clip = living.plays[0]  # the Bedroom did not wait for the rooms in step:
    assert not clip.finished or rooms["Bedroom"].plays[0].requested_at < clip.finished_at
    assert wait_result(listener, "joined")["status"] == "played"
    assert wait_result(listener, "kitchen")["status"] == "played"
    kitchen_play = living.plays[1]  # the Kitchen's group, after the groups were re-formed
    assert kitchen_play.requested_at > living.plays[0].finished_at
    assert sorted(kitchen_play.group) == ["Kitchen", "Living Room"]
    assert sonos.household.grouping_of() == before


def test_a_speaker_list_read_while_rooms_are_joined_is_read_again_after(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    rooms = house(sonos)
    bridge = bridge_factory()
    request(listener, "sonos/tts", text=LONG_TEXT, speaker="all", id="joined")
    living = rooms["Living Room"]
    living.wait_until(lambda: bool(living.plays) and living.state == "PLAYING")
    bridge.refresh_speakers()  # the periodic re-read, while every room is in one group
    assert {s.coordinator_name for s in bridge.registry.all()} == {"Living Room"}
    assert wait_result(listener, "joined")["status"] == "played"
    office = rooms["Office"]

    def read_again() -> bool:
        known = bridge.registry.by_uid(office.uid)
        return known is not None and known.is_coordinator

    eventually(read_again, "the speakers read again after the groups were put back")
    request(listener, "sonos/tts/Office", text="Office only", id="office")
    assert wait_result(listener, "office")["status"] == "played"
    assert len(office.plays) == 1 and office.plays[0].group == ["Office"]
