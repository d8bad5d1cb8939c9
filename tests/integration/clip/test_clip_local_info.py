"""The local/info client against real HTTPS servers answering as captured S2 speakers do."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sonos_bridge.playback.clip.errors import S2KeyRefusedError, S2SilentError, S2UnreachableError
from sonos_bridge.playback.clip.local_info import (
    PATH,
    LocalInfoUnavailableError,
    fetch_local_info,
)
from sonos_bridge.playback.clip.protocol import API_KEY
from testkit.fakes.s2 import make_certificate
from testkit.fakes.s2_shapes import Device, Player, global_error, local_info
from testkit.fakes.silent_port import SilentPort

HOUSEHOLD = "Sonos_Ab12Cd34Ef56Gh78Ij90.Kl12Mn34Op56Qr"


class InfoServer:
    """An HTTPS server on 127.0.0.1 answering local/info like a speaker (or not)."""

    def __init__(self, directory: Path) -> None:
        self.status = 200
        self.body: dict[str, Any] = {}
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append((self.path, self.headers.get("X-Sonos-Api-Key")))
                status, body = server.status, server.body
                if self.headers.get("X-Sonos-Api-Key") != API_KEY:
                    status, body = 400, global_error("ERROR_API_KEY_VALIDATION_FAILED")
                elif self.path != PATH:
                    status, body = 404, global_error("ERROR_RESOURCE_NOT_FOUND")
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        certificate = make_certificate(directory)
        self.http.socket = certificate.server_context().wrap_socket(
            self.http.socket, server_side=True
        )
        self.port = self.http.server_address[1]
        self._thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def info_server(tmp_path: Path) -> Iterator[InfoServer]:
    server = InfoServer(tmp_path)
    try:
        yield server
    finally:
        server.close()


def test_the_ids_and_model_come_from_the_speaker_with_the_key_sent(
    info_server: InfoServer,
) -> None:
    url = "wss://127.0.0.1:1443/websocket/api"
    speaker = Player("RINCON_A01400", "Kitchen", url, (Device("RINCON_A01400", "Move"),))
    info_server.body = local_info(speaker, HOUSEHOLD, "https://127.0.0.1:1443/api")
    info = fetch_local_info("127.0.0.1", 2.0, info_server.port)
    assert (info.household_id, info.player_id, info.model) == (HOUSEHOLD, "RINCON_A01400", "Move")
    assert info_server.requests == [(PATH, API_KEY)]


def test_a_refused_key_is_said_with_the_speakers_code(
    info_server: InfoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sonos_bridge.playback.clip.local_info.API_KEY", "another-key")
    with pytest.raises(S2KeyRefusedError) as refused:
        fetch_local_info("127.0.0.1", 2.0, info_server.port)
    assert str(refused.value) == (
        f"port {info_server.port} refused the API key (HTTP 400, ERROR_API_KEY_VALIDATION_FAILED)"
    )


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (404, global_error("ERROR_RESOURCE_NOT_FOUND"), "answered HTTP 404"),
        (200, {"_objectType": "discoveryInfo"}, "no householdId or playerId"),
    ],
    ids=["older-firmware", "no-ids"],
)
def test_no_usable_local_info_leaves_the_older_way(
    info_server: InfoServer, status: int, body: dict[str, Any], reason: str
) -> None:
    info_server.status, info_server.body = status, body
    with pytest.raises(LocalInfoUnavailableError, match=reason):
        fetch_local_info("127.0.0.1", 2.0, info_server.port)


def test_a_closed_port_is_unreachable_and_a_silent_one_is_said_to_be_silent() -> None:
    with pytest.raises(S2UnreachableError, match="connection refused") as closed:
        fetch_local_info("127.0.9.253", 2.0, 1443)
    assert not isinstance(closed.value, S2SilentError)
    silent = SilentPort("127.0.9.252", 1443).start()
    try:
        with pytest.raises(S2SilentError, match=r"did not answer within 0\.3 s"):
            fetch_local_info("127.0.9.252", 0.3, 1443)
    finally:
        silent.close()
