"""Parsing requests: plain text, JSON, and every way a request can be wrong."""

from __future__ import annotations

import pytest

from sonos_bridge.request.announcement import Announcement, Rejection, ReplyTo, parse_announcement


def parse(
    payload: bytes, topic_speaker: str | None = "Kitchen", default: str | None = None
) -> Announcement | Rejection:
    return parse_announcement(
        payload, topic_speaker=topic_speaker, default_speaker=default, max_chars=50
    )


def test_plain_text() -> None:
    parsed = parse(b"  Dinner is ready \n")
    assert isinstance(parsed, Announcement)
    assert parsed.text == "Dinner is ready"
    assert parsed.speakers == ("Kitchen",)
    assert parsed.id and parsed.volume is None and parsed.max_age is None


def test_json_with_everything() -> None:
    parsed = parse(
        b'{"text": "Hi", "speaker": ["A", "B"], "volume": 45, "lang": "de", "id": "x", '
        b'"max_age": 30}',
        topic_speaker=None,
    )
    assert isinstance(parsed, Announcement)
    assert (parsed.speakers, parsed.volume, parsed.lang, parsed.id, parsed.max_age) == (
        ("A", "B"), 45, "de", "x", 30.0,
    )  # fmt: skip


def test_topic_speaker_wins_and_default_applies() -> None:
    parsed = parse(b'{"text": "Hi", "speaker": "Office"}')
    assert isinstance(parsed, Announcement) and parsed.speakers == ("Kitchen",)
    parsed = parse(b"Hi", topic_speaker=None, default="Hall")
    assert isinstance(parsed, Announcement) and parsed.speakers == ("Hall",)
    parsed = parse(b'{"text": "Hi", "speaker": "ALL"}', topic_speaker=None)
    assert isinstance(parsed, Announcement) and parsed.all_speakers


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{nope", "invalid JSON"),
        (b"[1, 2]", "must be an object"),
        (b"", "empty"),
        (b" \t\n", "empty"),
        (b'{"text": "   "}', "empty"),
        (b"x" * 51, "limit is 50"),
        (b"\xff\xfe", "not valid UTF-8"),
        (b'{"text": 5}', "must be a string"),
        (b'{"speaker": "A"}', 'no "text"'),
        (b'{"text": "a", "volume": -1}', "outside 0-100"),
        (b'{"text": "a", "volume": 101}', "outside 0-100"),
        (b'{"text": "a", "volume": "loud"}', "must be a number"),
        (b'{"text": "a", "volume": true}', "must be a number"),
        (b'{"text": "a", "max_age": 0}', "positive"),
        (b'{"text": "a", "lang": 3}', "language code"),
        (b'{"text": "a", "speaker": 3}', "must be a name"),
    ],
)
def test_rejections(payload: bytes, message: str) -> None:
    parsed = parse(payload)
    assert isinstance(parsed, Rejection)
    assert message in parsed.error


def test_rejection_keeps_id_and_reply_address() -> None:
    reply = ReplyTo("reply/x", b"c")
    parsed = parse_announcement(
        b'{"text": "", "id": "abc"}',
        topic_speaker="K",
        default_speaker=None,
        max_chars=10,
        reply_to=reply,
    )
    assert isinstance(parsed, Rejection)
    assert (parsed.id, parsed.reply_to, parsed.speakers) == ("abc", reply, ("K",))


def test_no_speaker_anywhere() -> None:
    parsed = parse(b"Hi", topic_speaker=None)
    assert isinstance(parsed, Rejection) and "no speaker" in parsed.error


def test_expiry() -> None:
    parsed = parse_announcement(
        b'{"text": "a", "max_age": 5}', topic_speaker="K", default_speaker=None, max_chars=9,
        received_at=100.0,
    )  # fmt: skip
    assert isinstance(parsed, Announcement)
    assert not parsed.expired(now=104.0)
    assert parsed.expired(now=105.5)
