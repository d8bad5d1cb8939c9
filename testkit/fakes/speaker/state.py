"""The speaker's state and records: constants, the transport, what it played and was asked.

Values here are plain data; `FakeSpeaker.lock` guards the mutable ones (written by HTTP
handler threads and the play threads, read by tests).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from testkit.fakes.upnp import SoapFaultError

if TYPE_CHECKING:
    from testkit.fakes.speaker.device import FakeSpeaker

SONOS_PORT = 1400
RADIO_URI = "x-sonosapi-stream:s24896?sid=254&flags=8224&sn=0"
RADIO_META = (
    '<DIDL-Lite xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:upnp="urn:schemas-upnp-org:metadata-1-0/upnp/" '
    'xmlns:r="urn:schemas-rinconnetworks-com:metadata-1-0/" '
    'xmlns="urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/">'
    '<item id="F00092020s24896" parentID="L" restricted="true">'
    "<dc:title>Fake Radio</dc:title>"
    "<upnp:class>object.item.audioItem.audioBroadcast</upnp:class>"
    '<desc id="cdudn" nameSpace="urn:schemas-rinconnetworks-com:metadata-1-0/">'
    "SA_RINCON65031_</desc></item></DIDL-Lite>"
)
STALL_LIMIT = 60.0


Action = Callable[["FakeSpeaker", dict[str, str]], dict[str, str]]
"""A UPnP action's handler: the speaker and the call's arguments -> the answer's values."""


def format_time(seconds: float) -> str:
    whole = max(0, int(seconds))
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def parse_time(text: str) -> float:
    match = re.fullmatch(r"(\d+):(\d{1,2}):(\d{1,2})(?:\.\d+)?", text.strip())
    if not match:
        raise SoapFaultError(711, "illegal seek target")
    hours, minutes, seconds = (int(part) for part in match.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


@dataclass(frozen=True)
class ActionRecord:
    """One SOAP call the speaker answered (or refused)."""

    service: str
    action: str
    arguments: dict[str, str]
    at: float


@dataclass
class PlayRecord:
    """What a `Play` of an http URI fetched: the first-request time and the verdict."""

    url: str
    requested_at: float  # time.monotonic() when the GET was sent
    volume: int = 0  # the speaker's volume when Play arrived
    muted: bool = False
    status: int = 0
    size: int = 0
    duration: float = 0.0
    ok: bool = False
    error: str = ""
    finished: bool = False
    finished_at: float = 0.0  # time.monotonic() when the clip ended or was replaced


@dataclass
class QueueTrack:
    uri: str
    duration: float
    metadata: str = ""


@dataclass
class TransportState:
    uri: str = ""
    metadata: str = ""
    state: str = "STOPPED"
    track: int = 1
    position: float = 0.0  # seconds into the track at `since`
    since: float = 0.0  # monotonic time when `state` became PLAYING
    clip_duration: float = 0.0
    play_mode: str = "NORMAL"
    generation: int = 0
