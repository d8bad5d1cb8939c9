"""UPnP eventing for the fake speaker: SUBSCRIBE, renewal, UNSUBSCRIBE and NOTIFY.

A subscriber gives a callback URL; the speaker answers with a SID and a timeout, then
sends the service's state at once (SEQ 0) and again on every change, in order, one
NOTIFY at a time, as a player does. `blocked` drops the NOTIFYs as a firewall between
speaker and bridge would, while SUBSCRIBE still succeeds.

Threads: `subscribe`/`unsubscribe` run on the speaker's HTTP handler threads, `publish`
on whichever thread changed the speaker's state (under the speaker's lock: it only
queues); one sender thread per publisher delivers the NOTIFYs.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import queue
import re
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

DEFAULT_SECONDS = 3600
NOTIFY_TIMEOUT = 2.0


@dataclass
class Subscriber:
    sid: str
    host: str
    port: int
    path: str
    expires: float
    seq: int = 0


@dataclass(frozen=True)
class Delivery:
    subscriber: Subscriber
    seq: int
    body: bytes


def _seconds(headers: Mapping[str, str]) -> int:
    match = re.fullmatch(r"Second-(\d+)", headers.get("TIMEOUT", "").strip(), re.IGNORECASE)
    return int(match.group(1)) if match else DEFAULT_SECONDS


class EventPublisher:
    """The subscribers of one service and the ordered delivery of its events."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.blocked = False
        self.delivered = 0
        self._lock = threading.Lock()
        self._subscribers: dict[str, Subscriber] = {}
        self._outbox: queue.Queue[Delivery | None] = queue.Queue()
        self._thread = threading.Thread(target=self._send_all, name=f"{name}-notify", daemon=True)
        self._thread.start()

    def subscribe(self, headers: Mapping[str, str], state: bytes) -> tuple[int, dict[str, str]]:
        """A new subscription (CALLBACK) or a renewal (SID); queues the initial event."""
        seconds = _seconds(headers)
        sid = headers.get("SID")
        with self._lock:
            if sid:
                subscriber = self._subscribers.get(sid)
                if subscriber is None:
                    return 412, {}
                subscriber.expires = time.monotonic() + seconds
                return 200, {"SID": sid, "TIMEOUT": f"Second-{seconds}"}
            callback = re.match(r"<([^>]+)>", headers.get("CALLBACK", ""))
            if callback is None or headers.get("NT") != "upnp:event":
                return 412, {}
            url = urlsplit(callback.group(1))
            subscriber = Subscriber(
                f"uuid:{uuid.uuid4()}",
                url.hostname or "",
                url.port or 80,
                url.path or "/",
                time.monotonic() + seconds,
            )
            self._subscribers[subscriber.sid] = subscriber
            self._queue(subscriber, state)
        return 200, {"SID": subscriber.sid, "TIMEOUT": f"Second-{seconds}"}

    def unsubscribe(self, headers: Mapping[str, str]) -> int:
        with self._lock:
            return 200 if self._subscribers.pop(headers.get("SID", ""), None) else 412

    def publish(self, body: bytes) -> None:
        now = time.monotonic()
        with self._lock:
            for subscriber in list(self._subscribers.values()):
                if subscriber.expires < now:
                    del self._subscribers[subscriber.sid]
                else:
                    self._queue(subscriber, body)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def close(self) -> None:
        self._outbox.put(None)

    def _queue(self, subscriber: Subscriber, body: bytes) -> None:
        self._outbox.put(Delivery(subscriber, subscriber.seq, body))
        subscriber.seq += 1

    def _send_all(self) -> None:
        while (delivery := self._outbox.get()) is not None:
            with self._lock:
                current = self._subscribers.get(delivery.subscriber.sid) is delivery.subscriber
            if current and not self.blocked:
                self._send(delivery)

    def _send(self, delivery: Delivery) -> None:
        subscriber = delivery.subscriber
        connection = http.client.HTTPConnection(
            subscriber.host, subscriber.port, timeout=NOTIFY_TIMEOUT
        )
        headers = {
            "Content-Type": 'text/xml; charset="utf-8"',
            "NT": "upnp:event",
            "NTS": "upnp:propchange",
            "SID": subscriber.sid,
            "SEQ": str(delivery.seq),
        }
        try:
            connection.request("NOTIFY", subscriber.path, delivery.body, headers)
            connection.getresponse().read()
            self.delivered += 1
        except OSError as exc:  # the subscriber is gone: a player just drops the event
            logger.debug("%s: NOTIFY to %s failed: %s", self.name, subscriber.host, exc)
        finally:
            with contextlib.suppress(OSError):
                connection.close()
