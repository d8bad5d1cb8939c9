"""`GET https://<ip>:1443/api/v1/players/local/info`: a speaker's own ids and model.

The documented, captured way to learn the household id, the player id and the model of
an S2 speaker (aiosonos reads it too): one HTTPS request with the API key header. Without
the key real speakers answer HTTP 400 with `globalError`
`ERROR_API_KEY_VALIDATION_FAILED`. An S1 speaker has nothing on port 1443.

Threads: called by the clip player's probe (on its pool, never on an announcement's path);
blocks for at most `timeout` per step (connect, TLS, answer).
"""

from __future__ import annotations

import http.client
import json
import logging
import ssl

from sonos_bridge.playback.clip.capability import LocalInfo, ShapeError, parse_local_info
from sonos_bridge.playback.clip.connection import insecure_tls
from sonos_bridge.playback.clip.errors import (
    ClipUnavailableError,
    S2KeyRefusedError,
    S2SilentError,
    S2UnreachableError,
)
from sonos_bridge.playback.clip.protocol import API_KEY, PORT

logger = logging.getLogger(__name__)

PATH = "/api/v1/players/local/info"
MAX_ANSWER = 256 * 1024  # a discoveryInfo is about 1.5 KB


class LocalInfoUnavailableError(ClipUnavailableError):
    """The speaker speaks HTTPS on 1443 but has no usable local info (older firmware):
    the ids are learnt the older way, over the WebSocket."""


def fetch_local_info(ip: str, timeout: float, port: int = PORT) -> LocalInfo:
    """The speaker's ids and model; raises a `ClipUnavailableError` subclass saying why not."""
    connection = http.client.HTTPSConnection(ip, port, timeout=timeout, context=insecure_tls())
    try:
        connection.request("GET", PATH, headers={"X-Sonos-Api-Key": API_KEY})
        answer = connection.getresponse()
        status, body = answer.status, answer.read(MAX_ANSWER)
    except TimeoutError:
        raise S2SilentError(f"port {port} did not answer within {timeout:g} s") from None
    except (OSError, http.client.HTTPException) as exc:
        raise S2UnreachableError(f"port {port} is not reachable ({_reason(exc)})") from None
    finally:
        connection.close()
    return _read_answer(status, body, port)


def _read_answer(status: int, body: bytes, port: int) -> LocalInfo:
    document = _json(body)
    code = document.get("errorCode") if isinstance(document, dict) else None
    if status in (400, 401, 403) and (code == "ERROR_API_KEY_VALIDATION_FAILED" or status != 400):
        raise S2KeyRefusedError(
            f"port {port} refused the API key (HTTP {status}, {code or 'no code'})"
        )
    if status != 200:
        raise LocalInfoUnavailableError(f"{PATH} answered HTTP {status} ({code or 'no code'})")
    try:
        return parse_local_info(document)
    except ShapeError as exc:
        raise LocalInfoUnavailableError(f"{PATH}: {exc}") from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    return str(exc) or type(exc).__name__


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
