"""Clip error codes: "not now" (take this one over, keep clips) or "not here" (clips off)."""

from __future__ import annotations

import pytest

from sonos_bridge.playback.clip.error_kinds import ErrorKind, explain, kind_of


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("ERROR_AUDIO_CLIP_VOICE_ASSISTANT_PLAYING", ErrorKind.TRANSIENT),
        ("ERROR_AUDIO_CLIP_PAUSE_CONTENT_FAILED", ErrorKind.TRANSIENT),
        ("ERROR_AUDIO_CLIP_DO_NOT_DISTURB", ErrorKind.TRANSIENT),
        ("ERROR_AUDIO_CLIP_EXPIRE", ErrorKind.TRANSIENT),
        ("ERROR_AUDIO_CLIP_MEDIA_ERROR", ErrorKind.TRANSIENT),
        ("ERROR_API_KEY_VALIDATION_FAILED", ErrorKind.LASTING),
        ("ERROR_NOT_AUTHORIZED", ErrorKind.LASTING),
        ("ERROR_UNSUPPORTED_NAMESPACE", ErrorKind.LASTING),
        ("ERROR_UNSUPPORTED_COMMAND", ErrorKind.LASTING),
        ("ERROR_INVALID_OBJECT_ID", ErrorKind.LASTING),
        ("ERROR_CORRUPT_FILE", ErrorKind.LASTING),
        ("ERROR_SOMETHING_NEW", ErrorKind.LASTING),
        (None, ErrorKind.LASTING),
    ],
)
def test_each_code_is_transient_or_lasting(code: str | None, kind: ErrorKind) -> None:
    assert kind_of(code) is kind


def test_a_code_is_explained_where_its_meaning_is_known() -> None:
    assert explain("ERROR_AUDIO_CLIP_VOICE_ASSISTANT_PLAYING") == (
        "ERROR_AUDIO_CLIP_VOICE_ASSISTANT_PLAYING: its voice assistant was speaking"
    )
    assert explain("ERROR_SOMETHING_NEW") == "ERROR_SOMETHING_NEW"
    assert explain(None) == "no error code"
