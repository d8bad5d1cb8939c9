"""A tiny D-Bus service framework over jeepney for fakes: methods, properties, signals.

Each fake owns one connection served by a thread; `stop()` closes it, so the bus drops
its names exactly as when a real service crashes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Self

from jeepney import (
    DBusAddress,
    HeaderFields,
    MessageType,
    new_error,
    new_method_return,
    new_signal,
)
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import (
    Proxy,
    open_dbus_connection,
)

PROPERTIES = "org.freedesktop.DBus.Properties"
Variant = tuple[str, Any]
Handler = Callable[[tuple[Any, ...]], tuple[str | None, tuple[Any, ...]]]


class FakeDBusError(Exception):
    """Raised by a handler to answer with a D-Bus error."""

    def __init__(self, name: str, text: str = "") -> None:
        super().__init__(text)
        self.name = name
        self.text = text


class FakeService:
    """Serves `methods[(path, interface, member)]` and `properties[(path, interface)]`."""

    def __init__(self, address: str, names: list[str]) -> None:
        self.address = address
        self.names = names
        self.methods: dict[tuple[str, str, str], Handler] = {}
        self.properties: dict[tuple[str, str], dict[str, Variant]] = {}
        self.calls: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: Any = None

    def start(self) -> Self:
        self._connection = open_dbus_connection(self.address)
        bus = Proxy(message_bus, self._connection, timeout=5)
        for name in self.names:
            bus.RequestName(name, 4)  # DBUS_NAME_FLAG_DO_NOT_QUEUE
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name="fake-dbus", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def set_property(self, path: str, interface: str, name: str, value: Variant) -> None:
        with self._lock:
            self.properties.setdefault((path, interface), {})[name] = value

    def emit(self, path: str, interface: str, member: str, signature: str, *body: Any) -> None:
        message = new_signal(DBusAddress(path, interface=interface), member, signature, body)
        with self._send_lock:
            self._connection.send(message)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                message = self._connection.receive(timeout=0.05)
            except TimeoutError:
                continue
            except OSError:
                return
            if message.header.message_type is MessageType.method_call:
                reply = self._answer(message)
                with self._send_lock:
                    self._connection.send(reply)

    def _answer(self, message: Any) -> Any:
        fields = message.header.fields
        path = str(fields.get(HeaderFields.path, ""))
        interface = str(fields.get(HeaderFields.interface, ""))
        member = str(fields.get(HeaderFields.member, ""))
        with self._lock:
            self.calls.append((path, interface, member))
        try:
            if interface == PROPERTIES:
                signature, body = self._properties_call(path, member, tuple(message.body))
            else:
                handler = self.methods.get((path, interface, member))
                if handler is None:
                    raise FakeDBusError(
                        "org.freedesktop.DBus.Error.UnknownMethod", f"no {interface}.{member}"
                    )
                signature, body = handler(tuple(message.body))
        except FakeDBusError as exc:
            return new_error(message, exc.name, "s", (exc.text,))
        return new_method_return(message, signature, body)

    def _properties_call(
        self, path: str, member: str, args: tuple[Any, ...]
    ) -> tuple[str | None, tuple[Any, ...]]:
        interface = str(args[0])
        with self._lock:
            values = dict(self.properties.get((path, interface), {}))
        if not values:
            raise FakeDBusError("org.freedesktop.DBus.Error.UnknownObject", f"no {path}")
        if member == "GetAll":
            return "a{sv}", (values,)
        if member == "Get":
            name = str(args[1])
            if name not in values:
                raise FakeDBusError("org.freedesktop.DBus.Error.UnknownProperty", name)
            return "v", (values[name],)
        raise FakeDBusError("org.freedesktop.DBus.Error.UnknownMethod", member)
