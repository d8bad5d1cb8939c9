"""Bad requests and broken speakers: each gets a `failed` result, the bridge keeps serving."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sonos_bridge import cli
from testkit.fakes.harness import request, results, wait_result
from testkit.fakes.speaker import RADIO_URI, FakeSonosSystem
from testkit.support.broker import MosquittoBroker, password_for
from testkit.support.probe import Probe
from tests.integration.sonos.conftest import BridgeFactory

BAD_REQUESTS: list[tuple[str, bytes, str]] = [
    ("sonos/tts/Kitchen", b'{"text": "unterminated', "invalid JSON"),
    ("sonos/tts/Kitchen", b'["a", "list"]', "must be an object"),
    ("sonos/tts/Kitchen", b"", "empty"),
    ("sonos/tts/Kitchen", b"   \n\t ", "empty"),
    ("sonos/tts/Kitchen", b"x" * 201, "limit is 200"),
    ("sonos/tts/Kitchen", b"caf\xe9 ist fertig", "not valid UTF-8"),
    ("sonos/tts/Garage", b"Hello", "unknown speaker 'Garage'"),
    ("sonos/tts/Kitchen", b'{"text": "Hi", "volume": 150}', "outside 0-100"),
    ("sonos/tts/Kitchen", b'{"text": "Hi", "volume": "loud"}', "must be a number"),
    ("sonos/tts/Kitchen", b'{"text": "Hi", "lang": "xx-klingon"}', "unknown language"),
    ("sonos/tts", b'{"text": "Hi"}', "no speaker given"),
]


def test_every_bad_request_is_answered_and_the_bridge_keeps_serving(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen = sonos.add("Kitchen")
    kitchen.play_radio(volume=20)
    bridge_factory(tts_max_chars=200)
    request(listener, "sonos/tts/Kitchen", text="Queued before the bad ones", id="before")
    for topic, payload, _expected in BAD_REQUESTS:
        listener.publish(topic, payload)
    request(listener, "sonos/tts/Kitchen", text="Still serving", id="after")
    listener.wait_for("sonos/result", count=len(BAD_REQUESTS) + 2)
    answers = results(listener)
    failed = [r for r in answers if r["status"] == "failed"]
    for (_topic, payload, expected), result in zip(BAD_REQUESTS, failed, strict=True):
        assert expected in result["error"], (payload, result)
    assert wait_result(listener, "before")["status"] == "played"
    assert wait_result(listener, "after")["status"] == "played"
    assert len(kitchen.plays) == 2


def test_speaker_that_does_not_answer(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen, office = sonos.add("Kitchen"), sonos.add("Office")
    bridge_factory()
    kitchen.stall()
    request(listener, "sonos/tts/Kitchen", text="Anyone there", id="dead")
    request(listener, "sonos/tts/Office", text="Office works", id="alive")
    assert wait_result(listener, "alive")["status"] == "played"
    dead = wait_result(listener, "dead")
    assert dead["status"] == "failed"
    assert "did not answer" in dead["error"], dead
    assert len(office.plays) == 1


def test_speaker_that_answers_a_upnp_error(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen = sonos.add("Kitchen")
    kitchen.play_radio(volume=20)
    kitchen.fail("SetAVTransportURI", 714)
    bridge_factory()
    request(listener, "sonos/tts/Kitchen", text="Refused", volume=60, id="upnp")
    result = wait_result(listener, "upnp")
    assert result["status"] == "failed"
    assert "UPnP error 714" in result["error"], result
    kitchen.wait_until(lambda: kitchen.volume == 20, what="volume restored")
    assert kitchen.transport.uri == RADIO_URI and kitchen.state == "PLAYING"


def test_every_engine_failing(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe, tmp_path: Path
) -> None:
    kitchen = sonos.add("Kitchen")
    bridge = bridge_factory()
    # A real espeak-ng whose encoder is missing: the chain has nothing left to try.
    bridge.synthesizer.engines[0].lame = str(tmp_path / "no-lame")  # type: ignore[attr-defined]
    request(listener, "sonos/tts/Kitchen", text="Nobody can say this", id="mute")
    result = wait_result(listener, "mute")
    assert result["status"] == "failed"
    assert "every TTS engine failed" in result["error"], result
    assert kitchen.plays == []
    assert list((tmp_path / "bridge" / "tts-cache").iterdir()) == []


def test_say_command_prints_the_result_and_exits_0(
    sonos: FakeSonosSystem,
    bridge_factory: BridgeFactory,
    broker: MosquittoBroker,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sonos.add("Kitchen")
    bridge_factory()
    monkeypatch.setenv("MQTT_HOST", broker.host)
    monkeypatch.setenv("MQTT_PORT", str(broker.port))
    monkeypatch.setenv("MQTT_USERNAME", "homeassistant")
    monkeypatch.setenv("MQTT_PASSWORD", password_for("homeassistant"))
    monkeypatch.setenv("STATE_DIR", str(broker.workdir / "say-state"))
    assert cli.main(["say", "Hello from the shell", "--speaker", "Kitchen", "--volume", "30"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["status"] == "played"
    assert cli.main(["say", "Hello", "--speaker", "Garage", "--timeout", "10"]) == 1
    assert "unknown speaker" in json.loads(capsys.readouterr().out)["error"]


def test_say_without_a_running_bridge_exits_3(
    broker: MosquittoBroker, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MQTT_HOST", broker.host)
    monkeypatch.setenv("MQTT_PORT", str(broker.port))
    monkeypatch.setenv("MQTT_USERNAME", "sonos_bridge")
    monkeypatch.setenv("MQTT_PASSWORD", password_for("sonos_bridge"))
    assert cli.main(["say", "Hello", "--speaker", "Kitchen", "--timeout", "0.5"]) == 3
    assert "is sonos-bridge running" in capsys.readouterr().err
