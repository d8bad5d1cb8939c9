"""Calling a speaker: SoCo's SOAP actions over a kept-alive connection, readable errors.

SoCo builds each command and parses each answer (its protocol knowledge is the point),
but its `send_command` opens a new `requests` session and TCP connection per call. An
announcement needs about eight calls before and after the clip, so the bridge sends
SoCo's requests through one persistent session per speaker instead: on a Wi-Fi speaker
each saved handshake is milliseconds of announcement latency.

A speaker that does not answer and one that answers a UPnP error are different problems
for the user; both name the speaker, the action and what went wrong.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

import requests
import requests.adapters
from soco import SoCo
from soco.exceptions import SoCoException, SoCoUPnPException

from sonos_bridge.errors import SpeakerError, SpeakerTimeoutError

logger = logging.getLogger(__name__)

T = TypeVar("T")
INSTANCE = ("InstanceID", 0)
MASTER = ("Channel", "Master")

_sessions: dict[str, requests.Session] = {}
_sessions_lock = threading.Lock()


def session_for(ip: str) -> requests.Session:
    """One connection pool per speaker, shared by every thread that talks to it."""
    with _sessions_lock:
        session = _sessions.get(ip)
        if session is None:
            session = requests.Session()
            # Speakers are on the LAN: no proxy from the environment applies, and looking
            # them up costs more than the call itself.
            session.trust_env = False
            session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=8))
            _sessions[ip] = session
        return session


def close_sessions() -> None:
    """Drop every kept-alive connection (at shutdown, or when speakers may have moved)."""
    with _sessions_lock:
        sessions = list(_sessions.values())
        _sessions.clear()
    for session in sessions:
        session.close()


class Player:
    """One speaker's AVTransport and RenderingControl, with readable failures."""

    def __init__(self, name: str, ip: str, timeout: float) -> None:
        self.name = name
        self.ip = ip
        self.timeout = timeout
        self.soco = SoCo(ip)
        self._session = session_for(ip)

    def _send(self, service: Any, action: str, args: list[tuple[str, Any]]) -> dict[str, str]:
        headers, body = service.build_command(action, args)
        url = service.base_url + service.control_url
        data = body.encode("utf-8")
        try:
            response = self._session.post(url, headers=headers, data=data, timeout=self.timeout)
        except requests.Timeout:
            raise
        except requests.ConnectionError:
            # A kept-alive connection the speaker closed meanwhile: one fresh attempt.
            logger.debug("Connection to %s dropped; retrying %s once", self.name, action)
            response = self._session.post(url, headers=headers, data=data, timeout=self.timeout)
        if response.status_code == 200:
            result = service.unwrap_arguments(response.text)
            return result if isinstance(result, dict) else {}
        if response.status_code == 500:
            service.handle_upnp_error(response.text)  # raises SoCoUPnPException
        response.raise_for_status()
        return {}

    def call(self, service: str, action: str, *args: tuple[str, Any]) -> dict[str, str]:
        target = getattr(self.soco, service)
        try:
            return self._send(target, action, [INSTANCE, *args])
        except SoCoUPnPException as exc:
            raise SpeakerError(
                f"{self.name} refused {action}: UPnP error {exc.error_code}"
                + (f" ({exc.error_description})" if exc.error_description else "")
            ) from None
        except requests.Timeout:
            raise SpeakerTimeoutError(
                f"{self.name} ({self.ip}) did not answer {action} within {self.timeout:g} s"
            ) from None
        except requests.RequestException as exc:
            raise SpeakerError(f"{self.name} ({self.ip}) is unreachable: {exc}") from None
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
