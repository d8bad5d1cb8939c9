"""One kept-open WebSocket to one speaker's S2 API (wss://<ip>:1443/websocket/api).

The household id every `groups:1` command needs comes from the speaker's local/info answer
(`clip_local_info`); only when that is missing (older firmware) is it read from the answer
to an empty command, which not every firmware gives (a refusal captured in the wild carries
no `householdId`): then the connection fails at once rather than waiting out its timeout.

The bridge is thread-based, so this uses the `websockets` library's synchronous client:
no event loop to own. Threads: websockets runs one background thread per connection that
reads the socket; this class adds one reader thread (`s2-<ip>`) that decodes frames,
completes the future of the command a frame answers (by `cmdId`) and records clip status
events in the connection's `ClipTracker`; an event type it does not know is logged once
per process (`_report_unknown`). The reader touches nothing else. Callers
(coordinator workers, the probe) block in `request` or `ClipTracker.wait` with a timeout;
any number of them may share one connection.

The speaker's certificate is self-signed by Sonos and names no host we could check, so
it is accepted as is (as every local Sonos client does); the link is the home LAN.
"""

from __future__ import annotations

import itertools
import logging
import ssl
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from sonos_bridge.playback.clip.errors import (
    NoClipSupportError,
    S2CommandError,
    S2ConnectionLostError,
    S2KeyRefusedError,
    S2NoAnswerError,
    S2SilentError,
    S2UnreachableError,
)
from sonos_bridge.playback.clip.protocol import (
    API_KEY,
    PORT,
    SUBPROTOCOL,
    ClipState,
    ClipStatus,
    Message,
    ProtocolError,
    clip_states,
    decode_message,
    encode_command,
    is_clip_event,
    websocket_url,
)

logger = logging.getLogger(__name__)

KEEP_CLIPS = 64  # clip states remembered per connection (other apps' clips included)
MAX_FRAME = 4 * 1024 * 1024  # getGroups of a large household stays far below this

_unknown_events: set[str] = set()  # event types already reported, for every connection
_unknown_lock = threading.Lock()


def insecure_tls() -> ssl.SSLContext:
    """Speakers present a certificate Sonos signed for no host name we could check."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@dataclass(frozen=True, slots=True)
class TrackedClip:
    """The latest known state of one clip and when it started (monotonic seconds)."""

    clip_id: str
    status: str
    error_code: str | None = None
    active_at: float | None = None


class ClipTracker:
    """Clip statuses as events report them, awaited by the threads that loaded the clips.

    Events are recorded whether or not anyone waits yet, so an ACTIVE that overtakes the
    answer to loadAudioClip is not lost.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._clips: OrderedDict[str, TrackedClip] = OrderedDict()
        self._closed = False

    def record(self, state: ClipState) -> None:
        now = time.monotonic()
        with self._changed:
            known = self._clips.pop(state.clip_id, None) or TrackedClip(state.clip_id, "")
            started = known.active_at
            if started is None and state.status == ClipStatus.ACTIVE:
                started = now
            self._clips[state.clip_id] = replace(
                known, status=state.status, error_code=state.error_code, active_at=started
            )
            while len(self._clips) > KEEP_CLIPS:
                self._clips.popitem(last=False)
            self._changed.notify_all()

    def wait(self, clip_id: str, statuses: frozenset[str], deadline: float) -> TrackedClip | None:
        """The clip once its status is one of `statuses`; None at the deadline."""

        def reached() -> bool:
            clip = self._clips.get(clip_id)
            return self._closed or (clip is not None and clip.status in statuses)

        with self._changed:
            if not self._changed.wait_for(reached, max(0.0, deadline - time.monotonic())):
                return None
            clip = self._clips.get(clip_id)
            if clip is not None and clip.status in statuses:
                return clip
            raise S2ConnectionLostError("the connection to the speaker closed")

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()


class S2Connection:
    """A connected WebSocket, its household id, and the clips it has seen."""

    def __init__(self, ip: str, websocket: ClientConnection, household_id: str) -> None:
        self.ip = ip
        self.household_id = household_id
        self.clips = ClipTracker()
        self._websocket = websocket
        self._pending: dict[str, Future[Message]] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._closed = False
        self._reader = threading.Thread(target=self._read, name=f"s2-{ip}", daemon=True)
        self._reader.start()

    @classmethod
    def open(
        cls, ip: str, timeout: float, port: int = PORT, household_id: str | None = None
    ) -> S2Connection:
        """Connect (and learn the household id unless given); raises a
        `ClipUnavailableError` subclass."""
        url = websocket_url(ip, port)
        try:
            websocket = connect(
                url,
                ssl=insecure_tls(),
                additional_headers={"X-Sonos-Api-Key": API_KEY},
                subprotocols=[Subprotocol(SUBPROTOCOL)],
                open_timeout=timeout,
                close_timeout=1,
                compression=None,
                proxy=None,  # a LAN address: never through HTTPS_PROXY
                max_size=MAX_FRAME,
                legacy=True,  # a plain connection: it outlives any `with` block here
            )
        except InvalidStatus as exc:
            code = exc.response.status_code
            if code in (401, 403):
                raise S2KeyRefusedError(f"port {port} refused the API key (HTTP {code})") from None
            raise S2UnreachableError(f"port {port} answered HTTP {code}, not a WebSocket") from None
        except TimeoutError:
            raise S2SilentError(f"port {port} did not answer within {timeout:g} s") from None
        except (OSError, InvalidHandshake) as exc:
            raise S2UnreachableError(f"port {port} is not reachable ({_reason(exc)})") from None
        if household_id is None:
            try:
                household_id = _household_id(websocket, timeout)
            except BaseException:
                websocket.close()
                raise
        return cls(ip, websocket, household_id)

    @property
    def closed(self) -> bool:
        return self._closed

    def request(
        self,
        namespace: str,
        command: str,
        body: dict[str, Any] | None = None,
        *,
        timeout: float,
        **path: str,
    ) -> dict[str, Any]:
        """Send one command and return the body of its answer."""
        cmd_id = str(next(self._ids))
        future: Future[Message] = Future()
        with self._lock:
            if self._closed:
                raise S2ConnectionLostError("the connection to the speaker is closed")
            self._pending[cmd_id] = future
        try:
            try:
                self._websocket.send(encode_command(namespace, command, cmd_id, body or {}, **path))
            except ConnectionClosed:  # not sent: the speaker never saw it
                raise S2ConnectionLostError("the connection to the speaker closed") from None
            answer = future.result(timeout)
        except FutureTimeout:
            raise S2NoAnswerError(f"no answer to {command} within {timeout:g} s") from None
        finally:
            with self._lock:
                self._pending.pop(cmd_id, None)
        if not answer.succeeded:
            raise S2CommandError(command, answer.error_code)
        return answer.body

    def close(self) -> None:
        self._websocket.close()
        self._reader.join(2)

    # ------------------------------------------------------------ reader thread
    def _read(self) -> None:
        try:
            for raw in self._websocket:
                try:
                    message = decode_message(raw)
                except ProtocolError as exc:
                    logger.debug("%s sent an unreadable frame: %s", self.ip, exc)
                    continue
                self._dispatch(message)
        except ConnectionClosed as exc:
            logger.info("S2 connection to %s closed: %s", self.ip, exc)
        finally:
            self._lost()

    def _dispatch(self, message: Message) -> None:
        if message.is_answer:
            with self._lock:
                future = self._pending.get(message.cmd_id or "")
            if future is not None and not future.done():
                future.set_result(message)
            return
        if not is_clip_event(message):
            _report_unknown(self.ip, message)
            return
        for state in clip_states(message):
            self.clips.record(state)

    def _lost(self) -> None:
        with self._lock:
            self._closed = True
            pending = list(self._pending.values())
        # Sent but unanswered: the speaker may have acted on it, so this is "no answer".
        lost = S2NoAnswerError("the connection closed before the speaker answered")
        for future in pending:
            if not future.done():
                future.set_exception(lost)
        self.clips.close()


def _report_unknown(ip: str, message: Message) -> None:
    """An event the bridge does not follow: said once, so a firmware change is noticed."""
    kind = f"{message.header.get('namespace')}/{message.event_type}"
    with _unknown_lock:
        if kind in _unknown_events:
            return
        _unknown_events.add(kind)
    logger.warning(
        "Speaker %s sent an event of a type the bridge does not follow (%s); ignoring it "
        "and any more of its kind. If clips never seem to end, please report this line.",
        ip,
        kind,
    )


def _household_id(websocket: ClientConnection, timeout: float) -> str:
    """Send the empty command: some firmware refuses it with the household in the header."""
    deadline = time.monotonic() + timeout
    try:
        websocket.send("[{},{}]")
        while True:
            message = decode_message(websocket.recv(max(0.0, deadline - time.monotonic())))
            household = message.header.get("householdId")
            if household:
                return str(household)
            if message.is_answer:
                raise NoClipSupportError(
                    "the speaker names no household (no local/info, and its answers carry "
                    "no householdId)"
                )
    except TimeoutError:
        raise S2UnreachableError(f"no household id within {timeout:g} s") from None
    except ConnectionClosed:
        raise S2UnreachableError("the speaker closed the connection at once") from None
    except ProtocolError as exc:
        raise S2UnreachableError(f"the speaker's answer is unreadable: {exc}") from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    return str(exc) or type(exc).__name__
