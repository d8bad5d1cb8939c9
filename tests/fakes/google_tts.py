"""A local stand-in for Google Translate's TTS endpoint, for gTTS without the internet.

gTTS POSTs to https://translate.google.<tld>/_/TranslateWebserverUi/data/batchexecute.
`redirect_google` swaps only the scheme and host of those requests at requests'
transport adapter, so gTTS, requests and urllib3 run unchanged against this real HTTP
server, timeouts included. Answers follow the recorded format: a `jQ1olc` line carrying
the base64 MP3.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
import requests.adapters


class FakeGoogle:
    """Serves `mode`: "ok" (audio), "429", "500", "slow" (no answer in time), "empty"."""

    def __init__(self, audio: bytes) -> None:
        self.audio = audio
        self.mode = "ok"
        self.requests = 0
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _GoogleHandler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> FakeGoogle:
        self._thread.start()
        return self

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def body(self) -> bytes:
        encoded = base64.b64encode(self.audio if self.mode == "ok" else b"").decode()
        inner = json.dumps([encoded], separators=(",", ":"))
        rpc = json.dumps(
            [["wrb.fr", "jQ1olc", inner, None, None, None, "generic"]], separators=(",", ":")
        )
        return f")]}}'\n\n{len(rpc)}\n{rpc}\n".encode()


class _GoogleHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        fake: FakeGoogle = self.server.fake  # type: ignore[attr-defined]
        fake.requests += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if fake.mode == "slow":
            fake._release.wait(30)
            return
        if fake.mode in ("429", "500"):
            body = b"Too Many Requests" if fake.mode == "429" else b"oops"
            self.send_response(int(fake.mode))
        else:
            body = fake.body()
            self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def redirect_google(monkeypatch: pytest.MonkeyPatch, port: int) -> Iterator[None]:
    """Send requests for translate.google.* to the local fake (scheme and host only)."""
    original = requests.adapters.HTTPAdapter.send

    def send(
        self: requests.adapters.HTTPAdapter, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        parts = urlsplit(request.url or "")
        if parts.hostname and parts.hostname.startswith("translate.google."):
            request.url = urlunsplit(("http", f"127.0.0.1:{port}", parts.path, parts.query, ""))
            kwargs["verify"] = False
        return original(self, request, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    yield
