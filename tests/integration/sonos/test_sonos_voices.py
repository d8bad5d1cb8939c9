"""The bridge with Piper and with a hanging Google, end to end over MQTT and a fake speaker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sonos_bridge.audio.speech.engines import EspeakEngine
from testkit.fakes.google_tts import FakeGoogle, running_google
from testkit.fakes.harness import request, wait_result
from testkit.fakes.speaker import FakeSonosSystem
from testkit.support.probe import Probe
from testkit.waits import eventually
from tests.integration.sonos.conftest import BridgeFactory

JOE = "en_US-joe-medium"
TTS_TIMEOUT = 60.0


@pytest.fixture
def google(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeGoogle]:
    recorded = tmp_path / "google.mp3"
    EspeakEngine(timeout=5).synthesize("Google's voice", "en", recorded)
    with running_google(monkeypatch, recorded.read_bytes()) as fake:
        yield fake


def fetched_keys(speaker_plays: list[str]) -> list[str]:
    return [url.rsplit("/", 1)[-1].removesuffix(".mp3") for url in speaker_plays]


def test_google_hanging_the_announcement_is_spoken_locally_and_google_fills_the_cache(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe, google: FakeGoogle
) -> None:
    google.mode = "hang"
    kitchen = sonos.add("Kitchen")
    bridge = bridge_factory(
        tts_engines="gtts,espeak", tts_timeout=TTS_TIMEOUT, tts_online_deadline=0.5
    )
    request(listener, "sonos/tts/Kitchen", text="Dinner is ready", id="hedged")
    result = wait_result(listener, "hedged", timeout=TTS_TIMEOUT / 2)
    assert result["status"] == "played", result
    assert google.held == 1  # played while Google still had not answered
    assert result["latency_ms"] < TTS_TIMEOUT * 1000 / 2
    espeak_voice = bridge.synthesizer.engines[1].voice_for("en")
    espeak_clip = bridge.cache.get("espeak", espeak_voice or "", "Dinner is ready")
    assert espeak_clip is not None and fetched_keys([kitchen.plays[0].url]) == [espeak_clip.key]
    google.answer_held()
    eventually(
        lambda: bridge.cache.get("gtts", "en", "Dinner is ready") is not None,
        "Google's late clip in the cache",
    )
    request(listener, "sonos/tts/Kitchen", text="Dinner is ready", id="again")
    assert wait_result(listener, "again")["status"] == "played"
    gtts_clip = bridge.cache.get("gtts", "en", "Dinner is ready")
    assert gtts_clip is not None and fetched_keys([kitchen.plays[1].url]) == [gtts_clip.key]


def test_piper_voices_by_request_and_clear_errors_for_bad_ones(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen = sonos.add("Kitchen")
    bridge_factory(tts_engines="piper,espeak")
    request(listener, "sonos/tts/Kitchen", text="Natural voice", voice=JOE, id="named")
    request(listener, "sonos/tts/Kitchen", text="Hi", voice="nobody", id="unknown")
    request(listener, "sonos/tts/Kitchen", text="Hallo", voice=JOE, lang="de", id="mismatch")
    request(listener, "sonos/tts/Kitchen", text="Hi", voice=["x"], id="not-a-name")
    request(listener, "sonos/tts/Kitchen", text="Bonjour", lang="fr", id="french")
    assert wait_result(listener, "named")["status"] == "played"
    unknown = wait_result(listener, "unknown")
    assert unknown["status"] == "failed"
    assert unknown["error"] == f"unknown voice 'nobody' (voices: {JOE})"
    assert wait_result(listener, "mismatch")["error"] == f"voice '{JOE}' speaks en-us, not 'de'"
    assert '"voice" must be a voice name' in wait_result(listener, "not-a-name")["error"]
    assert wait_result(listener, "french")["status"] == "played"  # espeak speaks French
    assert len(kitchen.plays) == 2 and all(play.ok for play in kitchen.plays)
