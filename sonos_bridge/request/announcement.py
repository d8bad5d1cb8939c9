"""Turning an MQTT message into an announcement request, or into a clear refusal.

Parsing is cheap and runs on paho's network thread, so a bad request is answered at
once and never reaches a speaker queue. Plain text and JSON share one contract: a payload
whose first non-blank character is `{` or `[` is JSON, anything else is the text itself.
"""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sonos_bridge.errors import RequestError
from sonos_bridge.request.options import PlayOptions, parse_options

logger = logging.getLogger(__name__)

ALL_SPEAKERS = "all"


@dataclass(frozen=True, slots=True)
class ReplyTo:
    """Where a MQTT v5 caller wants its answer (Response Topic + Correlation Data)."""

    topic: str
    correlation: bytes | None = None


@dataclass(frozen=True, slots=True)
class Announcement:
    """One validated request: what to say, where, how loud, and until when.

    Frozen because it crosses threads: parsed on paho's network thread, read by the
    preparer's pool and by every coordinator worker it is queued on; a change (the
    default volume filled in) is a new value made with `dataclasses.replace`.
    """

    id: str
    text: str
    speakers: tuple[str, ...]
    volume: int | None = None
    lang: str | None = None
    voice: str | None = None
    max_age: float | None = None
    reply_to: ReplyTo | None = None
    received_at: float = field(default_factory=time.monotonic)
    options: PlayOptions = field(default_factory=PlayOptions)  # mode, priority, chime, sound

    @property
    def title(self) -> str:
        """What the speaker shows (takeover) or names the clip (audio clip)."""
        return self.text[:64] or self.options.sound or "Sound"

    @property
    def all_speakers(self) -> bool:
        return any(name.casefold() == ALL_SPEAKERS for name in self.speakers)

    def age(self, now: float | None = None) -> float:
        return (time.monotonic() if now is None else now) - self.received_at

    def expired(self, now: float | None = None) -> bool:
        return self.max_age is not None and self.age(now) > self.max_age


@dataclass(frozen=True, slots=True)
class Rejection:
    """A request that cannot be served, with what is known of it for the answer."""

    id: str
    speakers: tuple[str, ...]
    error: str
    reply_to: ReplyTo | None = None
    received_at: float = field(default_factory=time.monotonic)


def new_request_id() -> str:
    return uuid.uuid4().hex[:12]


def _decode_json(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RequestError(
            f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(document, dict):
        raise RequestError(f"JSON payload must be an object, not {type(document).__name__}")
    return document


def _text(document: dict[str, Any]) -> str:
    text = document.get("text", document.get("message"))
    if text is None and (document.get("sound") or document.get("sound_url")):
        return ""  # a sound alone is an announcement too
    if text is None:
        raise RequestError('JSON payload has no "text" (nor "sound" or "sound_url")')
    if not isinstance(text, str):
        raise RequestError(f'"text" must be a string, not {type(text).__name__}')
    return text


def _speakers(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        names = [item.strip() for item in value if item.strip()]
        if not names:
            raise RequestError('"speaker" list is empty')
        return names
    raise RequestError('"speaker" must be a name, a list of names or "all"')


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RequestError(f'"{name}" must be a number, not {json.dumps(value)}')
    try:
        number = float(value)
    except ValueError:
        raise RequestError(f'"{name}" must be a number, not {json.dumps(value)}') from None
    if not math.isfinite(number):
        raise RequestError(f'"{name}" must be a finite number')
    return number


def _volume(value: Any) -> int | None:
    if value is None:
        return None
    volume = _number("volume", value)
    if not 0 <= volume <= 100:
        raise RequestError(f"volume {value} is outside 0-100")
    return round(volume)


def _max_age(value: Any) -> float | None:
    if value is None:
        return None
    seconds = _number("max_age", value)
    if seconds <= 0:
        raise RequestError('"max_age" must be a positive number of seconds')
    return seconds


def _voice(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 128:
        raise RequestError('"voice" must be a voice name such as "en_US-joe-medium"')
    return value.strip()


def _request_id(value: Any) -> str:
    if value is None or value == "":
        return new_request_id()
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)[:128]
    raise RequestError('"id" must be a string')


def parse_announcement(
    payload: bytes,
    *,
    topic_speaker: str | None,
    default_speaker: str | None,
    max_chars: int,
    reply_to: ReplyTo | None = None,
    received_at: float | None = None,
) -> Announcement | Rejection:
    """Validate one request; never raises for bad input, returns a `Rejection` instead.

    The rejection carries as much as was read before the error (the request's own id,
    its speakers) so that the caller can correlate the answer.
    """
    received = time.monotonic() if received_at is None else received_at
    request_id = new_request_id()
    speakers: tuple[str, ...] = (topic_speaker,) if topic_speaker else ()
    try:
        text_payload = _utf8(payload)
        document: dict[str, Any] = {}
        text = text_payload
        if text_payload.lstrip()[:1] in ("{", "["):
            document = _decode_json(text_payload)
            request_id = _request_id(document.get("id"))
            text = _text(document)
            named = _speakers(document.get("speaker", document.get("speakers")))
            speakers = speakers or tuple(named)  # the topic's speaker wins
        options = parse_options(document)
        if not speakers and default_speaker:
            speakers = (default_speaker,)
        text = _checked_text(text, options, max_chars)
        _require_speakers(speakers)
        lang = _lang(document.get("lang", document.get("language")))
        return Announcement(
            id=request_id,
            text=text,
            speakers=speakers,
            volume=_volume(document.get("volume")),
            lang=lang,
            voice=_voice(document.get("voice")),
            max_age=_max_age(document.get("max_age")),
            reply_to=reply_to,
            received_at=received,
            options=options,
        )
    except RequestError as exc:
        logger.warning("Refusing request %s: %s", request_id, exc)
        return Rejection(request_id, speakers, str(exc), reply_to, received)


def _utf8(payload: bytes) -> str:
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestError(
            f"payload is not valid UTF-8 (byte {exc.start}); send UTF-8 text or JSON"
        ) from None


def _checked_text(text: str, options: PlayOptions, max_chars: int) -> str:
    text = text.strip()
    if not text and not options.has_sound:
        raise RequestError("text is empty")
    if len(text) > max_chars:
        raise RequestError(
            f"text is {len(text)} characters long; the limit is {max_chars} (TTS_MAX_CHARS)"
        )
    return text


def _require_speakers(speakers: tuple[str, ...]) -> None:
    if not speakers:
        raise RequestError(
            'no speaker given: use sonos/tts/<speaker>, "speaker" in JSON, '
            "or set SONOS_DEFAULT_SPEAKER"
        )


def _lang(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise RequestError('"lang" must be a language code such as "en"')
    return value.strip()
