"""Capability probes against fake S2 speakers answering in the captured shapes.

The ids come from local/info (falling back to the empty command), probes run in the
background and an announcement waits for one at most `probe_wait`, both names of the clip
event are followed, and a momentary refusal keeps clips on for the next announcement.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from sonos_bridge.playback.clip.capability import Reach
from sonos_bridge.playback.clip.connection import S2Connection
from sonos_bridge.playback.clip.errors import ClipLoadError, ClipTimeoutError, S2CommandError
from sonos_bridge.playback.clip.player import ClipOptions, ClipPlayer
from testkit.fakes.s2 import INFO_PATH, S2Profile, stereo_pair, with_sub
from tests.integration.clip.conftest import PROBE_WAIT, AudioFiles, PlayerFactory
from tests.integration.clip.test_clip_player import speech

VOICE_ASSISTANT = "ERROR_AUDIO_CLIP_VOICE_ASSISTANT_PLAYING"


@pytest.fixture
def impatient() -> Iterator[ClipPlayer]:
    """A player whose announcements never wait for a probe (probe_wait 0)."""
    player = ClipPlayer(ClipOptions(timeout=1.0, margin=2.0, probe_wait=0.0))
    try:
        yield player
    finally:
        player.close()


def test_the_ids_and_model_come_from_local_info_and_no_empty_command_is_sent(
    s2_player: PlayerFactory, clip_player: ClipPlayer
) -> None:
    kitchen = s2_player("Kitchen", S2Profile(model="One SL"))
    support = clip_player.support(kitchen.ip)
    assert support.supported and support.capability is not None
    assert support.capability.ids_from == "local/info"
    assert (support.player_id, support.model) == (kitchen.player_id, "One SL")
    headers = [header for header, _body in kitchen.commands]
    assert headers[0] == {"path": INFO_PATH}
    assert not any(header == {} for header in headers)  # the empty command
    [(get_groups, _)] = kitchen.commands_named("getGroups")
    assert get_groups["householdId"] == kitchen.household.household_id


def test_answers_without_a_household_id_still_get_clips_through_local_info(
    s2_player: PlayerFactory, audio: AudioFiles, clip_player: ClipPlayer
) -> None:
    kitchen = s2_player("Kitchen", S2Profile(household_in_answers=False))
    clip_player.play(kitchen.ip, speech(audio, kitchen.ip))
    assert [clip.status for clip in kitchen.clips] == ["DONE"]


def test_older_firmware_without_local_info_names_its_household_over_the_websocket(
    s2_player: PlayerFactory, clip_player: ClipPlayer
) -> None:
    kitchen = s2_player("Kitchen", S2Profile(local_info=False))
    support = clip_player.support(kitchen.ip)
    assert support.supported and support.capability is not None
    assert support.capability.ids_from == "websocket"


def test_without_local_info_or_household_in_answers_clips_are_off_with_the_reason(
    s2_player: PlayerFactory, clip_player: ClipPlayer
) -> None:
    kitchen = s2_player("Kitchen", S2Profile(local_info=False, household_in_answers=False))
    support = clip_player.support(kitchen.ip)
    assert support.unavailable == (
        "the speaker names no household (no local/info, and its answers carry no householdId)"
    )


def test_a_speaker_with_a_sub_plays_clips_and_a_pair_with_a_sub_does_not(
    s2_player: PlayerFactory, clip_player: ClipPlayer
) -> None:
    one = s2_player("Kitchen", S2Profile(**with_sub()))
    pair = s2_player("Living Room", S2Profile(channels=("LF",), bonded=(
        *stereo_pair()["bonded"], *with_sub()["bonded"]
    )))  # fmt: skip
    assert clip_player.support(one.ip).supported
    assert clip_player.support(pair.ip).unavailable == "a stereo pair plays a clip on one side only"


def test_a_silent_speaker_is_pending_at_once_then_known_without_probing_it_again(
    s2_player: PlayerFactory, impatient: ClipPlayer
) -> None:
    hall = s2_player("Hall", S2Profile(silent=True))
    assert hall.silent_port is not None
    first = impatient.support(hall.ip)
    assert first.pending and not first.supported
    hall.silent_port.wait_for_connections(1)  # the probe runs meanwhile, in the background
    settled = impatient.support(hall.ip, wait=impatient.full_probe_wait)
    assert settled.capability is not None and settled.capability.reach is Reach.NO_ANSWER
    assert settled.unavailable == "port 1443 did not answer within 1 s"
    assert impatient.support(hall.ip) == settled  # kept: no new probe for the next one
    assert hall.silent_port.accepted == 1


def test_a_slow_speaker_is_pending_first_and_plays_clips_once_it_answered(
    s2_player: PlayerFactory, audio: AudioFiles, impatient: ClipPlayer
) -> None:
    den = s2_player("Den", S2Profile(answer_delay=0.3))
    assert impatient.support(den.ip).pending
    assert impatient.support(den.ip, wait=impatient.full_probe_wait).supported
    impatient.play(den.ip, speech(audio, den.ip))
    assert [clip.status for clip in den.clips] == ["DONE"]


def test_clip_events_named_audio_clip_are_followed(
    s2_player: PlayerFactory, audio: AudioFiles, clip_player: ClipPlayer
) -> None:
    kitchen = s2_player("Kitchen", S2Profile(event_type="audioClip"))
    clip_player.play(kitchen.ip, speech(audio, kitchen.ip))
    assert [clip.statuses for clip in kitchen.clips] == [["ACTIVE", "DONE"]]


def test_an_unknown_event_type_is_logged_once(
    s2_player: PlayerFactory, audio: AudioFiles, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="sonos_bridge.playback.clip.connection")
    kitchen = s2_player("Kitchen", S2Profile(event_type="audioClipChanged"))
    player = ClipPlayer(ClipOptions(timeout=0.5, margin=0.5, probe_wait=PROBE_WAIT))
    try:
        for _ in range(2):
            with pytest.raises(ClipTimeoutError):
                player.play(kitchen.ip, speech(audio, kitchen.ip, seconds=0.2))
    finally:
        player.close()
    said = [r.getMessage() for r in caplog.records if "does not follow" in r.getMessage()]
    assert len(said) == 1 and "audioClip:1/audioClipChanged" in said[0], said


@pytest.mark.parametrize(
    ("profile", "error"),
    [
        (S2Profile(play_error=VOICE_ASSISTANT), ClipLoadError),
        (S2Profile(load_error=VOICE_ASSISTANT), S2CommandError),
        (S2Profile(play_error="ERROR_AUDIO_CLIP_PAUSE_CONTENT_FAILED"), ClipLoadError),
    ],
    ids=["error-status", "global-error", "pause-failed"],
)
def test_a_momentary_refusal_keeps_clips_on_for_the_next_announcement(
    s2_player: PlayerFactory,
    audio: AudioFiles,
    clip_player: ClipPlayer,
    profile: S2Profile,
    error: type[Exception],
) -> None:
    kitchen = s2_player("Kitchen", profile)
    with pytest.raises(error, match="ERROR_AUDIO_CLIP_"):
        clip_player.play(kitchen.ip, speech(audio, kitchen.ip))
    assert clip_player.support(kitchen.ip).supported
    kitchen.profile = S2Profile()  # the voice assistant has finished
    clip_player.play(kitchen.ip, speech(audio, kitchen.ip))
    assert kitchen.clips[-1].status == "DONE"
    assert len(kitchen.commands_named("getGroups")) == 1  # no refresh was needed


def test_a_lasting_refusal_turns_clips_off_until_the_next_refresh(
    s2_player: PlayerFactory, audio: AudioFiles, clip_player: ClipPlayer
) -> None:
    kitchen = s2_player("Kitchen", S2Profile(play_error="ERROR_CORRUPT_FILE"))
    with pytest.raises(ClipLoadError, match="ERROR_CORRUPT_FILE"):
        clip_player.play(kitchen.ip, speech(audio, kitchen.ip))
    assert clip_player.support(kitchen.ip).unavailable == (
        "the clip failed before it started (ERROR_CORRUPT_FILE: it reports clips as corrupt "
        "(seen on Play:3, which then garbles the music))"
    )


def test_the_fake_refuses_like_real_firmware(s2_player: PlayerFactory) -> None:
    kitchen = s2_player("Kitchen")
    household = kitchen.household.household_id
    connection = S2Connection.open(kitchen.ip, 2.0, household_id=household)
    try:
        refusals = {
            "wrong household": ("groups:1", "getGroups", {"householdId": household + "x"}),
            "other namespace": ("playback:1", "play", {"playerId": kitchen.player_id}),
            "other command": ("audioClip:1", "frobnicate", {"playerId": kitchen.player_id}),
            "wrong player": ("audioClip:1", "subscribe", {"playerId": "RINCON_NONE01400"}),
        }
        codes = {}
        for what, (namespace, command, path) in refusals.items():
            with pytest.raises(S2CommandError) as refused:
                connection.request(namespace, command, None, timeout=2.0, **path)
            codes[what] = refused.value.error_code
    finally:
        connection.close()
    assert codes == {
        "wrong household": "ERROR_INVALID_OBJECT_ID",
        "other namespace": "ERROR_UNSUPPORTED_NAMESPACE",
        "other command": "ERROR_UNSUPPORTED_COMMAND",
        "wrong player": "ERROR_INVALID_OBJECT_ID",
    }
