"""A small typed layer over jeepney: one blocking D-Bus connection, held for its lifetime.

Polled sources read a few properties every few seconds on the worker thread, so a plain
blocking connection is enough. Signals (logind's `PrepareForSleep`) are queued by a match
rule while we wait for replies and drained at each poll. Event-driven sources hand their
connection to a `SignalLoop`, whose own thread then owns it: it waits for signals, runs
their handlers (which may call methods on the same connection) and nothing else touches
the connection but `interrupt()`, which any thread may call to end the loop.
Opening a connection per poll is what exhausted other tools' client limits; nothing
here does that.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections import deque
from collections.abc import Callable
from typing import Any

from jeepney import (
    DBusAddress,
    HeaderFields,
    MatchRule,
    MessageType,
    new_method_call,
)
from jeepney.io.blocking import (
    open_dbus_connection,
)

from idle_reporter.errors import IdleReporterError, SourceUnavailableError

logger = logging.getLogger(__name__)

DBUS_NAME = "org.freedesktop.DBus"
DBUS_PATH = "/org/freedesktop/DBus"
PROPERTIES = "org.freedesktop.DBus.Properties"
# Error names that mean "nobody serves this here", as opposed to a transient failure.
NOT_SERVED = frozenset(
    {
        "org.freedesktop.DBus.Error.ServiceUnknown",
        "org.freedesktop.DBus.Error.NameHasNoOwner",
        "org.freedesktop.DBus.Error.UnknownMethod",
        "org.freedesktop.DBus.Error.UnknownObject",
        "org.freedesktop.DBus.Error.UnknownInterface",
        "org.freedesktop.DBus.Error.UnknownProperty",
        "org.freedesktop.DBus.Error.NotSupported",
    }
)


class DBusCallError(IdleReporterError):
    """A method call came back as a D-Bus error (or no reply arrived in time)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}" if message else name)
        self.name = name
        self.message = message

    @property
    def not_served(self) -> bool:
        return self.name in NOT_SERVED


class BusClosedError(IdleReporterError):
    """The connection to the bus itself is gone (the bus daemon stopped or restarted)."""


class Bus:
    """One authenticated connection to a message bus."""

    def __init__(self, address: str, label: str, *, timeout: float = 2.0) -> None:
        self.address = address
        self.label = label
        self.timeout = timeout
        try:
            self._connection: Any = open_dbus_connection(address, auth_timeout=timeout)
        except ValueError as exc:
            # jeepney's AuthenticationError: the bus rejected our uid (EXTERNAL auth).
            raise SourceUnavailableError(
                f"the {label} bus at {address} rejected this process (uid {os.getuid()}): "
                f"{exc}; run the reporter with the bus owner's user id"
            ) from exc
        except (OSError, RuntimeError, KeyError) as exc:
            raise SourceUnavailableError(
                f"cannot connect to the {label} bus at {address}: {exc or type(exc).__name__}"
            ) from exc
        self._filters: list[Any] = []
        self.closed = False

    @property
    def unique_name(self) -> str:
        return str(self._connection.unique_name)

    def call(
        self,
        bus_name: str,
        path: str,
        interface: str,
        method: str,
        *,
        signature: str | None = None,
        body: tuple[Any, ...] = (),
    ) -> tuple[Any, ...]:
        """Call a method and return the reply's body, raising typed errors."""
        if self.closed:
            raise BusClosedError(f"the {self.label} bus connection is closed")
        message = new_method_call(DBusAddress(path, bus_name, interface), method, signature, body)
        try:
            reply = self._connection.send_and_get_reply(message, timeout=self.timeout)
        except TimeoutError as exc:
            raise DBusCallError(
                "timeout", f"{bus_name} did not answer {method} within {self.timeout} s"
            ) from exc
        except OSError as exc:
            self.close()
            raise BusClosedError(f"lost the {self.label} bus at {self.address}: {exc}") from exc
        if reply.header.message_type is MessageType.error:
            name = str(reply.header.fields.get(HeaderFields.error_name, "error"))
            detail = str(reply.body[0]) if reply.body else ""
            raise DBusCallError(name, detail)
        return tuple(reply.body)

    def get_property(self, bus_name: str, path: str, interface: str, name: str) -> Any:
        """One property's value (the variant unwrapped)."""
        (variant,) = self.call(
            bus_name, path, PROPERTIES, "Get", signature="ss", body=(interface, name)
        )
        return variant[1]

    def get_all(self, bus_name: str, path: str, interface: str) -> dict[str, Any]:
        """Every property of `interface` in one round trip, variants unwrapped."""
        (values,) = self.call(
            bus_name, path, PROPERTIES, "GetAll", signature="s", body=(interface,)
        )
        return {str(key): variant[1] for key, variant in values.items()}

    def name_has_owner(self, name: str) -> bool:
        (answer,) = self.call(
            DBUS_NAME, DBUS_PATH, DBUS_NAME, "NameHasOwner", signature="s", body=(name,)
        )
        return bool(answer)

    def watch_signal(
        self, interface: str, member: str, path: str | None = None, arg0: str | None = None
    ) -> deque[Any]:
        """Ask the bus for a signal and return the queue its messages land in."""
        rule = MatchRule(type="signal", interface=interface, member=member, path=path)
        if arg0 is not None:
            rule.add_arg_condition(0, arg0)
        self.call(
            DBUS_NAME, DBUS_PATH, DBUS_NAME, "AddMatch", signature="s", body=(rule.serialise(),)
        )
        queue: deque[Any] = deque(maxlen=32)
        self._filters.append(self._connection.filter(rule, queue=queue))
        return queue

    def drain(self) -> None:
        """Route messages that already arrived (signals) into their queues, without waiting."""
        if self.closed:
            return
        while True:
            try:
                self._connection.recv_messages(timeout=0)
            except TimeoutError:
                return
            except OSError as exc:
                self.close()
                raise BusClosedError(f"lost the {self.label} bus: {exc}") from exc

    def wait(self) -> None:
        """Block until the next message arrives and route it into its queue."""
        if self.closed:
            raise BusClosedError(f"the {self.label} bus connection is closed")
        try:
            self._connection.recv_messages(timeout=None)
        except (OSError, ValueError) as exc:
            self.close()
            raise BusClosedError(f"lost the {self.label} bus: {exc or 'closed'}") from exc

    def interrupt(self) -> None:
        """Wake a thread blocked in `wait` (it sees the connection end); any thread may call it."""
        with contextlib.suppress(OSError):
            self._connection.sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(OSError):
            self._connection.close()


SignalHandler = Callable[[tuple[Any, ...]], None]


class SignalLoop:
    """Runs signal handlers on the thread that calls `run`, until the connection ends."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._handlers: list[tuple[deque[Any], SignalHandler]] = []

    def on_signal(
        self,
        interface: str,
        member: str,
        handler: SignalHandler,
        path: str | None = None,
        arg0: str | None = None,
    ) -> None:
        """Subscribe (on the thread that owns the bus: before `run`, or in a handler)."""
        self._handlers.append((self.bus.watch_signal(interface, member, path, arg0), handler))

    def on_name_lost(self, name: str, handler: Callable[[], None]) -> None:
        """Call `handler` when `name` loses its owner (the service exited or crashed)."""

        def owner_changed(body: tuple[Any, ...]) -> None:
            if not body[2]:
                handler()

        self.on_signal(DBUS_NAME, "NameOwnerChanged", owner_changed, DBUS_PATH, arg0=name)

    def run(self) -> None:
        """Deliver signals until the bus closes; raises BusClosedError then."""
        while True:
            self._deliver_queued()
            self.bus.wait()

    def _deliver_queued(self) -> None:
        # A handler's own method calls may queue further signals: loop until all are empty.
        while any(queue for queue, _handler in self._handlers):
            for queue, handler in self._handlers:
                while queue:
                    handler(tuple(queue.popleft().body))


class OptionalQuery:
    """A call some desktops serve and others do not: on "not served" it stops asking.

    Its absence is logged once, not on every poll (a lesson from other reporters).
    """

    def __init__(self, what: str, bus_name: str, path: str, interface: str, method: str) -> None:
        self.what = what
        self.bus_name = bus_name
        self.path = path
        self.interface = interface
        self.method = method
        self.signature: str | None = None
        self.body: tuple[Any, ...] = ()
        self.available = True

    def with_args(self, signature: str, *body: Any) -> OptionalQuery:
        self.signature = signature
        self.body = body
        return self

    def ask(self, bus: Bus) -> Any | None:
        """The answer's first value, or None when the desktop does not serve it."""
        if not self.available:
            return None
        try:
            reply = bus.call(
                self.bus_name,
                self.path,
                self.interface,
                self.method,
                signature=self.signature,
                body=self.body,
            )
        except DBusCallError as exc:
            if not exc.not_served:
                raise
            self.available = False
            logger.info("%s is not available here (%s); not asking again", self.what, exc.name)
            return None
        return reply[0] if reply else None
