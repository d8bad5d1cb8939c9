"""The speaker's HTTP server on <ip>:1400: SOAP control, descriptions, SUBSCRIBE, `/fake/`.

One thread per connection (`ThreadingHTTPServer`); each calls into the `FakeSpeaker`.
It tracks open connections so that closing the speaker hangs them up like a powered-off
player. Also: finding free loopback addresses for speakers.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from testkit.fakes.speaker.state import SONOS_PORT

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from testkit.fakes.speaker.device import FakeSpeaker


class SpeakerServer(ThreadingHTTPServer):
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


class SpeakerHandler(BaseHTTPRequestHandler):
    """Answers in one write: status line, headers and body leave in one `send()`."""

    server: SpeakerServer
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


class TwoWriteSpeakerHandler(SpeakerHandler):
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
