"""The S2 clip client against fake S2 speakers over real TLS WebSockets.

Each failure kind must come out as the exception that tells the caller what to do:
`ClipUnavailableError` (nothing was heard: fall back to takeover) or `ClipPlaybackError`
(the clip started: report it failed, never replay it).
"""

from __future__ import annotations

import threading

import pytest

from sonos_bridge.playback.clip.errors import (
    ClipLoadError,
    ClipPlaybackError,
    ClipTimeoutError,
    ClipUnavailableError,
    NoClipSupportError,
    S2CommandError,
)
from sonos_bridge.playback.clip.player import ClipOptions, ClipPlayed, ClipPlayer, ClipRequest
from sonos_bridge.playback.clip.protocol import Priority
from testkit.fakes.s2 import DEFAULT_CAPABILITIES, FakeS2Player, S2Profile, stereo_pair, with_sub
from testkit.fakes.speaker import FakeSonosSystem
from tests.integration.clip.conftest import PROBE_WAIT, AudioFiles, PlayerFactory


def speech(audio: AudioFiles, ip: str, seconds: float = 1.0, **options: object) -> ClipRequest:
    clip = audio.mp3(seconds)
    return ClipRequest("Announcement", audio.url(clip, ip), clip.duration, **options)  # type: ignore[arg-type]


class BackgroundClip:
    """A long clip playing on another thread, which the test expects to end early."""

    def __init__(self, player: ClipPlayer, speaker: FakeS2Player, request: ClipRequest) -> None:
        self.failures: list[ClipPlaybackError] = []
        self._thread = threading.Thread(target=self._play, args=(player, speaker.ip, request))
        self._thread.start()
        speaker.wait_until(lambda: any(c.status == "ACTIVE" for c in speaker.clips), what="ACTIVE")

    def _play(self, player: ClipPlayer, ip: str, request: ClipRequest) -> None:
        try:
            player.play(ip, request)
        except ClipPlaybackError as exc:
            self.failures.append(exc)

    def outcome(self) -> list[str]:
        self._thread.join(10)
        return [str(failure) for failure in self.failures]


def test_a_clip_plays_to_done_with_the_requested_volume_and_priority(
    s2_player: PlayerFactory, audio: AudioFiles, clip_player: ClipPlayer
) -> None:
    kitchen = s2_player("Kitchen")
    request = speech(audio, kitchen.ip, volume=35, priority=Priority.HIGH)

    played = clip_player.play(kitchen.ip, request)

    assert isinstance(played, ClipPlayed)
    assert played.loaded_at <= played.active_at <= played.ended_at
    [clip] = kitchen.clips
    assert clip.statuses == ["ACTIVE", "DONE"]
    assert (clip.volume, clip.priority, clip.clip_type) == (35, "HIGH", "CUSTOM")
    assert clip.stream_url == request.url
    assert clip.fetch is not None and clip.fetch.kind == "mp3" and not clip.fetch.error
    [(load_header, _body)] = kitchen.commands_named("loadAudioClip")
    assert load_header["playerId"] == kitchen.player_id


def test_the_connection_is_kept_for_the_next_clip(
    s2_player: PlayerFactory, audio: AudioFiles, clip_player: ClipPlayer
) -> None:
    kitchen = s2_player("Kitchen")
    for _ in range(3):
        clip_player.play(kitchen.ip, speech(audio, kitchen.ip))
    assert kitchen.handshakes == 1
    assert len(kitchen.commands_named("getGroups")) == 1
    assert len(kitchen.commands_named("subscribe")) == 1


def test_the_built_in_chime_is_loaded_without_a_url(
    s2_player: PlayerFactory, clip_player: ClipPlayer
) -> None:
    kitchen = s2_player("Kitchen")
    clip_player.play(kitchen.ip, ClipRequest("Chime", None, 0.5))
    [clip] = kitchen.clips
    assert (clip.clip_type, clip.stream_url, clip.status) == ("CHIME", None, "DONE")


def test_a_chime_then_speech_play_in_turn_without_cutting_the_chime(
    s2_player: PlayerFactory, audio: AudioFiles, clip_player: ClipPlayer
) -> None:
    kitchen = s2_player("Kitchen")
    chime = ClipRequest("Chime", None, 0.5)
    played = clip_player.play_in_turn(kitchen.ip, [chime, speech(audio, kitchen.ip)])
    chime_clip, speech_clip = kitchen.clips
    assert chime_clip.statuses == ["ACTIVE", "DONE"]  # a LOW speech clip would interrupt it
    assert (chime_clip.clip_type, speech_clip.clip_type) == ("CHIME", "CUSTOM")
    # The sequence's latency ends when the chime starts, not the speech (one clock here).
    assert chime_clip.active_at is not None and speech_clip.active_at is not None
    assert chime_clip.active_at <= played.active_at < speech_clip.active_at


def test_speech_that_fails_after_the_chime_played_is_not_replayed(
    s2_player: PlayerFactory, audio: AudioFiles, clip_player: ClipPlayer
) -> None:
    kitchen = s2_player("Kitchen")
    missing = f"http://127.0.0.1:{audio.server.port}/tts/{'0' * 32}.mp3"
    with pytest.raises(ClipPlaybackError, match=r"^Chime played, then: the clip failed before"):
        clip_player.play_in_turn(
            kitchen.ip, [ClipRequest("Chime", None, 0.5), ClipRequest("x", missing, 1.0)]
        )


def test_an_s1_speaker_without_port_1443_is_unavailable(clip_player: ClipPlayer) -> None:
    support = clip_player.support("127.0.9.254")  # nothing listens there
    assert not support.supported
    assert support.unavailable is not None and "connection refused" in support.unavailable
    with pytest.raises(NoClipSupportError):
        clip_player.play("127.0.9.254", ClipRequest("x", None, 0.5))


def test_a_refused_api_key_is_unavailable_with_the_reason(
    s2_player: PlayerFactory, clip_player: ClipPlayer
) -> None:
    kitchen = s2_player("Kitchen", S2Profile(api_key="another-key"))
    support = clip_player.support(kitchen.ip)
    assert support.unavailable == (
        "port 1443 refused the API key (HTTP 400, ERROR_API_KEY_VALIDATION_FAILED)"
    )


@pytest.mark.parametrize(
    ("profile", "reason"),
    [
        (
            S2Profile(capabilities=("PLAYBACK", "CLOUD")),
            "no AUDIO_CLIP capability",
        ),
        (
            S2Profile(model="Play:1"),
            "model Play:1 is on the clip deny list (SONOS_CLIP_DENY_MODELS)",
        ),
        (
            S2Profile(**stereo_pair()),
            "a stereo pair plays a clip on one side only",
        ),
    ],
    ids=["no-capability", "denied-model", "stereo-pair"],
)
def test_speakers_that_would_not_leave_the_music_alone_are_unavailable(
    s2_player: PlayerFactory, clip_player: ClipPlayer, profile: S2Profile, reason: str
) -> None:
    speaker = s2_player("Living Room", profile)
    assert clip_player.support(speaker.ip).unavailable == reason
    with pytest.raises(NoClipSupportError) as refused:
        clip_player.play(speaker.ip, ClipRequest("x", None, 0.5))
    assert str(refused.value) == reason
    assert speaker.commands_named("loadAudioClip") == []


def test_a_home_theatre_set_plays_clips_and_an_empty_deny_list_allows_a_play1(
    s2_player: PlayerFactory,
) -> None:
    beam = s2_player(
        "TV",
        S2Profile(
            capabilities=(*DEFAULT_CAPABILITIES, "HT_PLAYBACK"),
            **with_sub(),
        ),
    )
    play1 = s2_player("Bath", S2Profile(model="Play:1"))
    player = ClipPlayer(ClipOptions(timeout=2.0, deny_models=(), probe_wait=PROBE_WAIT))
    try:
        assert player.support(beam.ip).supported
        assert player.support(play1.ip).supported
    finally:
        player.close()


def test_a_global_error_on_load_is_unavailable_and_remembered_until_refresh(
    s2_player: PlayerFactory, audio: AudioFiles, clip_player: ClipPlayer
) -> None:
    kitchen = s2_player("Kitchen", S2Profile(load_error="ERROR_COMMAND_FAILED"))
    with pytest.raises(S2CommandError, match="loadAudioClip was refused with ERROR_COMMAND_FAILED"):
        clip_player.play(kitchen.ip, speech(audio, kitchen.ip))
    # The next request goes straight to the fallback: no second attempt, one log line.
    with pytest.raises(NoClipSupportError, match="ERROR_COMMAND_FAILED"):
        clip_player.play(kitchen.ip, speech(audio, kitchen.ip))
    assert len(kitchen.commands_named("loadAudioClip")) == 1
    assert clip_player.refresh([kitchen.ip])[kitchen.ip].supported


def test_an_error_before_the_clip_started_is_unavailable(
    s2_player: PlayerFactory, audio: AudioFiles, clip_player: ClipPlayer
) -> None:
    kitchen = s2_player("Kitchen", S2Profile(play_error="ERROR_AUDIO_CLIP_DO_NOT_DISTURB"))
    with pytest.raises(ClipLoadError, match="ERROR_AUDIO_CLIP_DO_NOT_DISTURB") as caught:
        clip_player.play(kitchen.ip, speech(audio, kitchen.ip))
    assert isinstance(caught.value, ClipUnavailableError)


def test_an_unanswered_load_fails_without_falling_back(
    s2_player: PlayerFactory, audio: AudioFiles
) -> None:
    kitchen = s2_player("Kitchen", S2Profile(load_hangs=True))
    player = ClipPlayer(ClipOptions(timeout=0.3, probe_wait=PROBE_WAIT))
    try:
        # The speaker may still play it: a takeover now could play the announcement twice.
        with pytest.raises(ClipPlaybackError, match=r"no answer to loadAudioClip within 0\.3 s"):
            player.play(kitchen.ip, speech(audio, kitchen.ip))
    finally:
        player.close()


def test_a_clip_the_speaker_cannot_fetch_is_a_load_error(
    s2_player: PlayerFactory, audio: AudioFiles, clip_player: ClipPlayer
) -> None:
    kitchen = s2_player("Kitchen")
    missing = f"http://127.0.0.1:{audio.server.port}/tts/{'0' * 32}.mp3"
    with pytest.raises(ClipLoadError, match="ERROR_AUDIO_CLIP_MEDIA_ERROR"):
        clip_player.play(kitchen.ip, ClipRequest("x", missing, 1.0))
    [clip] = kitchen.clips
    assert clip.fetch is not None and "404" in clip.fetch.error


def test_a_high_priority_clip_interrupts_a_low_one(
    s2_player: PlayerFactory, audio: AudioFiles, clip_player: ClipPlayer
) -> None:
    kitchen = s2_player("Kitchen")
    low = BackgroundClip(clip_player, kitchen, speech(audio, kitchen.ip, 60.0))
    clip_player.play(kitchen.ip, speech(audio, kitchen.ip, priority=Priority.HIGH))

    [error] = low.outcome()
    assert error.startswith("interrupted by another audio clip after")
    assert [c.statuses for c in kitchen.clips] == [["ACTIVE", "INTERRUPTED"], ["ACTIVE", "DONE"]]


def test_a_low_clip_waits_behind_a_high_one_and_times_out_if_it_never_starts(
    s2_player: PlayerFactory, audio: AudioFiles
) -> None:
    kitchen = s2_player("Kitchen")
    player = ClipPlayer(ClipOptions(timeout=0.5, margin=0.5, probe_wait=PROBE_WAIT))
    high = BackgroundClip(player, kitchen, speech(audio, kitchen.ip, 60.0, priority=Priority.HIGH))
    try:
        with pytest.raises(ClipTimeoutError, match="did not start"):
            player.play(kitchen.ip, speech(audio, kitchen.ip))
        # The waiting clip is cancelled so that it cannot start after the bridge gave up.
        kitchen.wait_until(lambda: kitchen.clips[1].status == "DISMISSED", what="cancel")
    finally:
        kitchen.close()  # ends the HIGH clip: its connection drops
        high.outcome()
        player.close()


def test_a_speaker_that_drops_mid_clip_fails_the_clip(
    s2_player: PlayerFactory, audio: AudioFiles, clip_player: ClipPlayer
) -> None:
    kitchen = s2_player("Kitchen")
    clip = BackgroundClip(clip_player, kitchen, speech(audio, kitchen.ip, 60.0))
    kitchen.close()
    assert clip.outcome() == ["the connection closed while the clip played"]


def test_a_restarted_speaker_is_reconnected_on_the_next_clip(
    sonos: FakeSonosSystem, s2_player: PlayerFactory, audio: AudioFiles, clip_player: ClipPlayer
) -> None:
    kitchen = s2_player("Kitchen")
    clip_player.play(kitchen.ip, speech(audio, kitchen.ip))
    again = sonos.restart("Kitchen").s2
    assert again is not None
    clip_player.play(kitchen.ip, speech(audio, kitchen.ip))
    assert [c.status for c in again.clips] == ["DONE"]


def test_several_speakers_play_in_parallel_and_each_reports_its_own_outcome(
    s2_player: PlayerFactory, audio: AudioFiles, clip_player: ClipPlayer
) -> None:
    speakers = [s2_player(name) for name in ("Kitchen", "Office", "Bath")]
    denied = s2_player("Hall", S2Profile(model="Play:1"))
    clip = audio.mp3(20.0)  # 1 s at SPEED: long enough to overlap on a busy machine
    request = ClipRequest("All", audio.url(clip, speakers[0].ip), clip.duration)

    outcomes = clip_player.play_many({s.ip: [request] for s in [*speakers, denied]})

    for speaker in speakers:
        assert isinstance(outcomes[speaker.ip], ClipPlayed)
        assert [c.status for c in speaker.clips] == ["DONE"]
    assert isinstance(outcomes[denied.ip], NoClipSupportError)
    starts = [outcomes[s.ip].active_at for s in speakers]  # type: ignore[union-attr]
    ends = [outcomes[s.ip].ended_at for s in speakers]  # type: ignore[union-attr]
    assert max(starts) < min(ends)  # every clip started before any had finished


def test_refresh_forgets_speakers_that_left_and_closes_their_connection(
    s2_player: PlayerFactory, audio: AudioFiles, clip_player: ClipPlayer
) -> None:
    kitchen = s2_player("Kitchen")
    office = s2_player("Office")
    clip_player.play(kitchen.ip, speech(audio, kitchen.ip))
    verdicts = clip_player.refresh([office.ip])
    assert list(verdicts) == [office.ip] and verdicts[office.ip].supported
    kitchen.wait_until(lambda: kitchen.open_connections == 0, what="the bridge to hang up")
