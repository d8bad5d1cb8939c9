"""Downloading a request's sound_url with a size limit and a deadline for the whole transfer.

The bridge fetches the sound itself (speakers never get a URL it did not check): a
`Content-Length` above the limit is refused before the body is read, and a body that
grows past it is cut off. `timeout` bounds connecting and each read, and reads return
whatever has arrived (`read1`), so the deadline for the whole transfer is checked often
enough that a server trickling bytes cannot hold a request for longer.
"""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from http.client import HTTPException, HTTPResponse
from pathlib import Path
from urllib.parse import urlsplit

from sonos_bridge.audio.sounds.errors import SoundTooLargeError, SoundUnreachableError

CHUNK = 64 * 1024


def fetch_sound(url: str, target: Path, max_bytes: int, timeout: float) -> int:
    """Write the body of `url` to `target`; returns its size in bytes."""
    deadline = time.monotonic() + timeout
    host = urlsplit(url).hostname or url
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise SoundTooLargeError("sound_url", max_bytes)
            return _save(response, target, max_bytes, deadline, timeout)
    except urllib.error.HTTPError as exc:
        raise SoundUnreachableError(f"sound_url answered HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise SoundUnreachableError(
            f"sound_url: cannot fetch from {host} ({_reason(exc.reason)})"
        ) from None
    except TimeoutError:
        raise SoundUnreachableError(
            f"sound_url: {host} did not answer within {timeout:g} s"
        ) from None
    except (OSError, HTTPException) as exc:
        raise SoundUnreachableError(
            f"sound_url: the transfer from {host} failed ({_reason(exc)})"
        ) from None


def _save(
    response: HTTPResponse, target: Path, max_bytes: int, deadline: float, timeout: float
) -> int:
    size = 0
    with target.open("wb") as output:
        while chunk := response.read1(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise SoundTooLargeError("sound_url", max_bytes)
            if time.monotonic() > deadline:
                raise SoundUnreachableError(
                    f"sound_url took longer than {timeout:g} s (SOUND_FETCH_TIMEOUT)"
                )
            output.write(chunk)
    return size


def _reason(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return "unknown host"
    if isinstance(reason, TimeoutError | socket.timeout):
        return "timed out"
    return str(reason) or type(reason).__name__
