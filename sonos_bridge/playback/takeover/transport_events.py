"""Hearing from a coordinator the moment its transport changes: UPnP AVTransport events.

Polling GetTransportInfo every 0.25 s notices the end of a clip 125 ms late on average;
the speaker's own NOTIFY arrives within milliseconds. So each coordinator worker keeps
one subscription (renewed by SoCo) and wakes on every event to look at the transport;
polling stays the fallback for networks where the speakers cannot open a connection back
to the bridge, and for subscriptions that died silently.

SoCo's `Subscription` does the SUBSCRIBE, renewal and UNSUBSCRIBE and its handler parses
the NOTIFYs, but the bridge runs its own listener server (`EventListener`): SoCo stops
its listener by raising a flag and sending itself a request without a timeout, and when a
speaker's NOTIFY wins that race nobody answers the request, so the unsubscribing thread,
and with it the process's exit, hang forever (seen in the SIGKILL test). Its handler
threads are not daemons either.

Threads: a listener handler thread calls `TransportWatch.put` for each NOTIFY; `put` only
counts the event under the watch's condition and wakes the worker waiting in `wait`.
SoCo's renewal thread may call `_renewal_failed`, which only clears the subscription.
Everything else runs on the coordinator worker's thread or its executor.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from concurrent.futures import Executor
from typing import Any

import soco.config
from soco.events import EventListener as SocoEventListener
from soco.events import EventNotifyHandler, EventServer, Subscription

from sonos_bridge.playback.takeover.snapshot import ACTIVE_STATES
from sonos_bridge.playback.takeover.upnp import Player

logger = logging.getLogger(__name__)

SUBSCRIPTION_SECONDS = 1800  # SoCo renews at 85 % of it
# A subscription that brought no event during a whole clip is dead or blocked; try a new
# one at most this often (each try may cost a SUBSCRIBE timeout in the background).
RESUBSCRIBE_AFTER = 300.0


class _EventServer(EventServer):  # type: ignore[misc]  # SoCo is untyped
    daemon_threads = True  # a speaker that never finishes its NOTIFY must not block exit


class EventListener(SocoEventListener):  # type: ignore[misc]  # SoCo is untyped
    """SoCo's event listener, served by `serve_forever` and stopped with `shutdown`."""

    def __init__(self) -> None:
        super().__init__()
        self._server: _EventServer | None = None

    def listen(self, ip_address: str) -> int:
        """Serve on the first free port from `requested_port_number` (within 100)."""
        first = self.requested_port_number
        for port in range(first, first + 100):
            try:
                server = _EventServer((ip_address, port), EventNotifyHandler)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                continue
            self._server = server
            threading.Thread(target=server.serve_forever, name="upnp-events", daemon=True).start()
            logger.info("Listening for speaker events on %s:%d", ip_address, port)
            return port
        raise OSError(errno.EADDRINUSE, f"ports {first}-{first + 99} are all in use")

    def stop_listening(self, address: object) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()


LISTENER = EventListener()


class _Subscription(Subscription):  # type: ignore[misc]  # SoCo is untyped
    """SoCo's subscription, delivered through the bridge's listener."""

    def __init__(self, service: Any, event_queue: Any) -> None:
        super().__init__(service, event_queue)
        self.event_listener = LISTENER


def configure_listener(port: int, host: str | None) -> None:
    """Where the listener binds: `host` (None: the address that routes to a speaker)."""
    LISTENER.requested_port_number = port
    soco.config.EVENT_LISTENER_IP = host


class TransportWatch:
    """One coordinator's AVTransport subscription, seen as "something changed" signals."""

    def __init__(self, enabled: bool = True) -> None:
        self.name = ""  # the coordinator's, for the log
        self.enabled = enabled
        self._condition = threading.Condition()
        self._events = 0
        self._uri = ""  # the transport's URI as last evented
        self._expected = ""  # the clip being waited for
        self._active_since_mark = False
        self._subscription: Subscription | None = None
        self._ip = ""  # where the last subscription was attempted
        self._pending = False  # a SUBSCRIBE is in flight
        self._last_attempt = float("-inf")
        self._silent = False
        self._warned = False  # about this subscription's silence

    # ------------------------------------------------ SoCo's listener thread
    def put(self, event: Any) -> None:
        """SoCo hands each event to its subscription's queue: this is that queue."""
        variables = getattr(event, "variables", {})
        with self._condition:
            self._events += 1
            self._uri = variables.get("av_transport_uri") or self._uri
            if variables.get("transport_state") in ACTIVE_STATES and self._uri == self._expected:
                self._active_since_mark = True
            self._condition.notify_all()

    # -------------------------------------------------------- worker thread
    @property
    def events(self) -> int:
        with self._condition:
            return self._events

    def mark(self, uri: str) -> int:
        """Wait for `uri` from now on (just before `Play`); returns the event count."""
        with self._condition:
            self._expected = uri
            self._active_since_mark = False
            return self._events

    @property
    def active_since_mark(self) -> bool:
        """An event said the marked URI plays (for a clip too short for any poll to see)."""
        with self._condition:
            return self._active_since_mark

    def wait(self, seen: int, timeout: float) -> None:
        """Return once more than `seen` events arrived, on `wake`, or after `timeout`."""
        with self._condition:
            self._condition.wait_for(lambda: self._events > seen, max(0.0, timeout))

    def wake(self) -> None:
        with self._condition:
            self._events += 1
            self._condition.notify_all()

    def clip_ended(self, marked: int) -> None:
        """After a clip: no event since `marked` means the events do not reach us."""
        with self._condition:
            self._silent = self._events == marked
            warn = self._silent and self._subscription is not None and not self._warned
            self._warned = self._warned or warn
        if warn:
            logger.warning(
                "No transport events from %s arrived during a clip: can it connect to this "
                "host on SONOS_EVENT_PORT? Noticing the end of clips by polling",
                self.name,
            )

    def ensure(self, coordinator: Player, executor: Executor) -> None:
        """Subscribe in the background when there is no working subscription."""
        with self._condition:
            if not self.enabled or self._pending or not self._needs_subscription(coordinator.ip):
                return
            self._pending = True
            self.name = coordinator.name
            self._ip = coordinator.ip
            self._last_attempt = time.monotonic()
        executor.submit(self._subscribe, coordinator)

    def _needs_subscription(self, ip: str) -> bool:
        subscription = self._subscription
        if self._ip != ip:
            return True  # never tried, or the coordinator moved
        working = subscription is not None and subscription.time_left > 0 and not self._silent
        return not working and time.monotonic() - self._last_attempt >= RESUBSCRIBE_AFTER

    def _subscribe(self, coordinator: Player) -> None:
        self.close()
        try:
            subscription = _Subscription(coordinator.soco.avTransport, self)
            subscription.subscribe(requested_timeout=SUBSCRIPTION_SECONDS, auto_renew=True)
        except Exception as exc:  # SoCo raises requests' and its own errors alike
            logger.warning(
                "No transport events from %s (%s); noticing the end of clips by polling",
                self.name,
                exc,
            )
            return
        finally:
            with self._condition:
                self._pending = False
        subscription.auto_renew_fail = self._renewal_failed
        with self._condition:
            self._subscription = subscription
            self._silent = self._warned = False
        logger.debug("Subscribed to the transport events of %s", self.name)

    def _renewal_failed(self, exc: Exception) -> None:  # SoCo's renewal thread
        logger.info("Transport events of %s stopped (%s); polling meanwhile", self.name, exc)
        with self._condition:
            self._subscription = None

    def close(self) -> None:
        """Unsubscribe (a network call of up to 3 s when the speaker is gone)."""
        with self._condition:
            subscription, self._subscription = self._subscription, None
        if subscription is not None:
            subscription.unsubscribe(strict=False)
