"""A fake Sonos speaker that the real SoCo library drives over HTTP.

Each speaker listens on its own loopback address, port 1400 (SoCo fixes the port), and
keeps real state: volume, mute, the transport's URI and state, the queue position and
group membership. On `Play` of an http URI it fetches the clip in a thread like a real
player, checks that the bytes decode as MP3 or WAV, records what arrived, and reports STOPPED
once the clip's duration (scaled by `speed`) has elapsed, so a bridge must observe the
end through GetTransportInfo or AVTransport events exactly as with real hardware: a
subscriber (SUBSCRIBE with a CALLBACK) gets a NOTIFY on every transport change
(`tests.fakes.events`).

A speaker made with an `S2Profile` also serves the S2 WebSocket API on the same address,
port 1443 (`tests.fakes.s2`): audio clips mixed over whatever its transport plays, which
they never touch. The household's `getGroups` lists the S2 speakers in their UPnP groups.

A speaker answers SOAP calls in one write by default; `two_writes=True` (`--two-writes
NAME`) answers as Python's `http.server` does, headers and body in two writes with Nagle
on, which stalls a kept-alive client that delays its ACKs.

Standalone (for the Docker end-to-end tests, next to the compose stack):

    python -m tests.fakes.speaker --speaker Kitchen=127.0.0.2 --speaker Office=127.0.0.3 \
        --group Kitchen,Office --speed 1 [--s2 Office]

Another process sees what a speaker did at `GET http://<ip>:1400/fake/state` (JSON: volume,
mute, URI, transport state, every fetch with its time and verdict, action counts, the
audio clips of an S2 speaker) and can start a radio stream with
`POST /fake/radio {"volume": 20}`. `POST /fake/vanish` takes the speaker off the network (it
answers nothing but `/fake/` until `POST /fake/return`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import re
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any
from xml.sax.saxutils import quoteattr

from tests.fakes.events import EventPublisher
from tests.fakes.fetch import fetch_and_decode
from tests.fakes.s2 import S2_PORT, Certificate, FakeS2Player, S2Profile, make_certificate
from tests.fakes.upnp import (
    XML_CONTENT_TYPE,
    ActionSpec,
    SoapFaultError,
    device_description,
    fault_envelope,
    last_change_event,
    parse_call,
    response_envelope,
    scpd,
)

logger = logging.getLogger(__name__)

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

_IN = "InstanceID"
SERVICES: dict[str, list[ActionSpec]] = {
    "DeviceProperties": [
        ActionSpec("GetHouseholdID", (), ("CurrentHouseholdID",)),
        ActionSpec(
            "GetZoneAttributes",
            (),
            ("CurrentZoneName", "CurrentIcon", "CurrentConfiguration"),
        ),
    ],
    "ZoneGroupTopology": [
        ActionSpec("GetZoneGroupState", (), ("ZoneGroupState",)),
        ActionSpec(
            "GetZoneGroupAttributes",
            (),
            ("CurrentZoneGroupName", "CurrentZoneGroupID", "CurrentZonePlayerUUIDsInGroup"),
        ),
    ],
    "RenderingControl": [
        ActionSpec("GetVolume", (_IN, "Channel"), ("CurrentVolume",)),
        ActionSpec("SetVolume", (_IN, "Channel", "DesiredVolume"), ()),
        ActionSpec("GetMute", (_IN, "Channel"), ("CurrentMute",)),
        ActionSpec("SetMute", (_IN, "Channel", "DesiredMute"), ()),
        ActionSpec("GetBass", (_IN,), ("CurrentBass",)),
        ActionSpec("SetBass", (_IN, "DesiredBass"), ()),
        ActionSpec("GetTreble", (_IN,), ("CurrentTreble",)),
        ActionSpec("SetTreble", (_IN, "DesiredTreble"), ()),
        ActionSpec("GetLoudness", (_IN, "Channel"), ("CurrentLoudness",)),
        ActionSpec("SetLoudness", (_IN, "Channel", "DesiredLoudness"), ()),
        ActionSpec("GetSupportsOutputFixed", (_IN,), ("CurrentSupportsFixed",)),
    ],
    "AVTransport": [
        ActionSpec("SetAVTransportURI", (_IN, "CurrentURI", "CurrentURIMetaData"), ()),
        ActionSpec("Play", (_IN, "Speed"), ()),
        ActionSpec("Pause", (_IN,), ()),
        ActionSpec("Stop", (_IN,), ()),
        ActionSpec("Seek", (_IN, "Unit", "Target"), ()),
        ActionSpec(
            "GetTransportInfo",
            (_IN,),
            ("CurrentTransportState", "CurrentTransportStatus", "CurrentSpeed"),
        ),
        ActionSpec(
            "GetPositionInfo",
            (_IN,),
            (
                "Track",
                "TrackDuration",
                "TrackMetaData",
                "TrackURI",
                "RelTime",
                "AbsTime",
                "RelCount",
                "AbsCount",
            ),
        ),
        ActionSpec(
            "GetMediaInfo",
            (_IN,),
            (
                "NrTracks",
                "MediaDuration",
                "CurrentURI",
                "CurrentURIMetaData",
                "NextURI",
                "NextURIMetaData",
                "PlayMedium",
                "RecordMedium",
                "WriteStatus",
            ),
        ),
        ActionSpec("GetTransportSettings", (_IN,), ("PlayMode", "RecQualityMode")),
        ActionSpec("SetPlayMode", (_IN, "NewPlayMode"), ()),
        ActionSpec("GetCurrentTransportActions", (_IN,), ("Actions",)),
        ActionSpec("BecomeCoordinatorOfStandaloneGroup", (_IN,), ()),
    ],
}
SERVICE_PATHS = {
    "/DeviceProperties/Control": "DeviceProperties",
    "/ZoneGroupTopology/Control": "ZoneGroupTopology",
    "/MediaRenderer/RenderingControl/Control": "RenderingControl",
    "/MediaRenderer/AVTransport/Control": "AVTransport",
}
_SCPD_CACHE = {f"/xml/{name}1.xml": scpd(actions) for name, actions in SERVICES.items()}


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


class FakeHousehold:
    """Speakers that share a household ID and a zone group topology."""

    def __init__(self, household_id: str = "Sonos_FakeHousehold0001") -> None:
        self.household_id = household_id
        self.speakers: list[FakeSpeaker] = []
        self._lock = threading.Lock()

    def add(self, speaker: FakeSpeaker) -> None:
        with self._lock:
            self.speakers.append(speaker)

    def remove(self, speaker: FakeSpeaker) -> None:
        """Take a speaker out of the topology, as unplugging it for good does."""
        with self._lock:
            self.speakers.remove(speaker)

    def group(self, coordinator: FakeSpeaker, *members: FakeSpeaker) -> None:
        """Put `members` in `coordinator`'s group, as the Sonos app's Group button does."""
        for member in members:
            member.coordinator = coordinator
            with member.lock:
                member.transport = TransportState(uri=f"x-rincon:{coordinator.uid}")

    def zone_group_state(self) -> str:
        with self._lock:
            speakers = list(self.speakers)
        groups: dict[str, list[FakeSpeaker]] = {}
        for speaker in speakers:
            groups.setdefault(speaker.coordinator.uid, []).append(speaker)
        parts = ["<ZoneGroupState><ZoneGroups>"]
        for coordinator_uid, members in groups.items():
            parts.append(f'<ZoneGroup Coordinator="{coordinator_uid}" ID="{coordinator_uid}:1">')
            for member in members:
                parts.append(
                    f'<ZoneGroupMember UUID="{member.uid}" '
                    f'Location="http://{member.ip}:{SONOS_PORT}/xml/device_description.xml" '
                    f"ZoneName={quoteattr(member.name)} "
                    'Icon="x-rincon-roomicon:living" Configuration="1" '
                    'SoftwareVersion="79.1-00000" MinCompatibleVersion="78.0-00000" '
                    'BootSeq="7"/>'
                )
            parts.append("</ZoneGroup>")
        parts.append("</ZoneGroups><VanishedDevices/></ZoneGroupState>")
        return "".join(parts)

    def groups_body(self, include_devices: bool) -> dict[str, Any]:
        """What `groups:1 getGroups` answers: the S2 speakers, grouped as over UPnP."""
        with self._lock:
            players = [s for s in self.speakers if s.s2 is not None]
        groups: dict[str, list[FakeSpeaker]] = {}
        for speaker in players:
            groups.setdefault(speaker.coordinator.uid, []).append(speaker)
        return {
            "_objectType": "groups",
            "partial": False,
            "groups": [
                {
                    "_objectType": "group",
                    "id": f"{coordinator_uid}:1",
                    "name": members[0].coordinator.name,
                    "coordinatorId": coordinator_uid,
                    "playbackState": "PLAYBACK_STATE_IDLE",
                    "playerIds": [member.uid for member in members],
                }
                for coordinator_uid, members in groups.items()
            ],
            "players": [s.s2.player_object(include_devices) for s in players if s.s2],
        }


class FakeSpeaker:
    """One fake player: an HTTP server on `ip`:1400 plus the state it controls."""

    def __init__(
        self,
        name: str,
        ip: str,
        household: FakeHousehold,
        *,
        uid: str | None = None,
        speed: float = 1.0,
        two_writes: bool = False,
        s2: S2Profile | None = None,
        certificate: Certificate | None = None,
    ) -> None:
        self.name = name
        self.ip = ip
        self.household = household
        self.uid = uid or "RINCON_FAKE" + "".join(f"{int(p):03d}" for p in ip.split(".")) + "01400"
        self.speed = speed
        self.coordinator: FakeSpeaker = self
        self.lock = threading.Condition()
        self.volume = 20
        self.muted = False
        self.bass = 0
        self.treble = 0
        self.loudness = True
        self.transport = TransportState()
        self.queue: list[QueueTrack] = []
        self.actions: list[ActionRecord] = []
        self.plays: list[PlayRecord] = []
        self.failures: dict[str, int] = {}
        self.events = EventPublisher(f"fake-{name}")
        self._published: tuple[str, str, int] = ("", "", 0)
        self._stalled = threading.Event()
        self._release = threading.Event()
        self._closing = threading.Event()
        handler = _TwoWriteSpeakerHandler if two_writes else _SpeakerHandler
        self.two_writes = two_writes
        self._server = _SpeakerServer((ip, SONOS_PORT), handler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-{name}",
            daemon=True,
        )
        self.s2: FakeS2Player | None = None
        if s2 is not None:
            assert certificate is not None, "an S2 speaker needs a certificate"
            self.s2 = FakeS2Player(
                ip, self.uid, name, household, certificate, profile=s2, speed=speed
            )
        household.add(self)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> FakeSpeaker:
        self._thread.start()
        if self.s2 is not None:
            self.s2.start()
        return self

    def close(self) -> None:
        """Stop listening and hang up kept-alive connections, as a powered-off player."""
        self._closing.set()
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._server.hang_up()
        self.events.close()
        if self.s2 is not None:
            self.s2.close()
        with self.lock:
            self.transport.generation += 1
            self._notify_locked()

    # ----------------------------------------------------- test controls
    @property
    def is_coordinator(self) -> bool:
        return self.coordinator is self

    def play_radio(self, volume: int = 20, uri: str = RADIO_URI, meta: str = RADIO_META) -> None:
        """Start a radio stream as if the user had picked a station in the app."""
        with self.lock:
            self.volume = volume
            self.transport = TransportState(
                uri=uri, metadata=meta, state="PLAYING", since=time.monotonic()
            )
            self._notify_locked()

    def load_queue(
        self, tracks: list[QueueTrack], track: int, position: float, state: str = "PAUSED_PLAYBACK"
    ) -> None:
        """The local queue at `track` (1-based), `position` seconds in, paused or PLAYING."""
        with self.lock:
            self.queue = list(tracks)
            self.transport = TransportState(
                uri=f"x-rincon-queue:{self.uid}#0",
                state=state,
                track=track,
                position=position,
                since=time.monotonic(),
            )
            self._notify_locked()

    def set_source(self, uri: str, state: str = "PLAYING") -> None:
        """Any other source (TV, line-in, a cloud queue): only the URI and state."""
        with self.lock:
            self.transport = TransportState(uri=uri, state=state, since=time.monotonic())
            self._notify_locked()

    def fail(self, action: str, code: int) -> None:
        """Answer `action` with UPnP error `code` from now on."""
        self.failures[action] = code

    def stall(self) -> None:
        """Stop answering: every request hangs until `close()` (a dead speaker)."""
        self._stalled.set()
        self.events.blocked = True

    def reappear(self) -> None:
        """Back on the network after `stall`, with the state it had. What was asked
        meanwhile is never answered, as over Wi-Fi: the asker gives up."""
        self._stalled.clear()
        self.events.blocked = False

    def block_events(self) -> None:
        """NOTIFYs no longer reach the bridge (a firewall); SUBSCRIBE still works."""
        self.events.blocked = True

    def wait_until(
        self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = ""
    ) -> None:
        with self.lock:
            if not self.lock.wait_for(predicate, timeout):
                raise AssertionError(f"{self.name}: timed out waiting for {what or predicate}")

    def calls(self, action: str) -> list[ActionRecord]:
        with self.lock:
            return [record for record in self.actions if record.action == action]

    @property
    def state(self) -> str:
        with self.lock:
            return self.transport.state

    # ------------------------------------------------------------ events
    def _notify_locked(self) -> None:
        """Wake local waiters, and tell subscribers when the transport changed."""
        transport = self.transport
        current = (transport.state, transport.uri, transport.track)
        if current != self._published:
            self._published = current
            self.events.publish(self._transport_event_locked())
        self.lock.notify_all()

    def _transport_event_locked(self) -> bytes:
        transport = self.transport
        track_uri = transport.uri
        if transport.uri.startswith("x-rincon-queue:") and self.queue:
            track_uri = self.queue[transport.track - 1].uri
        return last_change_event(
            {
                "TransportState": transport.state,
                "CurrentPlayMode": transport.play_mode,
                "AVTransportURI": transport.uri,
                "CurrentTrackURI": track_uri,
                "CurrentTrack": str(transport.track),
            }
        )

    def handle_subscription(
        self, method: str, path: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str]]:
        """SUBSCRIBE / UNSUBSCRIBE of the AVTransport service (the one the bridge uses)."""
        if self._stalled.is_set():
            self._release.wait(STALL_LIMIT)
            return 503, {}
        if path != "/MediaRenderer/AVTransport/Event":
            return 404, {}
        with self.lock:
            if method == "UNSUBSCRIBE":
                answer: tuple[int, dict[str, str]] = (self.events.unsubscribe(headers), {})
            else:
                answer = self.events.subscribe(headers, self._transport_event_locked())
            self.lock.notify_all()  # for tests awaiting a subscriber
        return answer

    # ---------------------------------------------------------- requests
    def handle_http(self, method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        if path.startswith("/fake/"):
            return self._control(method, path, body)
        if self._stalled.is_set():
            self._release.wait(STALL_LIMIT)
            return 503, "text/plain", b"gone"
        if method == "GET":
            if path == "/xml/device_description.xml":
                return 200, XML_CONTENT_TYPE, device_description(self.name, self.uid, self.ip)
            if path in _SCPD_CACHE:
                return 200, XML_CONTENT_TYPE, _SCPD_CACHE[path]
            return 404, "text/plain", b"not found"
        service = SERVICE_PATHS.get(path)
        if method != "POST" or service is None:
            return 404, "text/plain", b"not found"
        action = "?"
        try:
            action, arguments = parse_call(body)
            with self.lock:
                self.actions.append(ActionRecord(service, action, arguments, time.monotonic()))
                self._notify_locked()
            if action in self.failures:
                raise SoapFaultError(self.failures[action])
            values = self._dispatch(service, action, arguments)
        except SoapFaultError as fault:
            logger.debug("%s answers %s with UPnP error %d", self.name, action, fault.code)
            return 500, XML_CONTENT_TYPE, fault_envelope(fault.code)
        return 200, XML_CONTENT_TYPE, response_envelope(service, action, values)

    def snapshot_json(self) -> dict[str, Any]:
        """What a test in another process needs to see (times are CLOCK_MONOTONIC)."""
        with self.lock:
            counts: dict[str, int] = {}
            for record in self.actions:
                counts[record.action] = counts.get(record.action, 0) + 1
            return {
                "name": self.name,
                "uid": self.uid,
                "volume": self.volume,
                "muted": self.muted,
                "uri": self.transport.uri,
                "state": self.transport.state,
                "track": self.transport.track,
                "plays": [asdict(play) for play in self.plays],
                "action_counts": counts,
                "uris_set": [
                    r.arguments.get("CurrentURI", "")
                    for r in self.actions
                    if r.action == "SetAVTransportURI"
                ],
                "action_times": [[r.action, r.at] for r in self.actions],
                "events_delivered": self.events.delivered,
                "clips": self._clips_json(),
            }

    def _clips_json(self) -> list[dict[str, Any]]:
        if self.s2 is None:
            return []
        with self.s2.lock:
            return [asdict(clip) for clip in self.s2.clips]

    def _control(self, method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        """`/fake/state` (GET), `/fake/radio` (POST {"volume": n}), `/fake/vanish` and
        `/fake/return` (POST) for other processes; answered also while vanished."""
        if method == "GET" and path == "/fake/state":
            return 200, "application/json", json.dumps(self.snapshot_json()).encode()
        if method == "POST" and path == "/fake/radio":
            options = json.loads(body or b"{}")
            self.play_radio(volume=int(options.get("volume", 20)))
            return 200, "application/json", b"{}"
        if method == "POST" and path == "/fake/vanish":
            self.stall()
            return 200, "application/json", b"{}"
        if method == "POST" and path == "/fake/return":
            self.reappear()
            return 200, "application/json", b"{}"
        return 404, "text/plain", b"not found"

    def _dispatch(self, service: str, action: str, args: dict[str, str]) -> dict[str, str]:
        handler = getattr(self, f"_{service}_{action}", None)
        if handler is None:
            raise SoapFaultError(401, "invalid action")
        result: dict[str, str] = handler(args)
        return result

    # DeviceProperties / ZoneGroupTopology
    def _DeviceProperties_GetHouseholdID(self, _args: dict[str, str]) -> dict[str, str]:  # noqa: N802
        return {"CurrentHouseholdID": self.household.household_id}

    def _DeviceProperties_GetZoneAttributes(self, _args: dict[str, str]) -> dict[str, str]:  # noqa: N802
        return {"CurrentZoneName": self.name, "CurrentIcon": "", "CurrentConfiguration": "1"}

    def _ZoneGroupTopology_GetZoneGroupState(self, _args: dict[str, str]) -> dict[str, str]:  # noqa: N802
        return {"ZoneGroupState": self.household.zone_group_state()}

    def _ZoneGroupTopology_GetZoneGroupAttributes(  # noqa: N802
        self, _args: dict[str, str]
    ) -> dict[str, str]:
        coordinator = self.coordinator
        members = [s.uid for s in self.household.speakers if s.coordinator is coordinator]
        return {
            "CurrentZoneGroupName": coordinator.name,
            "CurrentZoneGroupID": f"{coordinator.uid}:1",
            "CurrentZonePlayerUUIDsInGroup": ",".join(members),
        }

    # RenderingControl
    def _RenderingControl_GetVolume(self, _args: dict[str, str]) -> dict[str, str]:  # noqa: N802
        with self.lock:
            return {"CurrentVolume": str(self.volume)}

    def _RenderingControl_SetVolume(self, args: dict[str, str]) -> dict[str, str]:  # noqa: N802
        try:
            volume = int(args.get("DesiredVolume", ""))
        except ValueError:
            raise SoapFaultError(402, "invalid volume") from None
        with self.lock:
            self.volume = max(0, min(100, volume))
            self._notify_locked()
        return {}

    def _RenderingControl_GetMute(self, _args: dict[str, str]) -> dict[str, str]:  # noqa: N802
        with self.lock:
            return {"CurrentMute": "1" if self.muted else "0"}

    def _RenderingControl_SetMute(self, args: dict[str, str]) -> dict[str, str]:  # noqa: N802
        with self.lock:
            self.muted = args.get("DesiredMute") in ("1", "true", "True")
            self._notify_locked()
        return {}

    def _RenderingControl_GetBass(self, _args: dict[str, str]) -> dict[str, str]:  # noqa: N802
        return {"CurrentBass": str(self.bass)}

    def _RenderingControl_SetBass(self, args: dict[str, str]) -> dict[str, str]:  # noqa: N802
        self.bass = int(args.get("DesiredBass", "0"))
        return {}

    def _RenderingControl_GetTreble(self, _args: dict[str, str]) -> dict[str, str]:  # noqa: N802
        return {"CurrentTreble": str(self.treble)}

    def _RenderingControl_SetTreble(self, args: dict[str, str]) -> dict[str, str]:  # noqa: N802
        self.treble = int(args.get("DesiredTreble", "0"))
        return {}

    def _RenderingControl_GetLoudness(self, _args: dict[str, str]) -> dict[str, str]:  # noqa: N802
        return {"CurrentLoudness": "1" if self.loudness else "0"}

    def _RenderingControl_SetLoudness(self, args: dict[str, str]) -> dict[str, str]:  # noqa: N802
        self.loudness = args.get("DesiredLoudness") == "1"
        return {}

    def _RenderingControl_GetSupportsOutputFixed(  # noqa: N802
        self, _args: dict[str, str]
    ) -> dict[str, str]:
        return {"CurrentSupportsFixed": "0"}

    # AVTransport
    def _require_coordinator(self) -> None:
        if not self.is_coordinator:
            # What a group member answers to transport control: only its coordinator plays.
            raise SoapFaultError(800, "not the group coordinator")

    def _position_locked(self) -> float:
        transport = self.transport
        if transport.state == "PLAYING":
            return transport.position + (time.monotonic() - transport.since) / self.speed
        return transport.position

    def _AVTransport_SetAVTransportURI(self, args: dict[str, str]) -> dict[str, str]:  # noqa: N802
        self._require_coordinator()
        uri = args.get("CurrentURI", "")
        with self.lock:
            generation = self.transport.generation + 1
            self.transport = TransportState(
                uri=uri,
                metadata=args.get("CurrentURIMetaData", ""),
                generation=generation,
                play_mode=self.transport.play_mode,
            )
            self._notify_locked()
        return {}

    def _AVTransport_Play(self, _args: dict[str, str]) -> dict[str, str]:  # noqa: N802
        self._require_coordinator()
        with self.lock:
            transport = self.transport
            if not transport.uri:
                raise SoapFaultError(701, "no media")
            if transport.state == "PLAYING":
                return {}
            transport.generation += 1
            generation = transport.generation
            if transport.uri.startswith(("http://", "https://")) and transport.position == 0:
                transport.state = "TRANSITIONING"
                record = PlayRecord(transport.uri, time.monotonic(), self.volume, self.muted)
                self.plays.append(record)
                threading.Thread(
                    target=self._fetch_and_play,
                    args=(record, generation),
                    name=f"fake-{self.name}-play",
                    daemon=True,
                ).start()
            else:
                transport.state = "PLAYING"
                transport.since = time.monotonic()
            self._notify_locked()
        return {}

    def _AVTransport_Pause(self, _args: dict[str, str]) -> dict[str, str]:  # noqa: N802
        self._require_coordinator()
        with self.lock:
            self.transport.position = self._position_locked()
            self.transport.state = "PAUSED_PLAYBACK"
            self.transport.generation += 1
            self._notify_locked()
        return {}

    def _AVTransport_Stop(self, _args: dict[str, str]) -> dict[str, str]:  # noqa: N802
        self._require_coordinator()
        with self.lock:
            self.transport.position = 0.0
            self.transport.state = "STOPPED"
            self.transport.generation += 1
            self._notify_locked()
        return {}

    def _AVTransport_Seek(self, args: dict[str, str]) -> dict[str, str]:  # noqa: N802
        self._require_coordinator()
        unit, target = args.get("Unit", ""), args.get("Target", "")
        with self.lock:
            if unit == "TRACK_NR":
                number = int(target)
                if not self.transport.uri.startswith("x-rincon-queue:") or not (
                    1 <= number <= len(self.queue)
                ):
                    raise SoapFaultError(711, "illegal seek target")
                self.transport.track = number
                self.transport.position = 0.0
            elif unit == "REL_TIME":
                self.transport.position = parse_time(target)
                self.transport.since = time.monotonic()
            else:
                raise SoapFaultError(710, "seek mode not supported")
            self._notify_locked()
        return {}

    def _AVTransport_GetTransportInfo(self, _args: dict[str, str]) -> dict[str, str]:  # noqa: N802
        with self.lock:
            state = self.coordinator.transport.state
        return {"CurrentTransportState": state, "CurrentTransportStatus": "OK", "CurrentSpeed": "1"}

    def _AVTransport_GetPositionInfo(self, _args: dict[str, str]) -> dict[str, str]:  # noqa: N802
        with self.lock:
            transport = self.transport
            uri, duration, metadata = transport.uri, 0.0, ""
            if transport.uri.startswith("x-rincon-queue:") and self.queue:
                item = self.queue[transport.track - 1]
                uri, duration, metadata = item.uri, item.duration, item.metadata
            elif transport.uri.startswith(("http://", "https://")):
                duration = transport.clip_duration
            position = self._position_locked()
            return {
                "Track": str(transport.track if transport.uri else 0),
                "TrackDuration": format_time(duration),
                "TrackMetaData": metadata,
                "TrackURI": uri,
                "RelTime": format_time(position),
                "AbsTime": "NOT_IMPLEMENTED",
                "RelCount": "2147483647",
                "AbsCount": "2147483647",
            }

    def _AVTransport_GetMediaInfo(self, _args: dict[str, str]) -> dict[str, str]:  # noqa: N802
        with self.lock:
            transport = self.transport
            count = len(self.queue) if transport.uri.startswith("x-rincon-queue:") else 1
            return {
                "NrTracks": str(count if transport.uri else 0),
                "MediaDuration": "NOT_IMPLEMENTED",
                "CurrentURI": transport.uri,
                "CurrentURIMetaData": transport.metadata,
                "NextURI": "",
                "NextURIMetaData": "",
                "PlayMedium": "NETWORK",
                "RecordMedium": "NOT_IMPLEMENTED",
                "WriteStatus": "NOT_IMPLEMENTED",
            }

    def _AVTransport_GetTransportSettings(self, _args: dict[str, str]) -> dict[str, str]:  # noqa: N802
        return {"PlayMode": self.transport.play_mode, "RecQualityMode": "NOT_IMPLEMENTED"}

    def _AVTransport_SetPlayMode(self, args: dict[str, str]) -> dict[str, str]:  # noqa: N802
        self.transport.play_mode = args.get("NewPlayMode", "NORMAL")
        return {}

    def _AVTransport_GetCurrentTransportActions(  # noqa: N802
        self, _args: dict[str, str]
    ) -> dict[str, str]:
        return {"Actions": "Set, Stop, Pause, Play, Seek, Next, Previous"}

    def _AVTransport_BecomeCoordinatorOfStandaloneGroup(  # noqa: N802
        self, _args: dict[str, str]
    ) -> dict[str, str]:
        self.coordinator = self
        return {}

    # ---------------------------------------------------------- playback
    def _fetch_and_play(self, record: PlayRecord, generation: int) -> None:
        """Fetch the clip like a player, then play for its (scaled) duration."""
        fetched = fetch_and_decode(record.url)
        record.status, record.size, record.error = fetched.status, fetched.size, fetched.error
        record.duration = fetched.duration
        record.ok = fetched.ok and fetched.size > 0
        logger.info(
            "%s fetched %s: %s",
            self.name,
            record.url,
            f"{record.size} bytes, {record.duration:.2f} s of {fetched.kind}"
            if record.ok
            else record.error,
        )
        with self.lock:
            if self.transport.generation != generation:
                record.finished = True
                self._notify_locked()
                return
            if not record.ok:
                self.transport.state = "STOPPED"
                record.finished = True
                self._notify_locked()
                return
            self.transport.state = "PLAYING"
            self.transport.since = time.monotonic()
            self.transport.clip_duration = record.duration
            self._notify_locked()
        self._closing.wait(record.duration * self.speed)
        with self.lock:
            if self.transport.generation == generation:
                self.transport.state = "STOPPED"
                self.transport.position = 0.0
            record.finished = True
            record.finished_at = time.monotonic()
            self._notify_locked()


class _SpeakerServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], speaker: FakeSpeaker
    ) -> None:
        self.speaker = speaker
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def hang_up(self) -> None:
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _SpeakerHandler(BaseHTTPRequestHandler):
    """Answers in one write: status line, headers and body leave in one `send()`."""

    server: _SpeakerServer
    protocol_version = "HTTP/1.1"
    wbufsize = -1  # buffered: `handle_one_request` flushes everything at once

    def _respond(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, content_type, payload = self.server.speaker.handle_http(method, self.path, body)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self._respond("GET")

    def do_POST(self) -> None:
        self._respond("POST")

    def _subscription(self, method: str) -> None:
        headers = {name.upper(): value for name, value in self.headers.items()}
        status, extra = self.server.speaker.handle_subscription(method, self.path, headers)
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_SUBSCRIBE(self) -> None:
        self._subscription("SUBSCRIBE")

    def do_UNSUBSCRIBE(self) -> None:
        self._subscription("UNSUBSCRIBE")

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s: " + format, self.server.speaker.name, *args)


class _TwoWriteSpeakerHandler(_SpeakerHandler):
    """Answers as Python's `http.server` does: headers, then the body, Nagle on.

    On a kept-alive connection the body then waits in the speaker's kernel for the ACK
    of the headers, which the client may delay by up to ~40 ms.
    """

    wbufsize = 0
    disable_nagle_algorithm = False


def loopback_addresses(start: int = 2) -> list[str]:
    """Candidate addresses 127.0.0.<start>... for speakers; Linux routes all of 127/8."""
    return [f"127.0.0.{host}" for host in range(start, 255)]


def address_is_free(ip: str, ports: tuple[int, ...] = (SONOS_PORT,)) -> bool:
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((ip, port))
            except OSError:
                return False
    return True


@dataclass
class FakeSonosSystem:
    """Several speakers in one household, each on the next free loopback address.

    Free addresses are searched from a configurable base so that a run of the test suite
    and a standalone fake (e.g. the Docker e2e tests on the same host) do not collide.
    S2 speakers share one self-signed certificate, made when the first one is added.
    """

    speed: float = 1.0
    first_host: int = 2
    household: FakeHousehold = field(default_factory=FakeHousehold)
    speakers: dict[str, FakeSpeaker] = field(default_factory=dict)
    _certificate: Certificate | None = field(default=None, init=False, repr=False)
    _certificate_dir: Path | None = field(default=None, init=False, repr=False)

    def add(
        self,
        name: str,
        ip: str | None = None,
        *,
        two_writes: bool = False,
        uid: str | None = None,
        s2: S2Profile | None = None,
    ) -> FakeSpeaker:
        """A speaker; with `s2`, one that also serves the S2 API (audio clips) on 1443."""
        ports = (SONOS_PORT, S2_PORT) if s2 else (SONOS_PORT,)
        certificate = self.certificate() if s2 else None
        candidates = [ip] if ip else loopback_addresses(self.first_host)
        for candidate in candidates:
            taken = {speaker.ip for speaker in self.speakers.values()}
            if candidate in taken or (ip is None and not address_is_free(candidate, ports)):
                continue
            try:
                speaker = FakeSpeaker(
                    name,
                    candidate,
                    self.household,
                    uid=uid,
                    speed=self.speed,
                    two_writes=two_writes,
                    s2=s2,
                    certificate=certificate,
                )
            except OSError:
                if ip:
                    raise
                continue
            self.speakers[name] = speaker.start()
            return speaker
        raise RuntimeError("no free loopback address for a fake speaker")

    def certificate(self) -> Certificate:
        if self._certificate is None:
            self._certificate_dir = Path(tempfile.mkdtemp(prefix="fake-s2-"))
            self._certificate = make_certificate(self._certificate_dir)
        return self._certificate

    def _remove(self, name: str) -> FakeSpeaker:
        old = self.speakers.pop(name)
        old.close()
        with self.household._lock:
            self.household.speakers.remove(old)
        return old

    def _again(self, old: FakeSpeaker, ip: str) -> FakeSpeaker:
        profile = old.s2.profile if old.s2 else None
        return self.add(old.name, ip, two_writes=old.two_writes, uid=old.uid, s2=profile)

    def restart(self, name: str) -> FakeSpeaker:
        """Power-cycle a speaker: same name, address and UID, fresh state and connections."""
        old = self._remove(name)
        return self._again(old, old.ip)

    def move(self, name: str) -> FakeSpeaker:
        """The speaker comes back at another address (a new DHCP lease), same UID."""
        old = self._remove(name)
        taken = {speaker.ip for speaker in self.speakers.values()} | {old.ip}
        ip = next(
            a for a in loopback_addresses(self.first_host) if a not in taken and address_is_free(a)
        )
        return self._again(old, ip)

    def close(self) -> None:
        for speaker in self.speakers.values():
            speaker.close()
        if self._certificate_dir is not None:
            shutil.rmtree(self._certificate_dir, ignore_errors=True)

    def __getitem__(self, name: str) -> FakeSpeaker:
        return self.speakers[name]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run fake Sonos speakers on loopback addresses")
    parser.add_argument("--speaker", action="append", default=[], help="NAME=IP (repeatable)")
    parser.add_argument("--name", action="append", default=[], help="a speaker name")
    parser.add_argument("--ip", action="append", default=[], help="its address (with --name)")
    parser.add_argument(
        "--group", action="append", default=[], help="COORDINATOR,MEMBER[,MEMBER...]"
    )
    parser.add_argument("--speed", type=float, default=1.0, help="playback time factor")
    parser.add_argument("--radio", action="store_true", help="start with a radio stream playing")
    parser.add_argument(
        "--two-writes",
        action="append",
        default=[],
        metavar="NAME",
        help="this speaker answers in two writes with Nagle on, as http.server does",
    )
    parser.add_argument(
        "--block-events",
        action="append",
        default=[],
        metavar="NAME",
        help="this speaker's events never reach their subscriber (a firewall)",
    )
    parser.add_argument(
        "--s2",
        action="append",
        default=[],
        metavar="NAME",
        help="this speaker also serves the S2 API on port 1443 (audio clips)",
    )
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    pairs = [tuple(item.split("=", 1)) for item in options.speaker]
    pairs += list(zip(options.name, options.ip, strict=True))
    if not pairs:
        parser.error("give at least one --speaker NAME=IP")
    system = FakeSonosSystem(speed=options.speed)
    for name, ip in pairs:
        s2 = S2Profile() if name in options.s2 else None
        speaker = system.add(name, ip, two_writes=name in options.two_writes, s2=s2)
        if name in options.block_events:
            speaker.block_events()
        if options.radio:
            speaker.play_radio()
        logger.info("Fake speaker %s (%s) listening on %s:%d", name, speaker.uid, ip, SONOS_PORT)
    for spec in options.group:
        coordinator, *members = spec.split(",")
        system.household.group(system[coordinator], *(system[m] for m in members))
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stop.wait()
    with contextlib.suppress(Exception):
        system.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
