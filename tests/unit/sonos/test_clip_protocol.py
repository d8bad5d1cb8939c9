"""The S2 message format, without a network (the probe's verdict: test_clip_capability)."""

from __future__ import annotations

import json

import pytest

from sonos_bridge.playback.clip.protocol import (
    ClipState,
    ProtocolError,
    clip_states,
    decode_message,
    encode_command,
    is_clip_event,
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


@pytest.mark.parametrize("event_type", ["audioClipStatus", "audioClip"])
def test_both_names_of_the_clip_event_are_followed_with_a_list_or_one_clip(
    event_type: str,
) -> None:
    header = {"namespace": "audioClip:1", "type": event_type, "playerId": "P"}
    listed = decode_message(json.dumps([header, {"audioClips": [{"id": "4", "status": "ACTIVE"}]}]))
    single = decode_message(
        json.dumps([header, {"_objectType": "audioClip", "id": "4", "status": "ACTIVE"}])
    )
    assert clip_states(listed) == clip_states(single) == [ClipState("4", "ACTIVE")]


def test_other_events_and_answers_report_no_clips() -> None:
    other = [{"namespace": "audioClip:1", "type": "audioClipQueue"}, {"audioClips": []}]
    answer = [{"namespace": "audioClip:1", "response": "loadAudioClip", "type": "audioClip"}, {}]
    for frame in (other, answer):
        message = decode_message(json.dumps(frame))
        assert not is_clip_event(message) and clip_states(message) == []
