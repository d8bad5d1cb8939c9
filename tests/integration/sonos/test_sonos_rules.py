"""House rules end to end: a real Mosquitto, the bridge, SoCo and fake speakers.

Quiet hours that end at a chosen minute cannot be waited for here: their hold and release
are covered on an injected clock (tests/unit/sonos/test_house_rules.py, test_rules_gate.py);
these tests use quiet hours that last all day, and the do-not-disturb switches.
"""

from __future__ import annotations

import json

import pytest

from sonos_bridge.errors import StartupError
from testkit.fakes.harness import request, wait_result
from testkit.fakes.s2 import S2Profile
from testkit.fakes.speaker import RADIO_URI, FakeSonosSystem
from testkit.support.probe import Probe
from tests.integration.sonos.conftest import BridgeFactory

ALL_DAY = "00:00-00:00"


def test_a_request_above_the_room_limit_plays_at_the_limit_and_says_so(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen = sonos.add("Kitchen")
    kitchen.play_radio(volume=20)
    bridge_factory(sonos_max_volume=70, sonos_max_volume_per_room={"kitchen": 30})
    request(listener, "sonos/tts/Kitchen", text="Loud", volume=80, id="loud")
    result = wait_result(listener, "loud")
    assert result["status"] == "played", result
    assert result["volume"] == 30
    assert result["warnings"] == [
        "Kitchen: volume 80 lowered to 30 (SONOS_MAX_VOLUME_PER_ROOM for Kitchen)"
    ]
    assert kitchen.plays[0].volume == 30


def test_room_volume_is_never_louder_than_the_room_was(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen = sonos.add("Kitchen")
    kitchen.play_radio(volume=12)
    bridge_factory(sonos_default_volume=50)
    request(listener, "sonos/tts/Kitchen", text="Softly", volume="room", id="soft")
    assert wait_result(listener, "soft")["volume"] == 12
    assert kitchen.plays[0].volume == 12


def test_per_room_default_volume(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen, office = sonos.add("Kitchen"), sonos.add("Office")
    bridge_factory(sonos_default_volume=50, sonos_default_volume_per_room={"Kitchen": 35})
    request(listener, "sonos/tts", text="Both", speaker=["Kitchen", "Office"], id="both")
    assert wait_result(listener, "both")["volume"] == {"Kitchen": 35, "Office": 50}
    assert kitchen.plays[0].volume == 35 and office.plays[0].volume == 50


@pytest.mark.parametrize(
    "case",
    [
        ("cap", "low", "played", 15),
        ("drop", "low", "skipped", None),
        ("drop", "high", "played", 15),
    ],
    ids=["cap", "drop", "drop-but-high-priority"],
)
def test_quiet_hours(
    sonos: FakeSonosSystem,
    bridge_factory: BridgeFactory,
    listener: Probe,
    case: tuple[str, str, str, int | None],
) -> None:
    policy, priority, status, volume = case
    kitchen = sonos.add("Kitchen")
    bridge_factory(
        sonos_quiet_hours=ALL_DAY, sonos_quiet_volume=15, sonos_quiet_policy=policy, tz="UTC"
    )
    request(listener, "sonos/tts/Kitchen", text="Night", volume=60, priority=priority, id="q")
    result = wait_result(listener, "q")
    assert result["status"] == status, result
    assert result.get("volume") == volume
    if status == "skipped":
        assert "SONOS_QUIET_POLICY=drop" in result["error"]
        assert kitchen.plays == []
    else:
        assert kitchen.plays[0].volume == 15


def test_hold_with_a_max_age_shorter_than_quiet_hours_expires_at_once(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    sonos.add("Kitchen")
    bridge_factory(sonos_quiet_hours=ALL_DAY, sonos_quiet_policy="hold", tz="UTC")
    request(listener, "sonos/tts/Kitchen", text="Later", max_age=600, id="late")
    result = wait_result(listener, "late")
    assert result["status"] == "expired"
    assert "runs out before quiet hours end" in result["error"]


def test_do_not_disturb_holds_one_room_while_others_play_and_releases_it(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen, office = sonos.add("Kitchen"), sonos.add("Office")
    listener.publish("sonos/dnd/Kitchen", "ON", retain=True)
    bridge_factory()
    request(listener, "sonos/tts", text="Both rooms", speaker=["Kitchen", "Office"], id="split")
    request(listener, "sonos/tts/Office", text="Office only", id="office")
    assert wait_result(listener, "office")["status"] == "played"
    assert len(office.plays) == 2 and kitchen.plays == []
    assert [r for r in results_of(listener) if r["id"] == "split"] == []
    listener.publish("sonos/dnd/Kitchen", "OFF", retain=True)
    result = wait_result(listener, "split")
    assert result["status"] == "played", result
    assert result["held_ms"] > 0
    assert len(kitchen.plays) == 1


def results_of(listener: Probe) -> list[dict[str, object]]:
    return [json.loads(m.payload) for m in listener.on_topic("sonos/result")]


@pytest.mark.parametrize("switch", ["sonos/dnd", "sonos/dnd/kitchen"])
def test_do_not_disturb_drop_skips_and_high_priority_plays(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe, switch: str
) -> None:
    kitchen = sonos.add("Kitchen")
    listener.publish(switch, "ON", retain=True)
    bridge_factory(sonos_dnd_policy="drop")
    request(listener, "sonos/tts/Kitchen", text="Not now", id="no")
    result = wait_result(listener, "no")
    assert result["status"] == "skipped"
    assert result["error"] == "do-not-disturb is on for Kitchen (SONOS_DND_POLICY=drop)"
    request(listener, "sonos/tts/Kitchen", text="Fire alarm", priority="high", id="fire")
    assert wait_result(listener, "fire")["status"] == "played"
    assert len(kitchen.plays) == 1


def test_a_held_request_survives_a_restart_and_plays_once(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen = sonos.add("Kitchen")
    listener.publish("sonos/dnd/Kitchen", "ON", retain=True)
    first = bridge_factory()
    request(listener, "sonos/tts/Kitchen", text="Tomorrow", id="kept")
    listener.wait_until(lambda: first.house.gate.held.count == 1, what="the request held")
    first.stop()  # still held: unanswered, so unacknowledged
    bridge_factory()
    listener.publish("sonos/dnd/Kitchen", "OFF", retain=True)
    result = wait_result(listener, "kept")
    assert result["status"] == "played"
    assert len(kitchen.plays) == 1


def test_an_unknown_room_in_a_per_room_list_stops_the_bridge(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory
) -> None:
    sonos.add("Kitchen")
    with pytest.raises(StartupError, match="SONOS_MAX_VOLUME_PER_ROOM names 'Garage'"):
        bridge_factory(sonos_max_volume_per_room={"Garage": 20})


def test_takeover_sets_volumes_in_an_order_without_jumps(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    """The music stops before the announcement volume is set; the announcement starts after
    it; the music's volume is back before the music resumes."""
    kitchen = sonos.add("Kitchen")
    kitchen.play_radio(volume=20)
    kitchen.delays["SetAVTransportURI"] = 0.3  # a volume call sent alongside would overtake it
    bridge_factory(sonos_clip_mode="never")
    request(listener, "sonos/tts/Kitchen", text="In order", volume=45, id="order")
    assert wait_result(listener, "order")["status"] == "played"
    kitchen.wait_until(lambda: kitchen.transport.uri == RADIO_URI, what="the radio back")
    steps = [
        (c.action, c.arguments.get("DesiredVolume") or c.arguments.get("CurrentURI", ""))
        for c in kitchen.actions
        if c.action in ("SetVolume", "SetAVTransportURI", "Play")
    ]
    clip = next(
        i for i, (a, uri) in enumerate(steps) if a == "SetAVTransportURI" and uri != RADIO_URI
    )
    loud = steps.index(("SetVolume", "45"))
    start = next(i for i, (a, _) in enumerate(steps) if a == "Play" and i > clip)
    quiet = steps.index(("SetVolume", "20"))
    music = steps.index(("SetAVTransportURI", RADIO_URI))
    resume = next(i for i, (a, _) in enumerate(steps) if a == "Play" and i > music)
    assert clip < loud < start < quiet < music < resume, steps


def test_home_assistant_gets_a_do_not_disturb_switch_per_room_and_for_the_house(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen = sonos.add("Kitchen")
    bridge_factory()
    room_topic = f"homeassistant/switch/sonos_bridge/{kitchen.uid.lower()}_dnd/config"
    house_topic = "homeassistant/switch/sonos_bridge/house_dnd/config"
    room = json.loads(listener.wait_for(room_topic)[0].payload)
    house = json.loads(listener.wait_for(house_topic)[0].payload)
    assert room["command_topic"] == room["state_topic"] == "sonos/dnd/Kitchen"
    assert house["command_topic"] == house["state_topic"] == "sonos/dnd"
    for config in (room, house):
        switch = (config["payload_on"], config["payload_off"], config["retain"])
        assert switch == ("ON", "OFF", True)
        assert config["availability"][0]["topic"] == "sonos/status"
    assert room["device"]["identifiers"] == [f"sonos_bridge_{kitchen.uid}"]  # the speaker's


def test_a_bad_switch_payload_is_logged_and_changes_nothing(
    sonos: FakeSonosSystem,
    bridge_factory: BridgeFactory,
    listener: Probe,
    caplog: pytest.LogCaptureFixture,
) -> None:
    kitchen = sonos.add("Kitchen")
    bridge = bridge_factory()
    listener.publish("sonos/dnd/Kitchen", "sleepy", retain=True)
    request(listener, "sonos/tts/Kitchen", text="Still here", id="here")
    assert wait_result(listener, "here")["status"] == "played"
    assert len(kitchen.plays) == 1 and not bridge.house.switches.is_on("Kitchen")
    assert "Ignoring sonos/dnd/Kitchen: payload 'sleepy' is not ON or OFF" in caplog.text


def test_audio_clips_obey_the_limits_and_the_rooms_own_volume(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    """Clips carry their own volume: capped per room, and for "room" read from the room."""
    kitchen, office = sonos.add("Kitchen", s2=S2Profile()), sonos.add("Office", s2=S2Profile())
    kitchen.play_radio(volume=18)
    office.play_radio(volume=90)
    bridge_factory(sonos_max_volume=50)
    request(
        listener, "sonos/tts", text="Clip", speaker=["Kitchen", "Office"], volume="room", id="c"
    )
    result = wait_result(listener, "c", timeout=30)
    assert result["status"] == "played", result
    assert result["volume"] == {"Kitchen": 18, "Office": 50}
    assert kitchen.s2 is not None and office.s2 is not None
    assert [c.volume for c in kitchen.s2.clips] == [18]
    assert [c.volume for c in office.s2.clips] == [50]
    assert not kitchen.calls("SetVolume") and not office.calls("SetVolume")  # music untouched
