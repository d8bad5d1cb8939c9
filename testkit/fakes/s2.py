"""The Sonos S2 local WebSocket API (port 1443) of a fake speaker, for audio-clip tests.

A `FakeS2Player` listens on `wss://<ip>:1443/websocket/api` with a certificate the
tests make (`make_certificate`), refuses a handshake without the right `X-Sonos-Api-Key`
(HTTP 401) or without the `v1.api.smartspeaker.audio` subprotocol (HTTP 400), and answers
like a speaker: the household id to an empty command, `groups:1 getGroups` with every S2
player of its household and their capabilities, `audioClip:1 subscribe`, `loadAudioClip`
and `cancelAudioClip`. A loaded clip is fetched and decoded (MP3 or WAV, `fetch`) like a
real player would, then goes ACTIVE and DONE after its duration times `speed`, with
Sonos' documented priority rules: a HIGH clip interrupts a LOW one, a LOW one interrupts
a LOW one, a HIGH one interrupts a HIGH one only after it has played 10 s (times
`speed`). What happens to a LOW clip loaded while a HIGH one plays is not documented:
here it waits. Interrupted clips report INTERRUPTED; a clip that cannot be fetched or
decoded reports ERROR.

It answers in the shapes captured from real speakers (`testkit.fakes.s2_shapes`): getGroups
players with `zoneInfo`, `deviceIds` and `devices` (bonded non-primary devices bare),
answers typed (`type`), errors as `globalError` with real codes (ERROR_UNSUPPORTED_NAMESPACE,
ERROR_UNSUPPORTED_COMMAND, ERROR_INVALID_OBJECT_ID for a wrong player or household id), and
`GET /api/v1/players/local/info` on the same port (HTTP 400 ERROR_API_KEY_VALIDATION_FAILED
without the key).

`S2Profile` turns it into the speakers the bridge must handle: no AUDIO_CLIP capability,
a model name (Play:1), a globalError on load, an ERROR after load, a stereo pair or a
speaker with a Sub (`channels` and `bonded` devices), answers that never carry
`householdId`, no local/info (older firmware), every answer late by `answer_delay`, clip
events under another type name, or a port that takes connections and never answers
(`silent`). A `FakeSpeaker` (testkit/fakes/speaker/) owns one when it is made with a
profile; an S1 speaker is one without.

Threads: websockets runs one thread per connection (the handler below, which also answers
local/info); each loaded clip gets one thread that fetches and plays it; a silent one holds
its connections on one acceptor thread (`testkit.fakes.silent_port`). Shared state is guarded
by `lock` (a Condition) and every change notifies it, so tests await with `wait_until`.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, Protocol

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve
from websockets.typing import Subprotocol

from testkit.fakes import s2_shapes as shapes
from testkit.fakes.fetch import FetchRecord, fetch_and_decode
from testkit.fakes.silent_port import SilentPort
from testkit.waits import wait_on

logger = logging.getLogger(__name__)

S2_PORT = 1443
S2_PATH = "/websocket/api"
INFO_PATH = "/api/v1/players/local/info"
SONOS_API_KEY = "123e4567-e89b-12d3-a456-426655440000"
SUBPROTOCOL = "v1.api.smartspeaker.audio"
HIGH_OVER_HIGH_AFTER = 10.0  # seconds a HIGH clip plays before another HIGH may interrupt it
DEFAULT_CAPABILITIES = ("PLAYBACK", "CLOUD", "AIRPLAY", "AUDIO_CLIP", "VOICE")


@dataclass(frozen=True, slots=True)
class Certificate:
    """A self-signed certificate and its key, as a speaker ships one."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        # With TLS 1.3, websockets' threaded server now and then never answers the upgrade
        # request that arrives right behind the client's Finished (seen here in about 1 of
        # 60 connections, always on the server's side; 0 in 400 with TLS 1.2). The client
        # accepts both versions, so the fake speaks 1.2.
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        return context


def make_certificate(directory: Path) -> Certificate:
    """A throw-away self-signed EC certificate (openssl takes ~10 ms)."""
    cert, key = directory / "s2.crt", directory / "s2.key"
    command = ["openssl", "req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=fake-sonos"]
    command += ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    subprocess.run(
        [*command, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return Certificate(cert, key)


@dataclass(frozen=True, slots=True)
class S2Profile:
    """What kind of S2 speaker the fake is."""

    model: str = "One"
    capabilities: tuple[str, ...] = DEFAULT_CAPABILITIES
    load_error: str | None = None  # loadAudioClip answered with globalError and this code
    play_error: str | None = None  # loadAudioClip accepted, then status ERROR with this code
    load_hangs: bool = False  # loadAudioClip is never answered (a hung firmware)
    channels: tuple[str, ...] = shapes.FULL_RANGE  # what the primary device plays
    bonded: tuple[shapes.Device, ...] = ()  # e.g. the right speaker of a pair, a Sub
    chime_seconds: float = 0.5  # length of the built-in chime (clipType CHIME, no streamUrl)
    api_key: str = SONOS_API_KEY
    household_in_answers: bool = True  # False: no answer ever carries householdId
    local_info: bool = True  # False: no /api/v1/players/local/info (HTTP 404)
    answer_delay: float = 0.0  # seconds before every answer (local/info and commands)
    event_type: str = "audioClipStatus"  # the type name clip events carry
    silent: bool = False  # port 1443 takes connections and never answers


def stereo_pair(right_id: str = "RINCON_RIGHT01400") -> dict[str, Any]:
    """Profile fields of the left speaker of a stereo pair (the right one is bare)."""
    right = shapes.Device(right_id, channels=shapes.RIGHT, bare=True)
    return {"channels": shapes.LEFT, "bonded": (right,)}


def with_sub(sub_id: str = "RINCON_SUB01400") -> dict[str, Any]:
    """Profile fields of a full-range speaker (or soundbar) bonded with a Sub."""
    return {"bonded": (shapes.Device(sub_id, model="Sub", channels=shapes.SUB, bare=True),)}


@dataclass
class LoadedClip:
    """One loadAudioClip the player accepted, and every status it went through."""

    id: str
    name: str
    app_id: str
    priority: str
    clip_type: str
    stream_url: str | None
    volume: int | None
    loaded_at: float
    statuses: list[str] = field(default_factory=list)
    error_code: str | None = None
    active_at: float | None = None
    ended_at: float | None = None
    duration: float = 0.0
    fetch: FetchRecord | None = None

    @property
    def status(self) -> str:
        return self.statuses[-1] if self.statuses else ""

    @property
    def finished(self) -> bool:
        return self.status in {"DONE", "ERROR", "INTERRUPTED", "DISMISSED"}

    def public(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "_objectType": "audioClip",
            "id": self.id,
            "name": self.name,
            "appId": self.app_id,
            "priority": self.priority,
            "clipType": self.clip_type,
        }
        if self.statuses:
            body["status"] = self.status
        if self.error_code:
            body["errorCode"] = self.error_code
        return body


class S2Household(Protocol):
    """What a player needs of its household: the id, and every S2 player for getGroups."""

    household_id: str

    def groups_body(self, include_devices: bool) -> dict[str, Any]: ...


class FakeS2Player:
    """The 1443 endpoint of one speaker."""

    def __init__(
        self,
        ip: str,
        player_id: str,
        name: str,
        household: S2Household,
        certificate: Certificate,
        *,
        profile: S2Profile | None = None,
        speed: float = 1.0,
        port: int = S2_PORT,
    ) -> None:
        self.ip = ip
        self.port = port
        self.player_id = player_id
        self.name = name
        self.household = household
        self.profile = profile or S2Profile()
        self.speed = speed
        self.lock = threading.Condition()
        self.commands: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.certificate = certificate
        self.handshakes = 0  # connections that passed the handshake
        self.open_connections = 0
        self.refused: list[str] = []  # why handshakes were refused
        self.clips: list[LoadedClip] = []
        self._active: LoadedClip | None = None
        self._waiting: list[LoadedClip] = []
        self._subscribers: set[ServerConnection] = set()
        self._send_locks: dict[ServerConnection, threading.Lock] = {}
        self._ids = itertools.count(1)
        self._closing = threading.Event()
        self.silent_port = SilentPort(ip, port) if self.profile.silent else None
        self._server: Server | None = None
        if self.silent_port is None:
            self._server = serve(
                self._serve_connection,
                ip,
                port,
                ssl=certificate.server_context(),
                process_request=self._check_handshake,
                subprotocols=[Subprotocol(SUBPROTOCOL)],
            )
            self._thread = threading.Thread(
                target=self._server.serve_forever, name=f"fake-s2-{name}", daemon=True
            )

    # ------------------------------------------------------------ lifecycle
    def start(self) -> FakeS2Player:
        if self.silent_port is not None:
            self.silent_port.start()
        else:
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop listening and drop every connection, as a powered-off player."""
        self._closing.set()
        if self.silent_port is not None:
            self.silent_port.close()
        if self._server is not None:
            self._server.shutdown()
            self._thread.join(5)
        with self.lock:
            self.lock.notify_all()

    @property
    def websocket_url(self) -> str:
        return f"wss://{self.ip}:{self.port}{S2_PATH}"

    # ----------------------------------------------------- test controls
    def wait_until(
        self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = ""
    ) -> None:
        wait_on(self.lock, predicate, timeout, f"{self.name}: {what or predicate}")

    def commands_named(self, command: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        with self.lock:
            return [item for item in self.commands if item[0].get("command") == command]

    def shape(self) -> shapes.Player:
        """This player as the captured shapes describe it: primary device, bonded ones."""
        primary = shapes.Device(
            self.player_id,
            model=self.profile.model,
            channels=self.profile.channels,
            capabilities=self.profile.capabilities,
        )
        return shapes.Player(
            self.player_id,
            self.name,
            self.websocket_url,
            (primary, *self.profile.bonded),
            capabilities=self.profile.capabilities,
        )

    def player_object(self, include_devices: bool) -> dict[str, Any]:
        player = shapes.player_object(self.shape())
        if not include_devices:
            del player["devices"]
        return player

    # ---------------------------------------------------------- handshake
    def _check_handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path == INFO_PATH:
            return self._local_info(connection, request)
        if request.path != S2_PATH:
            return self._refuse(connection, HTTPStatus.NOT_FOUND, f"path {request.path}")
        if request.headers.get("X-Sonos-Api-Key") != self.profile.api_key:
            return self._refuse(connection, HTTPStatus.UNAUTHORIZED, "API key missing or wrong")
        offered = ",".join(request.headers.get_all("Sec-WebSocket-Protocol"))
        if SUBPROTOCOL not in offered:
            return self._refuse(connection, HTTPStatus.BAD_REQUEST, "no subprotocol")
        return None

    def _local_info(self, connection: ServerConnection, request: Request) -> Response:
        """GET local/info: the speaker's ids and model, as real firmware answers it."""
        with self.lock:
            self.commands.append(({"path": INFO_PATH}, {}))
            self.lock.notify_all()
        self._closing.wait(self.profile.answer_delay)
        if request.headers.get("X-Sonos-Api-Key") != self.profile.api_key:
            return _json_response(
                connection,
                HTTPStatus.BAD_REQUEST,
                shapes.global_error(shapes.API_KEY_VALIDATION_FAILED),
            )
        if not self.profile.local_info:
            return _json_response(
                connection, HTTPStatus.NOT_FOUND, shapes.global_error("ERROR_RESOURCE_NOT_FOUND")
            )
        rest_url = f"https://{self.ip}:{self.port}/api"
        info = shapes.local_info(self.shape(), self.household.household_id, rest_url)
        return _json_response(connection, HTTPStatus.OK, info)

    def _refuse(self, connection: ServerConnection, status: HTTPStatus, why: str) -> Response:
        with self.lock:
            self.refused.append(why)
            self.lock.notify_all()
        return connection.respond(status, f"{why}\n")

    # ---------------------------------------------------------- messages
    def _serve_connection(self, connection: ServerConnection) -> None:
        with self.lock:
            self.handshakes += 1
            self.open_connections += 1
            self._send_locks[connection] = threading.Lock()
            self.lock.notify_all()
        try:
            for raw in connection:
                header, body = json.loads(raw)
                with self.lock:
                    self.commands.append((header, body))
                    self.lock.notify_all()
                if self.profile.load_hangs and header.get("command") == "loadAudioClip":
                    continue
                if self._closing.wait(self.profile.answer_delay):
                    return
                reply = self._answer(connection, header, body)
                self._send(connection, reply)
        except ConnectionClosed:
            pass
        finally:
            with self.lock:
                self.open_connections -= 1
                self._subscribers.discard(connection)
                self._send_locks.pop(connection, None)
                self.lock.notify_all()

    def _send(self, connection: ServerConnection, message: list[dict[str, Any]]) -> None:
        lock = self._send_locks.get(connection)
        if lock is None:
            return
        with lock, contextlib.suppress(ConnectionClosed):
            connection.send(json.dumps(message))

    def _answer(
        self, connection: ServerConnection, header: dict[str, Any], body: dict[str, Any]
    ) -> list[dict[str, Any]]:
        namespace, command = header.get("namespace"), header.get("command")
        if not namespace:  # the empty command: refused (with the household, if it says it)
            return self._error(header, "ERROR_MISSING_PARAMETERS")
        if namespace == "groups:1" and command == "getGroups":
            if header.get("householdId") != self.household.household_id:
                return self._error(header, shapes.INVALID_OBJECT_ID)
            return self._ok(header, self.household.groups_body(bool(body.get("includeDeviceInfo"))))
        if namespace != "audioClip:1":
            return self._error(header, shapes.UNSUPPORTED_NAMESPACE)
        if header.get("playerId") != self.player_id:
            return self._error(header, shapes.INVALID_OBJECT_ID)  # only its own player id
        if command == "subscribe":
            with self.lock:
                self._subscribers.add(connection)
            return self._ok(header, {})
        if command == "loadAudioClip":
            return self._load(header, body)
        if command == "cancelAudioClip":
            return self._cancel(header, str(body.get("id", "")))
        return self._error(header, shapes.UNSUPPORTED_COMMAND)

    def _reply_header(self, header: dict[str, Any], success: bool, kind: str) -> dict[str, Any]:
        """As captured: path ids come back as sent (a refused loadAudioClip has no
        householdId). Only the refusal of the empty command names the household, which no
        capture shows; `household_in_answers=False` drops it from every answer."""
        empty = not header.get("namespace")
        named = self.profile.household_in_answers and empty
        household = self.household.household_id if named else None
        reply = shapes.answer_header(
            header, success=success, body_type=kind, household_id=household
        )
        if not self.profile.household_in_answers:
            reply.pop("householdId", None)
        return reply

    def _ok(self, header: dict[str, Any], body: dict[str, Any]) -> list[dict[str, Any]]:
        return [self._reply_header(header, True, body.get("_objectType", "none")), body]

    def _error(self, header: dict[str, Any], code: str) -> list[dict[str, Any]]:
        body = {"_objectType": "globalError", "errorCode": code, "reason": code.lower()}
        return [self._reply_header(header, False, "globalError"), body]

    # --------------------------------------------------------------- clips
    def _load(self, header: dict[str, Any], body: dict[str, Any]) -> list[dict[str, Any]]:
        if self.profile.load_error:
            return self._error(header, self.profile.load_error)
        if not body.get("name") or not body.get("appId"):
            return self._error(header, "ERROR_MISSING_PARAMETERS")
        volume = body.get("volume")
        clip = LoadedClip(
            id=str(next(self._ids)),
            name=str(body["name"]),
            app_id=str(body["appId"]),
            priority=str(body.get("priority", "LOW")),
            clip_type=str(body.get("clipType", "CHIME")),
            stream_url=body.get("streamUrl"),
            volume=int(volume) if volume is not None else None,
            loaded_at=time.monotonic(),
        )
        with self.lock:
            self.clips.append(clip)
            self.lock.notify_all()
        answer = self._ok(header, clip.public())
        threading.Thread(
            target=self._prepare, args=(clip,), name=f"fake-s2-clip-{clip.id}", daemon=True
        ).start()
        return answer

    def _cancel(self, header: dict[str, Any], clip_id: str) -> list[dict[str, Any]]:
        with self.lock:
            clip = next((c for c in self.clips if c.id == clip_id and not c.finished), None)
            if clip is None:
                return self._error(header, "ERROR_AUDIO_CLIP_ID_NOT_FOUND")
            if clip in self._waiting:
                self._waiting.remove(clip)
            self._finish_locked(clip, "DISMISSED")
        return self._ok(header, {})

    def _prepare(self, clip: LoadedClip) -> None:
        """Fetch and decode like a player, then play or report ERROR."""
        if self.profile.play_error:
            self._fail(clip, self.profile.play_error)
            return
        if clip.stream_url is None:
            clip.duration = self.profile.chime_seconds
        else:
            clip.fetch = fetch_and_decode(clip.stream_url)
            logger.info(
                "%s got clip %s (%s): %s",
                self.name,
                clip.id,
                clip.stream_url,
                clip.fetch.error or f"{clip.fetch.duration:.2f} s of {clip.fetch.kind}",
            )
            if clip.fetch.error:
                self._fail(clip, "ERROR_AUDIO_CLIP_MEDIA_ERROR")
                return
            clip.duration = clip.fetch.duration
        with self.lock:
            if clip.finished:  # dismissed while it was fetched
                return
            active = self._active
            if active is None or self._may_interrupt(clip, active):
                if active is not None:
                    self._finish_locked(active, "INTERRUPTED")
                self._start_locked(clip)
            else:
                self._waiting.append(clip)

    def _may_interrupt(self, new: LoadedClip, active: LoadedClip) -> bool:
        if new.priority == "HIGH" and active.priority == "HIGH":
            played = time.monotonic() - (active.active_at or time.monotonic())
            return played > HIGH_OVER_HIGH_AFTER * self.speed
        return not (new.priority == "LOW" and active.priority == "HIGH")

    def _start_locked(self, clip: LoadedClip) -> None:
        self._active = clip
        clip.active_at = time.monotonic()
        self._set_status_locked(clip, "ACTIVE")
        threading.Thread(
            target=self._play, args=(clip,), name=f"fake-s2-play-{clip.id}", daemon=True
        ).start()

    def _play(self, clip: LoadedClip) -> None:
        with self.lock:
            ends = time.monotonic() + clip.duration * self.speed
            self.lock.wait_for(
                lambda: clip.finished or self._closing.is_set() or time.monotonic() >= ends,
                timeout=clip.duration * self.speed,
            )
            if not clip.finished and not self._closing.is_set():
                self._finish_locked(clip, "DONE")

    def _fail(self, clip: LoadedClip, code: str) -> None:
        with self.lock:
            clip.error_code = code
            self._finish_locked(clip, "ERROR")

    def _finish_locked(self, clip: LoadedClip, status: str) -> None:
        self._set_status_locked(clip, status)
        if self._active is clip:
            self._active = None
            if self._waiting:
                self._start_locked(self._waiting.pop(0))

    def _set_status_locked(self, clip: LoadedClip, status: str) -> None:
        clip.statuses.append(status)
        if clip.finished:
            clip.ended_at = time.monotonic()
        self.lock.notify_all()
        event_header = {
            "namespace": "audioClip:1",
            "type": self.profile.event_type,
            "name": self.profile.event_type,
            "householdId": self.household.household_id,
            "playerId": self.player_id,
        }
        event: list[dict[str, Any]] = [
            event_header,
            {"_objectType": "audioClipStatus", "audioClips": [clip.public()]},
        ]
        for connection in list(self._subscribers):
            # Sent from this thread under the lock: events keep their order per connection.
            self._send(connection, event)


def _json_response(
    connection: ServerConnection, status: HTTPStatus, body: dict[str, Any]
) -> Response:
    response = connection.respond(status, json.dumps(body))
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json"
    return response
