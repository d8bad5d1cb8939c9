"""Wayland compositors' own idle protocols: `ext_idle_notifier_v1`, else `org_kde_kwin_idle`.

KWin 5.27+, sway 1.8+, Hyprland, niri, labwc, Wayfire and other wlroots compositors offer
`ext_idle_notifier_v1`; KWin and sway 1.7 offer KDE's older `org_kde_kwin_idle`. Either
way the reporter asks for one notification with IDLE_THRESHOLD as its timeout and the
compositor sends `idled` when the seat has had no input that long and `resumed` at the next
input. Version 1 of `ext_idle_notifier_v1` (and sway's and KWin's KDE protocol) holds the
notification back while an idle inhibitor is active, so a playing video keeps the desk
active. The idle time is the threshold plus the time since `idled`; before that the
protocol does not say how long the seat has been idle, so it reads 0. At connect (and
reconnect) the compositor starts the timeout afresh.

KDE's lock screen is reported through org.freedesktop.ScreenSaver on the session bus
(`GetActive`, then `ActiveChanged`), where the desktop serves it.

Threads: `connect` runs on the service's worker thread; afterwards the Wayland display is
read and dispatched only by the `wayland-events` listener thread (libwayland objects are
not shared between threads), the session bus only by a second listener. Their handlers
change the source's snapshot and wake the service; `interrupt` may be called by anyone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pywayland.client.display import Display
from pywayland.protocol.ext_idle_notify_v1 import ExtIdleNotifierV1
from pywayland.protocol.wayland import WlSeat

from idle_reporter.dbus import Bus, BusClosedError, DBusCallError, SignalLoop
from idle_reporter.errors import SourceReadError, SourceUnavailableError
from idle_reporter.sources.event_source import EventSource, Loop
from idle_reporter.sources.kde_idle_protocol import OrgKdeKwinIdle
from idle_reporter.sources.screensaver import FREEDESKTOP_SCREENSAVER, watch_lock

logger = logging.getLogger(__name__)

EXT_IDLE = ExtIdleNotifierV1.name
KDE_IDLE = OrgKdeKwinIdle.name
PROTOCOLS = (EXT_IDLE, KDE_IDLE)  # preference order
CONNECT_TIMEOUT = 5.0


class CompositorConnection:
    """One client connection: the registry's globals, and an event loop that can be stopped."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket
        self.display = Display(str(socket))
        try:
            self.display.connect()
        except ValueError as exc:
            raise SourceUnavailableError(
                f"cannot connect to the Wayland compositor at {socket} (is it running, and "
                "is this the user's own runtime directory?)"
            ) from exc
        self.globals: dict[str, tuple[int, int]] = {}
        self.registry = self.display.get_registry()
        self.registry.dispatcher["global"] = self._on_global
        self._stop_r, self._stop_w = os.pipe()
        try:
            self.roundtrip()
        except (SourceUnavailableError, SourceReadError):
            self.close()
            raise

    def _on_global(self, _registry: Any, name: int, interface: str, version: int) -> None:
        self.globals.setdefault(interface, (name, version))

    def bind(self, interface: Any, version: int) -> Any:
        name, offered = self.globals[interface.name]
        return self.registry.bind(name, interface, min(version, offered))

    def roundtrip(self, timeout: float = CONNECT_TIMEOUT) -> None:
        """wl_display_roundtrip with a deadline: a hung compositor must not hang the worker."""
        done: list[bool] = []
        callback = self.display.sync()
        callback.dispatcher["done"] = lambda *_args: done.append(True)
        deadline = time.monotonic() + timeout
        while not done:
            self.display.flush()
            remaining = deadline - time.monotonic()
            ready, _w, _x = select.select([self.display.get_fd()], [], [], max(0.0, remaining))
            if not ready:
                raise SourceUnavailableError(f"the compositor at {self.socket} did not answer")
            self._read_and_dispatch()

    def _read_and_dispatch(self) -> None:
        try:
            self.display.read()
            self.display.dispatch(block=False)
        except RuntimeError as exc:
            raise SourceReadError(
                f"the compositor at {self.socket} closed the connection (it exited or restarted)"
            ) from exc

    def run(self) -> None:
        """Dispatch events until `stop` (returns) or the compositor goes (SourceReadError)."""
        fd = self.display.get_fd()
        while True:
            self.display.dispatch(block=False)
            self.display.flush()
            ready, _w, _x = select.select([fd, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            self._read_and_dispatch()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._stop_w, b"x")

    def close(self) -> None:
        self.display.disconnect()
        for fd in (self._stop_r, self._stop_w):
            with contextlib.suppress(OSError):
                os.close(fd)


class WaylandSource(EventSource):
    """Idle and resumed events from the compositor; the lock state from the session bus."""

    name = "wayland"

    def __init__(
        self,
        socket: Callable[[], Path],
        threshold: float,
        *,
        protocol: str = "auto",
        session_bus: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(clock)
        self._socket = socket
        self.threshold_ms = max(1, round(threshold * 1000))
        self.wanted_protocol = protocol
        self.session_bus = session_bus
        self.protocol: str | None = None
        self._compositor: CompositorConnection | None = None
        self._lock_loop: SignalLoop | None = None
        self._notification: Any = None

    def connect(self) -> list[Loop]:
        compositor = CompositorConnection(self._socket())
        self._compositor = compositor
        try:
            self.protocol = self._choose_protocol(compositor)
            self._lock_loop = self._watch_lock()  # resets the snapshot: before any event
            self._notification = self._subscribe(compositor)
            compositor.roundtrip()
        except (SourceUnavailableError, SourceReadError):
            self.disconnect()
            raise
        loops: list[Loop] = [compositor.run]
        if self._lock_loop is not None:
            loops.append(self._run_lock_loop)
        logger.info("wayland: %s at %s", self.protocol, compositor.socket)
        return loops

    def _choose_protocol(self, compositor: CompositorConnection) -> str:
        offered = [name for name in PROTOCOLS if name in compositor.globals]
        if WlSeat.name not in compositor.globals:
            raise SourceUnavailableError("the compositor offers no seat (wl_seat)")
        if self.wanted_protocol != "auto":
            if self.wanted_protocol not in offered:
                raise SourceUnavailableError(
                    f"the compositor does not offer {self.wanted_protocol} "
                    f"(IDLE_WAYLAND_PROTOCOL); it offers {', '.join(offered) or 'neither'}"
                )
            return self.wanted_protocol
        if not offered:
            raise SourceUnavailableError(
                "the compositor offers neither ext_idle_notifier_v1 nor org_kde_kwin_idle "
                "(GNOME: use its IdleMonitor, IDLE_SOURCE=gnome)"
            )
        return offered[0]

    def _subscribe(self, compositor: CompositorConnection) -> Any:
        seat = compositor.bind(WlSeat, 1)
        if self.protocol == EXT_IDLE:
            # Version 1: get_idle_notification honours idle inhibitors.
            notification = compositor.bind(ExtIdleNotifierV1, 1).get_idle_notification(
                self.threshold_ms, seat
            )
            notification.dispatcher["idled"] = self._on_idle
        else:
            notification = compositor.bind(OrgKdeKwinIdle, 1).get_idle_timeout(
                seat, self.threshold_ms
            )
            notification.dispatcher["idle"] = self._on_idle
        notification.dispatcher["resumed"] = self._on_resumed
        return notification

    def _watch_lock(self) -> SignalLoop | None:
        """KDE's lock screen on the session bus, where there is one that tells it."""
        locked: bool | None = None
        loop: SignalLoop | None = None
        if self.session_bus:
            try:
                loop = SignalLoop(Bus(self.session_bus, "session"))
                locked = watch_lock(loop, FREEDESKTOP_SCREENSAVER, self._on_lock_changed)
            except (SourceUnavailableError, BusClosedError, DBusCallError) as exc:
                logger.info("No lock state: %s", exc)
        if locked is None and loop is not None:
            loop.bus.close()
            loop = None
        self._reset_presence(locked)
        return loop

    # ------------------------------------------------------ listener threads
    def _on_idle(self, _notification: Any) -> None:
        self._went_idle(self.threshold_ms / 1000)

    def _on_resumed(self, _notification: Any) -> None:
        self._went_active()

    def _on_lock_changed(self, locked: bool) -> None:
        self._update(locked=locked)

    def _run_lock_loop(self) -> None:
        assert self._lock_loop is not None
        try:
            self._lock_loop.run()
        except BusClosedError as exc:
            raise SourceReadError(f"the session bus connection ended ({exc})") from exc

    # ---------------------------------------------------------- any thread
    def interrupt(self) -> None:
        if self._compositor is not None:
            self._compositor.stop()
        if self._lock_loop is not None:
            self._lock_loop.bus.interrupt()

    def disconnect(self) -> None:
        if self._compositor is not None:
            self._compositor.close()
            self._compositor = None
            self._notification = None
        if self._lock_loop is not None:
            self._lock_loop.bus.close()
            self._lock_loop = None
