"""Calling a speaker: SoCo's SOAP actions over a kept-alive connection, readable errors.

SoCo builds each command and parses each answer (its protocol knowledge is the point),
but its `send_command` opens a new `requests` session and TCP connection per call. An
announcement needs about eight calls before and after the clip, so the bridge sends
SoCo's requests through one urllib3 connection pool per speaker instead (requests' own
layer on top cost another 0.3-0.4 ms of CPU per call against the fake speaker): on a
Wi-Fi speaker each saved handshake is milliseconds of announcement latency.

A kept-alive connection has one trap. A speaker whose HTTP server writes the headers and
the body in two `send()`s with Nagle on (as Python's `http.server` does) holds the body
until the headers are acknowledged, and Linux delays that ACK by up to 40 ms once a
connection has turned "interactive". So every response is read with TCP_QUICKACK set
after the request went out (setting it before sending does not help: the send itself
puts the socket back in delayed-ACK mode). Measured per call against the fake speaker
(`bench/sonos_bench.py` prints these): kept alive 0.54 ms against a one-write server and
44 ms against a two-write one; with TCP_QUICKACK 0.53-0.55 ms against either; SoCo's
own new connection per call 2.1-2.2 ms.

A speaker that does not answer and one that answers a UPnP error are different problems
for the user; both name the speaker, the action and what went wrong.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from soco import SoCo
from soco.exceptions import SoCoException, SoCoUPnPException
from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import HTTPError, NewConnectionError, ProtocolError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.response import BaseHTTPResponse, HTTPResponse

from sonos_bridge.errors import SpeakerError, SpeakerTimeoutError, SpeakerUnreachableError
from sonos_bridge.speakers import SONOS_PORT

logger = logging.getLogger(__name__)

T = TypeVar("T")
INSTANCE = ("InstanceID", 0)
MASTER = ("Channel", "Master")
# Linux only; elsewhere the kept-alive connection simply runs without it.
TCP_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)

_pools: dict[str, HTTPConnectionPool] = {}
_pools_lock = threading.Lock()


class QuickAckConnection(HTTPConnection):
    """Acknowledges every part of a response at once (see the module docstring)."""

    def getresponse(self) -> HTTPResponse:  # type: ignore[override]
        if TCP_QUICKACK is not None and self.sock is not None:
            with contextlib.suppress(OSError):  # not a TCP socket: nothing to speed up
                self.sock.setsockopt(socket.IPPROTO_TCP, TCP_QUICKACK, 1)
        return super().getresponse()


class QuickAckPool(HTTPConnectionPool):
    ConnectionCls = QuickAckConnection


def new_pool(ip: str, quickack: bool = True) -> HTTPConnectionPool:
    """Kept-alive connections to one speaker; `quickack=False` only to measure the stall."""
    pool_class = QuickAckPool if quickack else HTTPConnectionPool
    return pool_class(ip, SONOS_PORT, maxsize=8, retries=False)


def pool_for(ip: str) -> HTTPConnectionPool:
    """One connection pool per speaker, shared by every thread that talks to it."""
    with _pools_lock:
        pool = _pools.get(ip)
        if pool is None:
            pool = _pools[ip] = new_pool(ip)
        return pool


def close_sessions() -> None:
    """Drop every kept-alive connection (at shutdown, or when speakers may have moved)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


class Player:
    """One speaker's AVTransport and RenderingControl, with readable failures."""

    def __init__(
        self,
        name: str,
        ip: str,
        timeout: float,
        uid: str = "",
        pool: HTTPConnectionPool | None = None,
    ) -> None:
        self.name = name
        self.ip = ip
        self.uid = uid
        self.timeout = timeout
        self.soco = SoCo(ip)
        self._pool = pool or pool_for(ip)

    def _post(self, path: str, headers: dict[str, str], body: bytes) -> BaseHTTPResponse:
        return self._pool.urlopen(
            "POST", path, body=body, headers=headers, timeout=self.timeout, retries=False
        )

    def _send(self, service: Any, action: str, args: list[tuple[str, Any]]) -> dict[str, str]:
        headers, body = service.build_command(action, args)
        data = body.encode("utf-8")
        try:
            response = self._post(service.control_url, headers, data)
        except ProtocolError:
            # A kept-alive connection the speaker closed meanwhile: one fresh attempt.
            logger.debug("Connection to %s dropped; retrying %s once", self.name, action)
            response = self._post(service.control_url, headers, data)
        text = response.data.decode("utf-8", errors="replace")
        if response.status == 200:
            result = service.unwrap_arguments(text)
            return result if isinstance(result, dict) else {}
        if response.status == 500:
            service.handle_upnp_error(text)  # raises SoCoUPnPException
        raise SpeakerError(f"{self.name} answered {action} with HTTP {response.status}")

    def call(self, service: str, action: str, *args: tuple[str, Any]) -> dict[str, str]:
        target = getattr(self.soco, service)
        try:
            return self._send(target, action, [INSTANCE, *args])
        except SoCoUPnPException as exc:
            raise SpeakerError(
                f"{self.name} refused {action}: UPnP error {exc.error_code}"
                + (f" ({exc.error_description})" if exc.error_description else "")
            ) from None
        except (NewConnectionError, ProtocolError) as exc:  # refused, reset: before timeouts,
            raise SpeakerUnreachableError(  # as urllib3 derives the first from a timeout
                f"{self.name} ({self.ip}) is unreachable: {exc}"
            ) from None
        except Urllib3Timeout:
            raise SpeakerTimeoutError(
                f"{self.name} ({self.ip}) did not answer {action} within {self.timeout:g} s"
            ) from None
        except HTTPError as exc:
            raise SpeakerError(f"{self.name} ({self.ip}) answered {action} badly: {exc}") from None
        except SoCoException as exc:
            raise SpeakerError(f"{self.name} failed {action}: {exc}") from None

    def av(self, action: str, *args: tuple[str, Any]) -> dict[str, str]:
        return self.call("avTransport", action, *args)

    def volume(self) -> int:
        return int(self.call("renderingControl", "GetVolume", MASTER)["CurrentVolume"])

    def set_volume(self, volume: int) -> None:
        self.call("renderingControl", "SetVolume", MASTER, ("DesiredVolume", volume))

    def muted(self) -> bool:
        return self.call("renderingControl", "GetMute", MASTER)["CurrentMute"] == "1"

    def set_mute(self, mute: bool) -> None:
        self.call("renderingControl", "SetMute", MASTER, ("DesiredMute", "1" if mute else "0"))

    def transport_state(self) -> str:
        return self.av("GetTransportInfo").get("CurrentTransportState", "")


def run_parallel(executor: Executor, calls: list[Callable[[], T]]) -> list[T]:
    """Run independent speaker calls at once (they mostly wait on the network).

    Every call finishes before the first error is raised, so no call is left running
    against a speaker we are about to talk to again.
    """
    if len(calls) == 1:
        return [calls[0]()]
    futures = [executor.submit(call) for call in calls]
    results: list[T] = []
    error: BaseException | None = None
    for future in futures:
        try:
            results.append(future.result())
        except BaseException as exc:  # re-raised below, after all calls ended
            error = error or exc
    if error is not None:
        raise error
    return results
