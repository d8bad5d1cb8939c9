"""The clip server over real HTTP: ranges, HEAD, traversal attempts, missing clips."""

from __future__ import annotations

import contextlib
import http.client
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sonos_bridge.audio.clip_cache import Clip, ClipCache
from sonos_bridge.audio.server import (
    AudioServer,
    RangeNotSatisfiableError,
    local_address_towards,
    parse_range,
)
from testkit.waits import eventually


@pytest.fixture
def served(cache: ClipCache, mp3_bytes: bytes) -> Iterator[tuple[AudioServer, Clip]]:
    clip = cache.store("gtts", "en", "Hello", lambda target: target.write_bytes(mp3_bytes))
    server = AudioServer(cache, "127.0.0.1", 0, None)
    server.start()
    yield server, clip
    server.stop()


def fetch(
    server: AudioServer, path: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_whole_clip(served: tuple[AudioServer, Clip], mp3_bytes: bytes) -> None:
    server, clip = served
    url = server.url_for(clip, "127.0.0.1")
    assert url.endswith(f"/tts/{clip.key}.mp3")
    status, headers, body = fetch(server, f"/tts/{clip.key}.mp3")
    assert status == 200
    assert headers["Content-Type"] == "audio/mpeg"
    assert headers["Content-Length"] == str(len(mp3_bytes))
    assert headers["Accept-Ranges"] == "bytes"
    assert body == mp3_bytes


def test_head_has_headers_and_no_body(served: tuple[AudioServer, Clip], mp3_bytes: bytes) -> None:
    server, clip = served
    status, headers, body = fetch(server, f"/tts/{clip.key}.mp3", "HEAD")
    assert status == 200 and body == b""
    assert headers["Content-Length"] == str(len(mp3_bytes))


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=0-99", 0, 99), ("bytes=100-", 100, None), ("bytes=-50", -50, None)],
)
def test_byte_ranges(
    served: tuple[AudioServer, Clip], mp3_bytes: bytes, header: str, first: int, last: int | None
) -> None:
    server, clip = served
    status, headers, body = fetch(server, f"/tts/{clip.key}.mp3", headers={"Range": header})
    expected = mp3_bytes[first : None if last is None else last + 1]
    assert status == 206
    assert body == expected
    assert headers["Content-Length"] == str(len(expected))
    start = first if first >= 0 else len(mp3_bytes) + first
    assert headers["Content-Range"] == f"bytes {start}-{start + len(expected) - 1}/{len(mp3_bytes)}"


@pytest.mark.parametrize("header", ["bytes={size}-", "bytes={size}-{size}", "bytes=-0"])
def test_unsatisfiable_range(
    served: tuple[AudioServer, Clip], mp3_bytes: bytes, header: str
) -> None:
    server, clip = served
    wanted = header.format(size=len(mp3_bytes))
    status, headers, _ = fetch(server, f"/tts/{clip.key}.mp3", headers={"Range": wanted})
    assert status == 416
    assert headers["Content-Range"] == f"bytes */{len(mp3_bytes)}"


@pytest.mark.parametrize(
    "header", ["bytes=abc", "bytes=7-3", "items=0-5", "bytes=0-1,4-5", "bytes=", "bytes=--5"]
)
def test_invalid_range_is_ignored_and_the_whole_clip_served(
    served: tuple[AudioServer, Clip], mp3_bytes: bytes, header: str
) -> None:
    """RFC 9110 14.2: a Range the server does not understand is ignored, not refused."""
    server, clip = served
    status, headers, body = fetch(server, f"/tts/{clip.key}.mp3", headers={"Range": header})
    assert status == 200
    assert body == mp3_bytes
    assert "Content-Range" not in headers


@pytest.mark.parametrize(
    "path",
    [
        "/tts/../../etc/passwd",
        "/tts/%2e%2e/%2e%2e/etc/passwd",
        "/../cache/x.mp3",
        "/tts/..%2fclip.mp3",
        "/etc/passwd",
        "/tts/",
        "/",
        "/tts/0123456789abcdef0123456789abcdef.mp3",  # well formed, not in the cache
        "/tts/{key}.wav",
        "/tts/{key}.mp3/..",
    ],
)
def test_anything_but_a_cached_clip_is_404(served: tuple[AudioServer, Clip], path: str) -> None:
    server, clip = served
    status, _, body = fetch(server, path.replace("{key}", clip.key))
    assert status == 404
    assert b"root:" not in body


def test_temporary_files_are_not_served(
    served: tuple[AudioServer, Clip], cache: ClipCache, tmp_path: Path
) -> None:
    server, _ = served
    (cache.directory / ".0123456789abcdef0123456789abcdef.1234.tmp").write_bytes(b"partial")
    status, _, _ = fetch(server, "/tts/.0123456789abcdef0123456789abcdef.1234.tmp")
    assert status == 404


def test_parse_range_edges() -> None:
    assert parse_range("bytes=0-0", 10) == (0, 0)
    assert parse_range("bytes=5-100", 10) == (5, 9)
    assert parse_range("bytes=-100", 10) == (0, 9)
    assert parse_range("bytes=7-3", 10) is None
    assert parse_range("bytes=0-1,4-5", 10) is None
    assert parse_range("items=0-1", 10) is None
    with pytest.raises(RangeNotSatisfiableError):
        parse_range("bytes=10-", 10)


def test_stop_without_start_returns() -> None:
    """A bridge that fails to start after building the server must still stop."""
    server = AudioServer(ClipCache(Path(tempfile.mkdtemp()), 1024), "127.0.0.1", 0, None)
    stopper = threading.Thread(target=server.stop, daemon=True)
    stopper.start()
    stopper.join(5)
    assert not stopper.is_alive()


@contextlib.contextmanager
def running(cache: ClipCache, **limits: Any) -> Iterator[AudioServer]:
    server = AudioServer(cache, "127.0.0.1", 0, None, **limits)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_an_idle_connection_is_closed(cache: ClipCache) -> None:
    with (
        running(cache, idle_timeout=0.2) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as idle,
    ):
        assert idle.recv(1) == b""  # the server hung up


def test_idle_connections_do_not_each_keep_a_thread(
    served: tuple[AudioServer, Clip], cache: ClipCache, mp3_bytes: bytes
) -> None:
    _, clip = served
    before = threading.active_count()
    with running(cache, max_connections=8, idle_timeout=60) as server:
        idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(60)]
        try:
            status, _, body = fetch(server, f"/tts/{clip.key}.mp3")
            assert status == 200 and body == mp3_bytes
            # The server thread plus at most 8 connection threads.
            eventually(lambda: threading.active_count() <= before + 9, "idle threads to end")
        finally:
            for connection in idle:
                connection.close()


def test_advertised_address_is_the_route_to_the_speaker() -> None:
    assert local_address_towards("127.0.0.77").startswith("127.")
