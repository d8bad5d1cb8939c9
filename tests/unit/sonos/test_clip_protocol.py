"""The S2 message format and the probe's verdict, without a network."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sonos_bridge.playback.clip.probe import assess
from sonos_bridge.playback.clip.protocol import (
    ClipState,
    ProtocolError,
    clip_states,
    decode_message,
    encode_command,
)


def test_a_command_is_a_header_and_body_array_with_path_ids() -> None:
    raw = encode_command("audioClip:1", "loadAudioClip", "7", {"name": "x"}, playerId="RINCON_1")
    assert json.loads(raw) == [
        {
            "namespace": "audioClip:1",
            "command": "loadAudioClip",
            "cmdId": "7",
            "playerId": "RINCON_1",
        },
        {"name": "x"},
    ]


@pytest.mark.parametrize("raw", ["not json", "{}", "[{}]", '[{}, "x"]', b"\xff"])
def test_frames_that_are_not_header_body_arrays_are_refused(raw: str | bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_message(raw)


def test_a_global_error_answer_is_a_failure_with_its_code() -> None:
    answer = decode_message(
        '[{"namespace":"audioClip:1","response":"loadAudioClip","success":false,'
        '"type":"globalError","cmdId":"3"},{"_objectType":"globalError","errorCode":"ERROR_X"}]'
    )
    assert answer.is_answer and not answer.succeeded
    assert (answer.cmd_id, answer.error_code) == ("3", "ERROR_X")


def test_clip_status_events_list_every_clip_they_report() -> None:
    event = decode_message(
        json.dumps(
            [
                {"namespace": "audioClip:1", "type": "audioClipStatus", "playerId": "P"},
                {
                    "audioClips": [
                        {"id": "1", "status": "DONE"},
                        {"id": "2", "status": "ERROR", "errorCode": "ERROR_AUDIO_CLIP_EXPIRED"},
                        {"name": "no id"},
                    ]
                },
            ]
        )
    )
    assert clip_states(event) == [
        ClipState("1", "DONE"),
        ClipState("2", "ERROR", "ERROR_AUDIO_CLIP_EXPIRED"),
    ]


def groups(**player: Any) -> dict[str, Any]:
    base = {
        "id": "RINCON_A",
        "websocketUrl": "wss://10.0.0.5:1443/websocket/api",
        "capabilities": ["PLAYBACK", "AUDIO_CLIP"],
        "deviceIds": ["RINCON_A"],
        "devices": [{"id": "RINCON_A", "modelDisplayName": "One"}],
    }
    return {"players": [{**base, **player}]}


def test_the_speaker_is_found_by_its_own_address() -> None:
    support = assess(groups(), "10.0.0.5", ["Play:1"])
    assert (support.supported, support.player_id, support.model) == (True, "RINCON_A", "One")


def test_a_speaker_missing_from_the_player_list_is_bonded_into_another() -> None:
    support = assess(groups(), "10.0.0.6", [])
    assert support.unavailable == "bonded into another player (its other half plays)"


def test_the_deny_list_matches_upnp_and_s2_spellings_of_a_model() -> None:
    play1 = groups(devices=[{"id": "RINCON_A", "modelDisplayName": "Play:1"}])
    assert not assess(play1, "10.0.0.5", ["Sonos Play:1"]).supported
    assert not assess(play1, "10.0.0.5", [" play:1 "]).supported
    assert assess(play1, "10.0.0.5", ["Play:3"]).supported
