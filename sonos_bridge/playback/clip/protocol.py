"""The message format of the Sonos S2 local control API, as far as audio clips need it.

Every message is a JSON array `[header, body]`. A command's header names `namespace`,
`command`, a `cmdId` the answer echoes, and path ids (`householdId`, `playerId`); the
answer has `success`, a `type` naming its body (`globalError` with an `errorCode` when it
failed) and `householdId` only when the request had one. Events have a `type` and no
`response`: for clips Sonos' documentation names it `audioClipStatus` (a list of the clips
that changed), while two maintained clients (aiosonos, a .NET client) expect `audioClip`;
both are followed, with either a list or one clip as the body. Pure functions and values,
no I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

PORT = 1443
PATH = "/websocket/api"
# The key every local client sends; speakers refuse the handshake without it.
API_KEY = "123e4567-e89b-12d3-a456-426655440000"
SUBPROTOCOL = "v1.api.smartspeaker.audio"
APP_ID = "io.github.mqtt-home-voice.sonos-bridge"
# The documented event type name, and the one other maintained clients use.
CLIP_STATUS_EVENTS = frozenset({"audioClipStatus", "audioClip"})


class Priority(StrEnum):
    """Sonos' documented rules (docs.sonos.com, loadAudioClip): HIGH interrupts LOW at any
    time, and HIGH once that has played for more than 10 s; LOW interrupts LOW at any
    time; LOW cannot interrupt HIGH (what becomes of it then is not documented)."""

    LOW = "LOW"
    HIGH = "HIGH"


class ClipType(StrEnum):
    CHIME = "CHIME"  # without a streamUrl: the speaker's own built-in chime
    CUSTOM = "CUSTOM"


class ClipStatus(StrEnum):
    ACTIVE = "ACTIVE"
    DONE = "DONE"
    ERROR = "ERROR"
    INTERRUPTED = "INTERRUPTED"
    DISMISSED = "DISMISSED"


FINAL_STATUSES = frozenset(
    {ClipStatus.DONE, ClipStatus.ERROR, ClipStatus.INTERRUPTED, ClipStatus.DISMISSED}
)


class ProtocolError(ValueError):
    """A frame that is not a `[header, body]` JSON array."""


def websocket_url(ip: str, port: int = PORT) -> str:
    return f"wss://{ip}:{port}{PATH}"


@dataclass(frozen=True, slots=True)
class Message:
    """One decoded frame."""

    header: dict[str, Any]
    body: dict[str, Any]

    @property
    def cmd_id(self) -> str | None:
        value = self.header.get("cmdId")
        return str(value) if value is not None else None

    @property
    def is_answer(self) -> bool:
        return "response" in self.header or "success" in self.header

    @property
    def succeeded(self) -> bool:
        return self.header.get("success") is not False and "errorCode" not in self.body

    @property
    def error_code(self) -> str:
        return str(self.body.get("errorCode") or self.header.get("type") or "unknown error")

    @property
    def event_type(self) -> str | None:
        return None if self.is_answer else self.header.get("type")


@dataclass(frozen=True, slots=True)
class ClipState:
    """One clip's status as an audioClipStatus event reported it."""

    clip_id: str
    status: str
    error_code: str | None = None


def encode_command(
    namespace: str, command: str, cmd_id: str, body: dict[str, Any], **path: str
) -> str:
    header = {"namespace": namespace, "command": command, "cmdId": cmd_id, **path}
    return json.dumps([header, body], separators=(",", ":"))


def decode_message(raw: str | bytes) -> Message:
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
    if (
        not isinstance(document, list)
        or len(document) != 2
        or not all(isinstance(part, dict) for part in document)
    ):
        raise ProtocolError("not a [header, body] array")
    return Message(document[0], document[1])


def is_clip_event(message: Message) -> bool:
    return message.event_type in CLIP_STATUS_EVENTS


def clip_states(message: Message) -> list[ClipState]:
    """The clips a clip event reports (a list, or one clip as the body); others report none."""
    if not is_clip_event(message):
        return []
    clips = message.body.get("audioClips")
    if not isinstance(clips, list):
        clips = [message.body]
    states = []
    for clip in clips:
        if isinstance(clip, dict) and "id" in clip and "status" in clip:
            code = clip.get("errorCode")
            states.append(ClipState(str(clip["id"]), str(clip["status"]), code and str(code)))
    return states
