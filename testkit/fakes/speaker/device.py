"""`FakeSpeaker`: one fake player's state, test controls, events and request routing.

Its HTTP server (`server`) hands every request to `handle_http` / `handle_subscription`
on a handler thread; SOAP actions go to the service modules through `services.ACTIONS`.
`lock` (a Condition) guards the state; `notify_locked` wakes tests and event subscribers.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from testkit.fakes.events import EventPublisher
from testkit.fakes.s2 import Certificate, FakeS2Player, S2Profile
from testkit.fakes.speaker.server import SpeakerHandler, SpeakerServer, TwoWriteSpeakerHandler
from testkit.fakes.speaker.services import ACTIONS, SCPD_DOCUMENTS, SERVICE_PATHS
from testkit.fakes.speaker.state import (
    RADIO_META,
    RADIO_URI,
    SONOS_PORT,
    STALL_LIMIT,
    ActionRecord,
    PlayRecord,
    QueueTrack,
    TransportState,
)
from testkit.fakes.speaker.topology import FakeHousehold
from testkit.fakes.upnp import (
    XML_CONTENT_TYPE,
    SoapFaultError,
    device_description,
    fault_envelope,
    last_change_event,
    parse_call,
    response_envelope,
)
from testkit.waits import wait_on

logger = logging.getLogger(__name__)


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
        self.closing = threading.Event()
        handler = TwoWriteSpeakerHandler if two_writes else SpeakerHandler
        self.two_writes = two_writes
        self._server = SpeakerServer((ip, SONOS_PORT), handler, self)
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
        self.closing.set()
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._server.hang_up()
        self.events.close()
        if self.s2 is not None:
            self.s2.close()
        with self.lock:
            self.transport.generation += 1
            self.notify_locked()

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
            self.notify_locked()

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
            self.notify_locked()

    def set_source(self, uri: str, state: str = "PLAYING") -> None:
        """Any other source (TV, line-in, a cloud queue): only the URI and state."""
        with self.lock:
            self.transport = TransportState(uri=uri, state=state, since=time.monotonic())
            self.notify_locked()

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
        wait_on(self.lock, predicate, timeout, f"{self.name}: {what or predicate}")

    def calls(self, action: str) -> list[ActionRecord]:
        with self.lock:
            return [record for record in self.actions if record.action == action]

    @property
    def state(self) -> str:
        with self.lock:
            return self.transport.state

    # ------------------------------------------------------------ events
    def notify_locked(self) -> None:
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
            if path in SCPD_DOCUMENTS:
                return 200, XML_CONTENT_TYPE, SCPD_DOCUMENTS[path]
            return 404, "text/plain", b"not found"
        service = SERVICE_PATHS.get(path)
        if method != "POST" or service is None:
            return 404, "text/plain", b"not found"
        action = "?"
        try:
            action, arguments = parse_call(body)
            with self.lock:
                self.actions.append(ActionRecord(service, action, arguments, time.monotonic()))
                self.notify_locked()
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
        handler = ACTIONS.get(service, {}).get(action)
        if handler is None:
            raise SoapFaultError(401, "invalid action")
        return handler(self, args)
