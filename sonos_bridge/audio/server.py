"""A small HTTP server from which the speakers fetch the clips.

It serves only clips the cache knows, looked up by the key in the URL (never by joining a
path), so `..` tricks and any other path are a plain 404. Sonos players want a URL ending
in `.mp3`, `audio/mpeg`, `Content-Length` and byte ranges; HEAD is answered too. A Range
header the server cannot use is ignored (the whole clip is sent), as RFC 9110 asks; only
a well-formed range beyond the clip's end is refused with 416.

Each connection has a thread (`http.server`). A kept-alive connection that stays silent
for `idle_timeout` is closed, and beyond `max_connections` the oldest idle connections are
closed to make room: a speaker, or anything else on the LAN, leaving connections open
cannot pile up threads. Threads: `serve_forever` runs on "audio-server" and accepts;
each connection's handler runs on its own thread and touches only its connection, the
cache's thread-safe lookups and the server's connection table (under its lock).
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from sonos_bridge.audio.clip_cache import Clip, ClipCache
from sonos_bridge.errors import StartupError

logger = logging.getLogger(__name__)

CLIP_PATH = re.compile(r"^/tts/([0-9a-f]{32})\.mp3$")
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


IDLE_TIMEOUT = 30.0
MAX_CONNECTIONS = 64


class RangeNotSatisfiableError(ValueError):
    """A well-formed byte range that starts beyond the clip's end (416)."""


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive for a single `bytes=` range; None to ignore the header.

    Multiple ranges are ignored too: players never ask for them, and RFC 9110 lets a
    server answer them with the whole representation.
    """
    match = RANGE.match(header.strip())
    if match is None:
        return None
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    if not first_text:  # suffix: the last N bytes
        length = int(last_text)
        if length == 0 or size == 0:
            raise RangeNotSatisfiableError(header)
        return max(0, size - length), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if last_text and last < first:
        return None  # invalid, not unsatisfiable
    if first >= size:
        raise RangeNotSatisfiableError(header)
    return first, min(last, size - 1)


class _AudioServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(
        self, address: tuple[str, int], cache: ClipCache, max_connections: int, idle_timeout: float
    ) -> None:
        self.cache = cache
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self._connections: dict[socket.socket, bool] = {}  # -> idle, oldest first
        self._connections_lock = threading.Lock()
        super().__init__(address, _ClipHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections[request] = True
            excess = len(self._connections) - self.max_connections
            idle = [c for c, is_idle in self._connections.items() if is_idle and c is not request]
        for connection in idle[: max(0, excess)]:
            with contextlib.suppress(OSError):  # its handler sees EOF and ends
                connection.shutdown(socket.SHUT_RDWR)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.pop(request, None)
        super().shutdown_request(request)

    def mark_idle(self, connection: socket.socket, idle: bool) -> None:
        with self._connections_lock:
            if connection in self._connections:
                self._connections[connection] = idle


class _ClipHandler(BaseHTTPRequestHandler):
    server: _AudioServer
    protocol_version = "HTTP/1.1"
    server_version = "sonos-bridge"
    # Headers and body are separate writes: without this, Nagle holds the body back for
    # the client's delayed ACK on a kept-alive connection.
    disable_nagle_algorithm = True
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.idle_timeout)  # for reads and writes alike

    def handle_one_request(self) -> None:
        self.server.mark_idle(self.connection, True)  # until a request line arrives
        super().handle_one_request()

    def parse_request(self) -> bool:
        self.server.mark_idle(self.connection, False)
        return super().parse_request()

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _clip(self) -> Clip | None:
        match = CLIP_PATH.match(self.path.split("?", 1)[0])
        if match is None:
            return None
        clip = self.server.cache.by_key(match.group(1))
        return clip if clip is not None and clip.path.is_file() else None

    def _not_found(self, send_body: bool) -> None:
        body = b"not found\n"
        self.send_response(HTTPStatus.NOT_FOUND)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _serve(self, send_body: bool) -> None:
        clip = self._clip()
        if clip is None:
            logger.debug("No clip at %s for %s", self.path, self.client_address[0])
            self._not_found(send_body)
            return
        try:
            handle = clip.path.open("rb")
        except OSError:
            self._not_found(send_body)
            return
        with handle:
            size = clip.path.stat().st_size
            first, last = 0, size - 1
            status = HTTPStatus.OK
            try:
                wanted = parse_range(self.headers.get("Range") or "", size)
            except RangeNotSatisfiableError:
                self._not_satisfiable(size)
                return
            if wanted is not None:
                first, last = wanted
                status = HTTPStatus.PARTIAL_CONTENT
            length = last - first + 1
            self.send_response(status)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("Content-Length", str(length))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Cache-Control", "public, max-age=86400")
            if status == HTTPStatus.PARTIAL_CONTENT:
                self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
            self.end_headers()
            if send_body:
                handle.seek(first)
                self._copy(handle, length)

    def _not_satisfiable(self, size: int) -> None:
        self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
        self.send_header("Content-Range", f"bytes */{size}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _copy(self, handle: Any, length: int) -> None:
        remaining = length
        try:
            while remaining > 0:
                chunk = handle.read(min(65536, remaining))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            logger.debug("%s hung up during the transfer", self.client_address[0])

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s: " + format, self.client_address[0], *args)


class AudioServer:
    """Runs the clip server in a background thread and builds the URLs for speakers."""

    def __init__(
        self,
        cache: ClipCache,
        bind: str,
        port: int,
        advertise_host: str | None,
        *,
        max_connections: int = MAX_CONNECTIONS,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        try:
            self._server = _AudioServer((bind, port), cache, max_connections, idle_timeout)
        except OSError as exc:
            raise StartupError(
                f"HTTP_BIND={bind} HTTP_PORT={port}: cannot serve audio there "
                f"({exc.strerror or exc}); choose another HTTP_PORT"
            ) from None
        self.port = int(self._server.server_address[1])
        self.advertise_host = advertise_host
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="audio-server",
            daemon=True,
        )

    def start(self) -> None:
        self._thread.start()
        logger.info(
            "Serving clips on port %d (advertised as %s)",
            self.port,
            self.advertise_host or "the address that routes to each speaker",
        )

    def stop(self) -> None:
        if self._thread.is_alive():  # `shutdown` waits for a serve_forever that is running
            self._server.shutdown()
        self._server.server_close()

    def url_for(self, clip: Clip, speaker_ip: str) -> str:
        host = self.advertise_host or local_address_towards(speaker_ip)
        return f"http://{host}:{self.port}/tts/{clip.file_name}"


def is_clip_url(url: str) -> bool:
    """Whether a speaker's current URI is one of the bridge's clips (any host or port)."""
    parts = urlsplit(url)
    return parts.scheme == "http" and CLIP_PATH.match(parts.path) is not None


def local_address_towards(remote_ip: str) -> str:
    """The local address the kernel would use to reach `remote_ip` (no packet is sent).

    Connecting a UDP socket only selects a route and a source address.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((remote_ip, 1400))
        return str(probe.getsockname()[0])
