"""A web server with sounds for `sound_url`, some of them bad on purpose.

/<name> answers from `files` (bell.mp3, bell.wav and a page.html that is not audio are
there from the start), /slow trickles one byte every 0.1 s, /endless streams twice the
size limit without a length, /declared-huge declares ten times the limit. Each request
is served on its own thread; `requests` lists the names asked for.
"""

from __future__ import annotations

import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from testkit.support.audio import write_mp3, write_wav


class SoundServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, workdir: Path, limit: int) -> None:
        super().__init__(("127.0.0.1", 0), _SoundHandler)
        self.limit = limit
        self.requests: list[str] = []
        self.files: dict[str, bytes] = {
            "bell.mp3": write_mp3(workdir / "bell.mp3", 0.3).read_bytes(),
            "bell.wav": write_wav(workdir / "bell.wav", 0.3).read_bytes(),
            "page.html": b"<html><body>Not Found, but with status 200</body></html>",
        }
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{path}"

    def __enter__(self) -> SoundServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.shutdown()
        self.server_close()


class _SoundHandler(BaseHTTPRequestHandler):
    server: SoundServer

    def do_GET(self) -> None:
        name = self.path.lstrip("/")
        self.server.requests.append(name)
        if name == "slow":
            self._trickle()
        elif name == "endless":  # no Content-Length: the body ends when the server closes
            self.send_response(200)
            self.end_headers()
            self.wfile.write(os.urandom(self.server.limit * 2))
        elif name == "declared-huge":
            self.send_response(200)
            self.send_header("Content-Length", str(self.server.limit * 10))
            self.end_headers()
        elif (body := self.server.files.get(name)) is None:
            self.send_error(404)
        else:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def _trickle(self) -> None:
        self.send_response(200)
        self.end_headers()
        try:
            for _ in range(100):  # 10 s of one byte every 0.1 s
                self.wfile.write(b"\0")
                self.wfile.flush()
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the bridge gave up, as it should

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""
