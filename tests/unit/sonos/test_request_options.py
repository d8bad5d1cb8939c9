"""The request fields that choose how an announcement plays: mode, priority, chime, sound."""

from __future__ import annotations

import pytest

from sonos_bridge.request.announcement import Announcement, Rejection, parse_announcement
from sonos_bridge.request.options import PlayOptions


def parse(payload: bytes) -> Announcement | Rejection:
    return parse_announcement(payload, topic_speaker="Kitchen", default_speaker=None, max_chars=50)


def test_plain_text_and_json_without_the_fields_keep_the_defaults() -> None:
    for payload in (b"Hello", b'{"text": "Hello"}'):
        parsed = parse(payload)
        assert isinstance(parsed, Announcement)
        assert parsed.options == PlayOptions(mode=None, priority="low", chime=False)


def test_every_field_is_read_case_insensitively() -> None:
    parsed = parse(
        b'{"text": "Hi", "mode": "Clip", "priority": "HIGH", "chime": "ding-dong", '
        b'"sound": "doorbell"}'
    )
    assert isinstance(parsed, Announcement)
    assert parsed.options == PlayOptions("clip", "high", "ding-dong", "doorbell", None)


def test_a_sound_alone_is_an_announcement_and_text_may_follow_it() -> None:
    alone = parse(b'{"sound_url": "https://example.invalid/bell.mp3"}')
    assert isinstance(alone, Announcement)
    assert (alone.text, alone.options.sound_url) == ("", "https://example.invalid/bell.mp3")
    both = parse(b'{"sound": "doorbell.mp3", "text": "Someone is at the door", "chime": true}')
    assert isinstance(both, Announcement)
    assert (both.text, both.options.sound, both.options.chime) == (
        "Someone is at the door",
        "doorbell.mp3",
        True,
    )


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b'{"text": "a", "mode": "loud"}', '"mode" must be one of "auto", "clip", "takeover"'),
        (b'{"text": "a", "mode": 1}', '"mode" must be one of'),
        (b'{"text": "a", "priority": "urgent"}', '"priority" must be one of "low", "high"'),
        (b'{"text": "a", "chime": 1}', '"chime" must be true, false or the name of a sound'),
        (b'{"text": "a", "chime": "../bell"}', '"chime" must name a sound file'),
        (b'{"sound": "../../etc/passwd"}', '"sound" must name a sound file'),
        (b'{"sound": "sub/bell"}', '"sound" must name a sound file'),
        (b'{"sound": "bell.ogg"}', '"sound" must name a sound file'),
        (b'{"sound": ""}', 'no "text"'),
        (b'{"sound": 5}', '"sound" must name a sound file'),
        (b'{"sound_url": "file:///etc/passwd"}', '"sound_url" must be an http:// or https://'),
        (b'{"sound_url": "ftp://host/a.mp3"}', '"sound_url" must be an http:// or https://'),
        (b'{"sound_url": "http://"}', '"sound_url" must be an http:// or https://'),
        (b'{"sound_url": "http://[::1/a.mp3"}', '"sound_url" must be an http:// or https://'),
        (b'{"sound_url": ["http://a/b.mp3"]}', '"sound_url" must be an http:// or https://'),
        (b'{"sound": "bell", "sound_url": "http://a/b.mp3"}', 'either "sound" or "sound_url"'),
        (b'{"chime": true}', 'no "text"'),
        (b'{"text": " ", "chime": true}', "text is empty"),
    ],
)
def test_bad_fields_are_refused_with_a_reason(payload: bytes, message: str) -> None:
    parsed = parse(payload)
    assert isinstance(parsed, Rejection)
    assert message in parsed.error
