"""End to end through a real Mosquitto: the bridge, SoCo and fake speakers, nothing mocked."""

from __future__ import annotations

import json

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from sonos_bridge.audio.clip_cache import clip_key
from sonos_bridge.audio.speech.engines import EspeakEngine
from testkit.fakes.harness import LONG_TEXT, request, results, wait_result
from testkit.fakes.speaker import RADIO_URI, FakeSonosSystem, QueueTrack
from testkit.support.broker import MosquittoBroker
from testkit.support.probe import Probe
from tests.integration.sonos.conftest import BridgeFactory


def test_announcement_at_its_volume_then_the_radio_again(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen = sonos.add("Kitchen")
    kitchen.play_radio(volume=20)
    bridge_factory()
    listener.publish(
        "sonos/tts/Kitchen", json.dumps({"text": "Dinner is ready", "volume": 45, "id": "dinner"})
    )
    result = wait_result(listener, "dinner")
    assert result["status"] == "played", result
    assert result["speakers"] == ["Kitchen"]
    assert result["error"] is None
    assert isinstance(result["latency_ms"], int)
    [play] = kitchen.plays
    assert play.ok, play.error
    assert play.volume == 45
    assert play.url.endswith(".mp3")
    kitchen.wait_until(lambda: kitchen.transport.uri == RADIO_URI, what="the radio back")
    assert kitchen.state == "PLAYING"
    assert kitchen.volume == 20
    assert not kitchen.muted


def test_plain_text_on_a_speaker_topic_matches_names_case_insensitively(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen = sonos.add("Kitchen")
    kitchen.play_radio(volume=30)
    bridge_factory()
    listener.publish("sonos/tts/kitchen", "Dinner is ready")
    listener.wait_for("sonos/result")
    [result] = results(listener)
    assert result["status"] == "played", result
    assert result["id"]
    assert kitchen.plays[0].volume == 30  # no volume asked: the speaker's own


def test_muted_speaker_is_unmuted_for_the_announcement_and_muted_again(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen = sonos.add("Kitchen")
    kitchen.play_radio(volume=20)
    kitchen.muted = True
    bridge_factory()
    request(listener, "sonos/tts", text="Wake up", speaker="Kitchen", id="m")
    assert wait_result(listener, "m")["status"] == "played"
    assert kitchen.plays[0].muted is False
    kitchen.wait_until(lambda: kitchen.muted and kitchen.transport.uri == RADIO_URI)


def test_back_to_back_one_snapshot_one_restore_in_order(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen = sonos.add("Kitchen")
    kitchen.play_radio(volume=20)
    bridge_factory()
    texts = ["First message", "Second message", "Third message"]
    for number, text in enumerate(texts):
        request(listener, "sonos/tts/Kitchen", text=text, volume=40 + number, id=f"b{number}")
    for number in range(len(texts)):
        assert wait_result(listener, f"b{number}")["status"] == "played"
    kitchen.wait_until(lambda: kitchen.transport.uri == RADIO_URI, what="the radio back")
    voice = EspeakEngine(timeout=5).voice_for("en")
    assert voice is not None
    keys = [clip_key("espeak", voice, t) for t in texts]
    fetched = [play.url.rsplit("/", 1)[-1].removesuffix(".mp3") for play in kitchen.plays]
    assert fetched == keys
    assert [p.volume for p in kitchen.plays] == [40, 41, 42]
    assert len(kitchen.calls("GetMediaInfo")) == 1  # one snapshot
    restores = [
        c for c in kitchen.calls("SetAVTransportURI") if c.arguments["CurrentURI"] == RADIO_URI
    ]
    assert len(restores) == 1
    assert kitchen.volume == 20
    assert kitchen.state == "PLAYING"


def test_group_member_is_played_by_its_coordinator(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    living = sonos.add("Living Room")
    kitchen = sonos.add("Kitchen")
    sonos.household.group(living, kitchen)
    living.play_radio(volume=15)
    kitchen.volume = 25
    bridge_factory()
    request(listener, "sonos/tts/Kitchen", text="Door bell", volume=50, id="g")
    result = wait_result(listener, "g")
    assert result["status"] == "played", result
    assert result["speakers"] == ["Kitchen"]
    assert len(living.plays) == 1 and living.plays[0].ok
    assert kitchen.plays == []
    living.wait_until(lambda: living.transport.uri == RADIO_URI and living.volume == 15)
    kitchen.wait_until(lambda: kitchen.volume == 25)
    assert [c.arguments["DesiredVolume"] for c in kitchen.calls("SetVolume")] == ["50", "25"]


def test_all_plays_on_every_coordinator(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    living, kitchen, office = sonos.add("Living Room"), sonos.add("Kitchen"), sonos.add("Office")
    sonos.household.group(living, kitchen)
    bridge_factory()
    request(listener, "sonos/tts", text="Leaving in five minutes", speaker="all", id="all")
    result = wait_result(listener, "all")
    assert result["status"] == "played", result
    assert sorted(result["speakers"]) == ["Kitchen", "Living Room", "Office"]
    assert len(living.plays) == 1 and len(office.plays) == 1 and kitchen.plays == []


def test_a_list_of_speakers(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen, office, _bath = sonos.add("Kitchen"), sonos.add("Office"), sonos.add("Bath")
    bridge_factory()
    request(listener, "sonos/tts", text="Hello", speaker=["Kitchen", "office"], id="list")
    assert wait_result(listener, "list")["status"] == "played"
    assert len(kitchen.plays) == 1 and len(office.plays) == 1 and _bath.plays == []


def test_mqtt5_response_topic_gets_the_same_answer_with_correlation(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    sonos.add("Kitchen")
    bridge_factory()
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.ResponseTopic = "reply/ha/1"
    properties.CorrelationData = b"corr-42"
    listener.publish(
        "sonos/tts/Kitchen", json.dumps({"text": "Hi", "id": "v5"}), properties=properties
    )
    on_result = wait_result(listener, "v5")
    reply = listener.wait_for("reply/ha/1")[0]
    assert json.loads(reply.payload) == on_result
    assert reply.properties is not None
    assert getattr(reply.properties, "CorrelationData", None) == b"corr-42"


def test_expired_when_its_turn_comes(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen = sonos.add("Kitchen")
    bridge_factory()
    request(listener, "sonos/tts/Kitchen", text=LONG_TEXT, id="long")
    request(listener, "sonos/tts/Kitchen", text="Too late", id="late", max_age=0.05)
    assert wait_result(listener, "long")["status"] == "played"
    late = wait_result(listener, "late")
    assert late["status"] == "expired", late
    assert "max_age" in late["error"]
    assert len(kitchen.plays) == 1


def test_retained_request_is_ignored(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen = sonos.add("Kitchen")
    listener.publish("sonos/tts/Kitchen", "Spoken at every restart", retain=True)
    bridge_factory()
    request(listener, "sonos/tts/Kitchen", text="Fresh", id="fresh")
    assert wait_result(listener, "fresh")["status"] == "played"
    assert len(results(listener)) == 1
    assert len(kitchen.plays) == 1


def test_tv_input_is_restored(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    bar = sonos.add("Living Room")
    tv = f"x-sonos-htastream:{bar.uid}:spdif"
    bar.set_source(tv)
    bridge_factory()
    request(listener, "sonos/tts", text="Pizza", speaker="Living Room", id="tv")
    assert wait_result(listener, "tv")["status"] == "played"
    bar.wait_until(lambda: bar.transport.uri == tv and bar.state == "PLAYING")


def test_line_in_is_restored(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    den = sonos.add("Den")
    line_in = f"x-rincon-stream:{den.uid}"
    den.set_source(line_in)
    bridge_factory()
    request(listener, "sonos/tts/Den", text="Record player interrupted", id="line")
    assert wait_result(listener, "line")["status"] == "played"
    den.wait_until(lambda: den.transport.uri == line_in and den.state == "PLAYING")


def test_restore_failure_is_reported_in_the_result(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen = sonos.add("Kitchen")
    tracks = [QueueTrack(f"x-file-cifs://nas/music/{n}.mp3", 200.0) for n in range(3)]
    kitchen.load_queue(tracks, track=3, position=10.0)
    kitchen.fail("Seek", 711)
    bridge_factory()
    request(listener, "sonos/tts/Kitchen", text="Hello", id="seek")
    result = wait_result(listener, "seek")
    assert result["status"] == "played"
    assert any("could not resume the queue" in w and "711" in w for w in result["warnings"])


def test_cloud_queue_is_reported_not_crashed(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen = sonos.add("Kitchen")
    kitchen.set_source(f"x-rincon-queue:{kitchen.uid}#6")
    bridge_factory()
    request(listener, "sonos/tts/Kitchen", text="Hello", id="cloud")
    result = wait_result(listener, "cloud")
    assert result["status"] == "played"
    assert any("cannot resume" in w for w in result["warnings"]), result


def test_paused_queue_comes_back_at_its_track_and_position(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen = sonos.add("Kitchen")
    tracks = [QueueTrack(f"x-file-cifs://nas/music/{n}.mp3", 200.0) for n in range(3)]
    kitchen.load_queue(tracks, track=2, position=75.0)
    bridge_factory()
    request(listener, "sonos/tts/Kitchen", text="Hello", id="q")
    assert wait_result(listener, "q")["status"] == "played"
    kitchen.wait_until(lambda: kitchen.transport.uri.startswith("x-rincon-queue:"))
    kitchen.wait_until(lambda: kitchen.transport.track == 2 and kitchen.transport.position == 75.0)
    assert kitchen.state != "PLAYING"  # it was paused: it stays silent


def test_speakers_list_and_home_assistant_discovery(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe, broker: MosquittoBroker
) -> None:
    kitchen = sonos.add("Kitchen")
    living_room = sonos.add("Living Room")
    bridge_factory()
    speakers = json.loads(listener.wait_for("sonos/speakers")[0].payload)
    assert {s["name"] for s in speakers} == {"Kitchen", "Living Room"}
    late = Probe(broker)  # subscribes after the publish: sees the retained copy
    try:
        late.subscribe("sonos/speakers")
        assert late.wait_for("sonos/speakers")[0].retain
    finally:
        late.close()
    topic = f"homeassistant/notify/sonos_bridge/{kitchen.uid.lower()}/config"
    config = json.loads(listener.wait_for(topic)[0].payload)
    assert config["command_topic"] == "sonos/tts/Kitchen"
    assert config["availability"][0]["topic"] == "sonos/status"
    assert config["unique_id"] == f"sonos_bridge_{kitchen.uid}_notify"
    assert config["qos"] == 1 and config["device"]["name"] == "Kitchen"
    listener.wait_for(f"homeassistant/notify/sonos_bridge/{living_room.uid.lower()}/config")
    listener.publish("homeassistant/status", "online")
    listener.wait_for(topic, count=2)
    # Plain text on the command topic is spoken too (Home Assistant sends JSON).
    listener.publish(config["command_topic"], "From Home Assistant")
    listener.wait_for("sonos/result")
    assert results(listener)[0]["status"] == "played"
