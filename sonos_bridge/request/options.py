"""How a request wants to be played, besides its text: mode, priority, chime and sound.

Parsed with the rest of the request (on paho's thread, cheap, no I/O): names and URLs are
only checked for their form here; whether a named sound exists or a URL answers is found
out when the request is prepared, and refused then with its own error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from sonos_bridge.errors import RequestError
from sonos_bridge.request.sound_names import SOUND_NAME

Mode = Literal["auto", "clip", "takeover"]
RequestPriority = Literal["low", "high"]
MODES: tuple[Mode, ...] = ("auto", "clip", "takeover")
PRIORITIES: tuple[RequestPriority, ...] = ("low", "high")
MAX_URL = 2048


@dataclass(frozen=True, slots=True)
class PlayOptions:
    """`mode` None follows SONOS_CLIP_MODE; `chime` True is the default chime, a str names one."""

    mode: Mode | None = None
    priority: RequestPriority = "low"
    chime: bool | str = False
    sound: str | None = None
    sound_url: str | None = None

    @property
    def has_sound(self) -> bool:
        return self.sound is not None or self.sound_url is not None


def parse_options(document: dict[str, Any]) -> PlayOptions:
    """The request's fields on how to play it, or a RequestError naming the first bad one."""
    sound = _sound_name("sound", document.get("sound"))
    sound_url = _sound_url(document.get("sound_url"))
    if sound is not None and sound_url is not None:
        raise RequestError('give either "sound" or "sound_url", not both')
    return PlayOptions(
        mode=_choice("mode", document.get("mode"), MODES),
        priority=_choice("priority", document.get("priority"), PRIORITIES) or "low",
        chime=_chime(document.get("chime")),
        sound=sound,
        sound_url=sound_url,
    )


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> Any:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() in allowed:
        return value.strip().lower()
    choices = ", ".join(f'"{choice}"' for choice in allowed)
    raise RequestError(f'"{name}" must be one of {choices}, not {json.dumps(value)}')


def _chime(value: Any) -> bool | str:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return value.strip() if _sound_name("chime", value) else False
    raise RequestError('"chime" must be true, false or the name of a sound')


def _sound_name(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not SOUND_NAME.fullmatch(value.strip()):
        raise RequestError(
            f'"{name}" must name a sound file in SOUNDS_DIR such as "doorbell" '
            f"(letters, digits, space, _ and -; no folders), not {json.dumps(value)}"
        )
    return value.strip()


def _sound_url(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_URL:
        raise RequestError('"sound_url" must be an http:// or https:// URL')
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        host = None
    if host is None or parts.scheme not in ("http", "https"):
        raise RequestError(
            f'"sound_url" must be an http:// or https:// URL, not {json.dumps(value)}'
        )
    return value.strip()
