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
    """Serves `mode`: "ok" (audio), "429", "500", "slow" (no answer in time), "empty", or
    "hang": accepts the connection and never answers (a firewall that drops the replies)
    until `answer_held()` lets the held requests through with audio, as a late answer.
    """

    def __init__(self, audio: bytes) -> None:
        self.audio = audio
        self.mode = "ok"
        self.requests = 0
        self.held = 0  # requests in "hang" mode not answered (yet)
        self._holding = threading.Condition()
        self._answer_held = False
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

    def answer_held(self) -> None:
        """Let every held request (and any later one in "hang" mode) answer with audio."""
        with self._holding:
            self._answer_held = True
            self._holding.notify_all()

    def hold(self) -> bool:
        """Block a "hang" request; True when it is to be answered, False on close."""
        with self._holding:
            self.held += 1
            self._holding.wait_for(lambda: self._answer_held or self._release.is_set())
            self.held -= 1
            return self._answer_held and not self._release.is_set()

    def close(self) -> None:
        self._release.set()
        with self._holding:
            self._holding.notify_all()
        self._server.shutdown()
        self._server.server_close()

    def body(self) -> bytes:
        encoded = base64.b64encode(b"" if self.mode == "empty" else self.audio).decode()
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
        if fake.mode == "hang" and not fake.hold():
            return
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


@contextmanager
def running_google(monkeypatch: pytest.MonkeyPatch, audio: bytes) -> Iterator[FakeGoogle]:
    """A started fake that gTTS's requests reach; closed (held requests let go) on exit."""
    fake = FakeGoogle(audio).start()
    try:
        with redirect_google(monkeypatch, fake.port):
            yield fake
    finally:
        fake.close()
