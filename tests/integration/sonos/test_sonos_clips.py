"""Announcements as audio clips: the real bridge, a real broker, fake S1 and S2 speakers.

The S2 fakes serve the WebSocket API on 1443 with TLS and the key check, fetch and decode
each clip from the bridge's audio server and report ACTIVE, then DONE after its length;
their UPnP side records every call, so "the music is left alone" is checked as the
absence of any transport, grouping or volume call.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from sonos_bridge.ha_discovery import COMMAND_TEMPLATE
from sonos_bridge.playback.clip.player import ClipOptions, ClipPlayer, ClipRequest
from sonos_bridge.playback.clip.protocol import Priority
from testkit.fakes.harness import LONG_TEXT, radio_back, request, results, wait_result
from testkit.fakes.s2 import S2Profile, stereo_pair
from testkit.fakes.speaker import RADIO_URI, FakeSonosSystem, FakeSpeaker
from testkit.support.broker import free_port
from testkit.support.probe import Probe
from testkit.support.sound_server import SoundServer
from tests.integration.sonos.conftest import BridgeFactory

SPOTIFY_URI = "x-sonos-vli:RINCON_FAKE01400:1,spotify:e934941535d7b182815bf684f5a2fc17"
# What would change the music, the group or the levels: never sent in clip mode.
TOUCHING = (
    "SetAVTransportURI",
    "Play",
    "Pause",
    "Stop",
    "Seek",
    "SetVolume",
    "SetMute",
    "SetPlayMode",
    "BecomeCoordinatorOfStandaloneGroup",
)
S2 = S2Profile()


def untouched(*speakers: FakeSpeaker) -> None:
    for speaker in speakers:
        calls = [a.action for a in speaker.actions if a.action in TOUCHING]
        assert calls == [], f"{speaker.name} got {calls}"


def clips_of(speaker: FakeSpeaker) -> list[str]:
    """Each clip the speaker played, as "TYPE:final status" (none on an S1 speaker)."""
    clips = speaker.s2.clips if speaker.s2 is not None else []
    return [f"{clip.clip_type}:{clip.status}" for clip in clips]


def test_a_clip_plays_over_spotify_and_leaves_it_alone(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen = sonos.add("Kitchen", s2=S2)
    kitchen.set_source(SPOTIFY_URI)
    bridge_factory()
    sent = time.monotonic()
    request(listener, "sonos/tts/Kitchen", text=LONG_TEXT, volume=45, id="spotify")
    result = wait_result(listener, "spotify", timeout=30)
    assert kitchen.s2 is not None
    [clip] = kitchen.s2.clips
    assert result["status"] == "played", result
    assert clip.statuses == ["ACTIVE", "DONE"]
    assert (clip.volume, clip.priority, clip.clip_type) == (45, "LOW", "CUSTOM")
    assert clip.fetch is not None and clip.fetch.kind == "mp3" and clip.fetch.ok
    # The latency runs to ACTIVE (the clip lasts about a second here, to DONE).
    assert clip.active_at is not None and clip.ended_at is not None
    assert result["latency_ms"] <= (clip.active_at - sent) * 1000 + 1
    assert clip.ended_at - clip.active_at > 0.5
    assert (kitchen.transport.uri, kitchen.state, kitchen.volume) == (SPOTIFY_URI, "PLAYING", 20)
    untouched(kitchen)
    assert kitchen.events.subscribers == 0  # not even an event subscription


def test_a_group_plays_its_clips_on_every_member_at_once(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    living, kitchen = sonos.add("Living Room", s2=S2), sonos.add("Kitchen", s2=S2)
    office = sonos.add("Office", s2=S2)
    sonos.household.group(living, kitchen)
    living.play_radio(volume=25)
    bridge_factory()
    # Not in step (SONOS_SYNC=all would join the rooms): a clip on every member at once.
    request(
        listener, "sonos/tts", text=LONG_TEXT, speaker="all", priority="high", sync=False, id="all"
    )
    result = wait_result(listener, "all", timeout=30)
    assert result["status"] == "played", result
    assert sorted(result["speakers"]) == ["Kitchen", "Living Room", "Office"]
    clips = [s.s2.clips[0] for s in (living, kitchen, office) if s.s2 is not None]
    assert [(c.status, c.priority) for c in clips] == [("DONE", "HIGH")] * 3
    starts = [c.active_at for c in clips if c.active_at is not None]
    ends = [c.ended_at for c in clips if c.ended_at is not None]
    assert max(starts) < min(ends)  # every clip started before any had ended
    untouched(living, kitchen, office)
    assert living.transport.uri == RADIO_URI and living.state == "PLAYING"


@pytest.mark.parametrize(
    ("profile", "reason"),
    [
        (None, "port 1443 is not reachable (connection refused)"),
        (S2Profile(capabilities=("PLAYBACK", "CLOUD")), "no AUDIO_CLIP capability"),
        (S2Profile(model="Play:1"), "model Play:1 is on the clip deny list"),
        (S2Profile(**stereo_pair()), "a stereo pair plays a clip"),
        (S2Profile(api_key="another"), "port 1443 refused the API key (HTTP 400"),
        (S2Profile(load_error="ERROR_COMMAND_FAILED"), "refused with ERROR_COMMAND_FAILED"),
        (S2Profile(play_error="ERROR_CORRUPT_FILE"), "before it started (ERROR_CORRUPT_FILE"),
    ],
    ids=["s1", "no-capability", "play1", "stereo-pair", "wrong-key", "global-error", "error"],
)
def test_a_speaker_that_cannot_play_the_clip_is_taken_over_and_says_why_once(
    sonos: FakeSonosSystem,
    bridge_factory: BridgeFactory,
    listener: Probe,
    caplog: pytest.LogCaptureFixture,
    *,
    profile: S2Profile | None,
    reason: str,
) -> None:
    caplog.set_level(logging.INFO, logger="sonos_bridge.playback.clip.player")
    kitchen = sonos.add("Kitchen", s2=profile)
    kitchen.play_radio(volume=20)
    bridge_factory()
    for number in range(2):
        request(listener, "sonos/tts/Kitchen", text="Dinner is ready", volume=40, id=f"f{number}")
        assert wait_result(listener, f"f{number}")["status"] == "played"
        radio_back(kitchen)
    assert [play.ok for play in kitchen.plays] == [True, True]  # both by takeover
    said = [r.getMessage() for r in caplog.records if "cannot play audio clips" in r.getMessage()]
    assert len(said) == 1 and reason in said[0], said
    loads = kitchen.s2.commands_named("loadAudioClip") if kitchen.s2 else []
    assert len(loads) <= 1  # a failed load is not tried again before the next refresh


def test_after_a_load_error_the_next_refresh_tries_clips_again(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen = sonos.add("Kitchen", s2=S2Profile(load_error="ERROR_COMMAND_FAILED"))
    bridge = bridge_factory()
    request(listener, "sonos/tts/Kitchen", text="Dinner is ready", id="before")
    assert wait_result(listener, "before")["status"] == "played"
    assert kitchen.s2 is not None
    kitchen.s2.profile = S2  # the firmware is fine again
    bridge.refresh_speakers()
    request(listener, "sonos/tts/Kitchen", text="Dinner is ready", id="after")
    assert wait_result(listener, "after")["status"] == "played"
    assert len(kitchen.plays) == 1 and clips_of(kitchen) == ["CUSTOM:DONE"]


def test_a_group_with_an_s1_member_is_taken_over_once(
    sonos: FakeSonosSystem,
    bridge_factory: BridgeFactory,
    listener: Probe,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="sonos_bridge.playback.chooser")
    living, kitchen = sonos.add("Living Room", s2=S2), sonos.add("Kitchen")
    sonos.household.group(living, kitchen)
    living.play_radio(volume=20)
    bridge_factory()
    request(listener, "sonos/tts/Living Room", text="Dinner is ready", id="mixed")
    assert wait_result(listener, "mixed")["status"] == "played"
    radio_back(living)
    assert len(living.plays) == 1 and clips_of(living) == []  # never heard twice
    assert "Kitchen cannot play audio clips" in caplog.text


def test_all_speakers_mixed_play_each_their_own_way_with_one_result(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen, office = sonos.add("Kitchen", s2=S2), sonos.add("Office")
    office.play_radio(volume=20)
    bridge_factory()
    request(listener, "sonos/tts", text="Dinner is ready", speaker="all", sync=False, id="both")
    assert wait_result(listener, "both")["status"] == "played"
    radio_back(office)
    assert clips_of(kitchen) == ["CUSTOM:DONE"] and kitchen.plays == []
    assert clips_of(office) == [] and len(office.plays) == 1
    untouched(kitchen)


def test_clip_mode_always_fails_an_s1_speaker_and_a_request_may_choose(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen, office = sonos.add("Kitchen", s2=S2), sonos.add("Office")
    bridge_factory(sonos_clip_mode="always")
    request(listener, "sonos/tts/Office", text="Dinner is ready", id="always")
    refused = wait_result(listener, "always")
    assert refused["status"] == "failed"
    assert refused["error"] == (
        "Office cannot play audio clips: port 1443 is not reachable (connection refused); "
        "SONOS_CLIP_MODE=always allows no takeover"
    )
    assert office.plays == []
    request(listener, "sonos/tts/Office", text="Dinner is ready", mode="takeover", id="mine")
    assert wait_result(listener, "mine")["status"] == "played"
    request(listener, "sonos/tts/Kitchen", text="Dinner is ready", mode="takeover", id="tk")
    assert wait_result(listener, "tk")["status"] == "played"
    assert len(office.plays) == 1 and len(kitchen.plays) == 1 and clips_of(kitchen) == []


def test_clip_mode_never_takes_over_unless_a_request_asks_for_a_clip(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen = sonos.add("Kitchen", s2=S2)
    sonos.add("Office")
    bridge_factory(sonos_clip_mode="never")
    request(listener, "sonos/tts/Kitchen", text="Dinner is ready", id="never")
    assert wait_result(listener, "never")["status"] == "played"
    request(listener, "sonos/tts/Kitchen", text="Dinner is ready", mode="clip", id="clip")
    assert wait_result(listener, "clip")["status"] == "played"
    assert len(kitchen.plays) == 1 and clips_of(kitchen) == ["CUSTOM:DONE"]
    request(listener, "sonos/tts/Office", text="Dinner is ready", mode="clip", id="s1")
    refused = wait_result(listener, "s1")
    assert refused["status"] == "failed" and refused["error"].endswith(
        'the request\'s "mode": "clip" allows no takeover'
    )


def test_a_clip_interrupted_by_a_higher_priority_one_fails_and_says_so(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen = sonos.add("Kitchen", s2=S2)
    bridge_factory()
    request(listener, "sonos/tts/Kitchen", text=LONG_TEXT, id="low")
    assert kitchen.s2 is not None
    kitchen.s2.wait_until(lambda: clips_of(kitchen) == ["CUSTOM:ACTIVE"], what="ACTIVE")
    doorbell = ClipPlayer(ClipOptions(timeout=2.0))  # another app, e.g. a doorbell's
    try:
        doorbell.play(kitchen.ip, ClipRequest("Doorbell", None, 1.0, priority=Priority.HIGH))
    finally:
        doorbell.close()
    result = wait_result(listener, "low")
    assert result["status"] == "failed"
    assert result["error"].startswith("interrupted by another audio clip after "), result
    assert clips_of(kitchen) == ["CUSTOM:INTERRUPTED", "CHIME:DONE"]


def test_the_chime_is_the_speakers_own_in_clip_mode_and_joined_in_takeover_mode(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen, office = sonos.add("Kitchen", s2=S2), sonos.add("Office")
    bridge_factory()
    request(listener, "sonos/tts/Office", text="Dinner is ready", id="plain")
    assert wait_result(listener, "plain")["status"] == "played"
    for speaker in ("Kitchen", "Office"):
        request(listener, f"sonos/tts/{speaker}", text="Dinner is ready", chime=True, id=speaker)
        assert wait_result(listener, speaker)["status"] == "played"
    assert kitchen.s2 is not None
    chime, speech = kitchen.s2.clips
    assert (chime.clip_type, chime.stream_url, chime.statuses) == (
        "CHIME",
        None,
        ["ACTIVE", "DONE"],
    )
    assert chime.ended_at is not None and speech.active_at is not None
    assert chime.ended_at <= speech.active_at  # the speech waits for the chime
    plain, chimed = office.plays
    assert chimed.url != plain.url  # one MP3: the bridge's chime, then the speech
    assert 0.8 < chimed.duration - plain.duration < 1.6
    untouched(kitchen)


def test_chime_sound_and_sounds_play_before_the_speech_in_both_modes(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe, sounds_dir: Path
) -> None:
    kitchen, office = sonos.add("Kitchen", s2=S2), sonos.add("Office")
    bridge = bridge_factory(sounds_dir=sounds_dir, chime_sound="gong")
    request(listener, "sonos/tts/Kitchen", text="Dinner is ready", chime=True, id="gong")
    request(listener, "sonos/tts/Kitchen", sound="doorbell", id="bell")
    request(listener, "sonos/tts/Kitchen", sound="doorbell", text="Someone is there", id="both")
    request(listener, "sonos/tts/Office", sound="doorbell", text="Someone is there", id="office")
    for request_id in ("gong", "bell", "both", "office"):
        assert wait_result(listener, request_id)["status"] == "played"
    gong, doorbell = bridge.sounds.named("gong"), bridge.sounds.named("doorbell")
    dinner = bridge.synthesizer.cached("Dinner is ready", "en")
    someone = bridge.synthesizer.cached("Someone is there", "en")
    assert dinner is not None and someone is not None
    assert kitchen.s2 is not None
    fetched = [(c.stream_url or "").rsplit("/", 1)[-1] for c in kitchen.s2.clips]
    heard = [gong, dinner, doorbell, doorbell, someone]
    assert fetched == [clip.file_name for clip in heard]
    assert clips_of(kitchen) == ["CUSTOM:DONE"] * 5
    [joined] = office.plays  # the doorbell, then the speech, as one MP3
    assert abs(joined.duration - (doorbell.duration + someone.duration)) < 0.15
    untouched(kitchen)


def test_a_sound_url_is_fetched_by_the_bridge_and_served_like_speech(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe, tmp_path: Path
) -> None:
    kitchen = sonos.add("Kitchen", s2=S2)
    bridge = bridge_factory()
    with SoundServer(tmp_path, 1024 * 1024) as server:
        request(listener, "sonos/tts/Kitchen", sound_url=server.url("bell.wav"), id="url")
        assert wait_result(listener, "url")["status"] == "played"
        assert server.requests == ["bell.wav"]
    assert kitchen.s2 is not None
    [clip] = kitchen.s2.clips
    assert clip.stream_url is not None
    assert clip.stream_url.startswith(f"http://127.0.0.1:{bridge.audio.port}/tts/")
    assert clip.fetch is not None and clip.fetch.kind == "mp3"  # the WAV, checked and encoded


def test_every_bad_sound_is_refused_with_its_reason_and_the_bridge_carries_on(
    sonos: FakeSonosSystem,
    bridge_factory: BridgeFactory,
    listener: Probe,
    sounds_dir: Path,
    tmp_path: Path,
) -> None:
    kitchen = sonos.add("Kitchen", s2=S2)
    (sounds_dir / "broken.mp3").write_bytes(b"ID3 but nothing after it")
    bridge_factory(sounds_dir=sounds_dir, sound_max_mb=0.05, sound_fetch_timeout=1.0)
    with SoundServer(tmp_path, 100_000) as server:
        bad = {
            "name": ({"sound": "nosuch"}, "no sound 'nosuch' in SOUNDS_DIR (found: broken,"),
            "path": ({"sound": "../secret"}, '"sound" must name a sound file in SOUNDS_DIR'),
            "both": ({"sound": "gong", "sound_url": server.url("bell.mp3")}, "not both"),
            "chime": ({"text": "Hi", "chime": "nosuch"}, "no sound 'nosuch' in SOUNDS_DIR"),
            "broken": ({"sound": "broken"}, "not MP3 or WAV audio"),
            "scheme": ({"sound_url": "file:///etc/passwd"}, "must be an http:// or https:// URL"),
            "404": ({"sound_url": server.url("gone.mp3")}, "sound_url answered HTTP 404"),
            "html": ({"sound_url": server.url("page.html")}, "not MP3 or WAV audio"),
            "huge": ({"sound_url": server.url("declared-huge")}, "larger than 0.05 MB"),
            "slow": ({"sound_url": server.url("slow")}, "took longer than 1 s"),
            "refused": (
                {"sound_url": f"http://127.0.0.1:{free_port()}/bell.mp3"},
                "sound_url: cannot fetch from 127.0.0.1 (connection refused)",
            ),
        }
        for request_id, (body, _error) in bad.items():
            request(listener, "sonos/tts/Kitchen", id=request_id, **body)
        request(listener, "sonos/tts/Kitchen", sound="doorbell", id="good")
        assert wait_result(listener, "good", timeout=30)["status"] == "played"
    for request_id, (_body, error) in bad.items():
        result = wait_result(listener, request_id)
        assert result["status"] == "failed" and error in result["error"], result
    assert clips_of(kitchen) == ["CUSTOM:DONE"]  # only the good one reached the speaker
    answered = [r["id"] for r in results(listener)]
    assert answered.index("refused") < answered.index("good")  # in order, none overtaken


def test_home_assistants_notify_entity_plays_a_clip(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen = sonos.add("Kitchen", s2=S2)
    kitchen.play_radio()
    bridge = bridge_factory()
    [speaker] = bridge.registry.all()
    [message] = listener.wait_for(bridge.discovery.topic_for(speaker))
    config = json.loads(message.payload)
    assert config["command_template"] == COMMAND_TEMPLATE
    # Home Assistant renders the template with the message as `value`:
    listener.publish(config["command_topic"], json.dumps({"text": "The washer is done"}))
    kitchen.wait_until(lambda: bool(clips_of(kitchen)), what="a clip")
    assert kitchen.s2 is not None
    kitchen.s2.wait_until(lambda: clips_of(kitchen) == ["CUSTOM:DONE"], what="DONE")
    untouched(kitchen)
    assert kitchen.transport.uri == RADIO_URI and kitchen.state == "PLAYING"


def test_the_first_announcement_after_start_never_waits_out_a_probe(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    # A probe step may take SONOS_TIMEOUT (30 s here): had the first announcements waited for
    # the probes, their results would come long after wait_result gives up.
    hall = sonos.add("Hall", s2=S2Profile(silent=True))  # takes connections, never answers
    den = sonos.add("Den", s2=S2Profile(answer_delay=0.5))  # a probe takes 1.5 s or more
    for speaker in (hall, den):
        speaker.play_radio(volume=20)
    bridge = bridge_factory(wait_for_probes=False, sonos_timeout=30.0)
    for name in ("Hall", "Den"):
        request(listener, f"sonos/tts/{name}", text="Dinner is ready", id=f"first-{name}")
    for name, speaker in (("Hall", hall), ("Den", den)):
        assert wait_result(listener, f"first-{name}")["status"] == "played"
        radio_back(speaker)
    assert [len(hall.plays), len(den.plays), clips_of(den)] == [1, 1, []]  # by takeover

    den_support = bridge.clip_player.support(den.ip, wait=bridge.clip_player.full_probe_wait)
    assert den_support.supported  # the slow speaker answered in the background meanwhile
    request(listener, "sonos/tts/Den", text="Dinner is ready", id="warm-Den")
    assert wait_result(listener, "warm-Den")["status"] == "played"
    assert clips_of(den) == ["CUSTOM:DONE"] and len(den.plays) == 1


def test_a_momentary_refusal_takes_over_that_announcement_only(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen = sonos.add(
        "Kitchen", s2=S2Profile(play_error="ERROR_AUDIO_CLIP_VOICE_ASSISTANT_PLAYING")
    )
    kitchen.play_radio(volume=20)
    bridge_factory()
    request(listener, "sonos/tts/Kitchen", text="Dinner is ready", id="busy")
    assert wait_result(listener, "busy")["status"] == "played"
    radio_back(kitchen)
    assert kitchen.s2 is not None and len(kitchen.plays) == 1  # taken over
    kitchen.s2.profile = S2  # the voice assistant has finished; no refresh in between
    request(listener, "sonos/tts/Kitchen", text="Dinner is ready", id="free")
    assert wait_result(listener, "free")["status"] == "played"
    assert len(kitchen.plays) == 1
    assert clips_of(kitchen) == ["CUSTOM:ERROR", "CUSTOM:DONE"]
