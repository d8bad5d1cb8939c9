"""logind over the system bus: the session's IdleHint, LockedHint and idle inhibitors.

The desktop (GNOME, swayidle's `idlehint`) sets IdleHint after its own timeout, so the
hint is the desktop's decision. KDE never sets it (autosuspend #302): a hint that never
changes is no proof of activity, which is why `auto` prefers KDE's own interface there.
Sessions are found through seat0's ActiveSession or ListSessions: `session/auto` names
the caller's session and a container has none.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from idle_reporter.dbus import Bus, BusClosedError, DBusCallError
from idle_reporter.errors import CommandError, SourceReadError, SourceUnavailableError
from idle_reporter.sources.base import Reading
from idle_reporter.sources.dbus_source import DBusSource

logger = logging.getLogger(__name__)

LOGIN1 = "org.freedesktop.login1"
MANAGER_PATH = "/org/freedesktop/login1"
MANAGER = "org.freedesktop.login1.Manager"
SEAT = "org.freedesktop.login1.Seat"
SESSION = "org.freedesktop.login1.Session"
SEAT0_PATH = "/org/freedesktop/login1/seat/seat0"
GRAPHICAL_TYPES = frozenset({"x11", "wayland", "mir"})


class LogindClient:
    """Finds the graphical session on a held system-bus connection."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.session_path: str | None = None
        self._warned_kde = False

    def _graphical(self, path: str) -> dict[str, Any] | None:
        properties = self.bus.get_all(LOGIN1, path, SESSION)
        return properties if properties.get("Type") in GRAPHICAL_TYPES else None

    def find_session(self) -> tuple[str, dict[str, Any]]:
        """The active graphical session (seat0's first), with its properties."""
        try:
            _session_id, path = self.bus.get_property(LOGIN1, SEAT0_PATH, SEAT, "ActiveSession")
        except DBusCallError as exc:
            if exc.name == "timeout" or exc.name.endswith("ServiceUnknown"):
                raise
            path = "/"  # no seat0 (a headless or remote login): enumerate the sessions
        if path and path != "/":
            properties = self._graphical(str(path))
            if properties is not None:
                return str(path), properties
        (sessions,) = self.bus.call(LOGIN1, MANAGER_PATH, MANAGER, "ListSessions")
        fallback: tuple[str, dict[str, Any]] | None = None
        for _sid, _uid, _user, _seat, session_path in sessions:
            properties = self._graphical(str(session_path))
            if properties is None:
                continue
            if properties.get("Active"):
                return str(session_path), properties
            fallback = fallback or (str(session_path), properties)
        if fallback is None:
            raise SourceReadError("logind knows no graphical session (is anyone logged in?)")
        return fallback

    def session(self) -> tuple[str, dict[str, Any]]:
        """The session's properties; re-find it when seat0 switched or it ended."""
        path, properties = self.find_session()
        if path != self.session_path:
            logger.info(
                "Watching logind session %s (%s, user %s)",
                properties.get("Id", path),
                properties.get("Type", "?"),
                properties.get("Name", "?"),
            )
            self.session_path = path
            if "KDE" in str(properties.get("Desktop", "")).upper() and not self._warned_kde:
                self._warned_kde = True
                logger.warning(
                    "This is a KDE session: KDE does not maintain logind's IdleHint; "
                    "use IDLE_SOURCE=kde or evdev for a reliable idle time"
                )
        return path, properties

    def lock(self) -> None:
        path, _properties = self.session()
        self.bus.call(LOGIN1, path, SESSION, "Lock")


class LogindSource(DBusSource):
    """Idle state from logind's session hints; resumes seen through PrepareForSleep."""

    name = "logind"
    bus_label = "system"

    def __init__(self, address: str | None) -> None:
        super().__init__(address)
        self._client: LogindClient | None = None
        self._sleep_signals: Any = None
        self._resumed = False

    @property
    def knows_locked(self) -> bool:
        return True

    def check(self) -> None:
        self._attach(self.bus)
        assert self._client is not None
        try:
            self._client.session()
        except SourceReadError as exc:
            raise SourceUnavailableError(str(exc)) from exc

    def explain(self, error: DBusCallError | BusClosedError) -> str:
        if isinstance(error, DBusCallError) and error.name.endswith("ServiceUnknown"):
            return "logind (org.freedesktop.login1) does not answer on this system bus"
        return f"logind: {error}"

    def _attach(self, bus: Bus) -> None:
        """Bind the client and the PrepareForSleep watch to this (new) connection."""
        if self._client is not None and self._client.bus is bus:
            return
        self._client = LogindClient(bus)
        self._sleep_signals = bus.watch_signal(MANAGER, "PrepareForSleep", MANAGER_PATH)

    def query(self, bus: Bus) -> Reading:
        self._attach(bus)
        assert self._client is not None
        bus.drain()
        self._note_sleep_signals()
        _path, properties = self._client.session()
        blocked = str(bus.get_property(LOGIN1, MANAGER_PATH, MANAGER, "BlockInhibited"))
        hint = bool(properties.get("IdleHint", False))
        since_us = int(properties.get("IdleSinceHint", 0))
        idle_seconds = max(0.0, time.time() - since_us / 1_000_000) if hint and since_us else 0.0
        return Reading(
            idle_seconds=idle_seconds,
            idle_hint=hint,
            locked=bool(properties.get("LockedHint", False)),
            inhibited="idle" in blocked.split(":"),
        )

    def _note_sleep_signals(self) -> None:
        while self._sleep_signals:
            message = self._sleep_signals.popleft()
            going_to_sleep = bool(message.body[0]) if message.body else False
            if going_to_sleep:
                logger.info("logind: the machine is going to sleep")
            else:
                logger.info("logind: resumed from sleep; re-reading the state")
                self._resumed = True

    def take_resumed(self) -> bool:
        resumed, self._resumed = self._resumed, False
        return resumed

    def lock(self) -> None:
        try:
            self._attach(self.bus)
            assert self._client is not None
            self._client.lock()
        except (DBusCallError, BusClosedError, SourceReadError) as exc:
            raise CommandError(f"logind could not lock the session: {exc}") from exc


class SessionLocker:
    """Locks the graphical session through logind, for any source.

    The `lock` command works wherever the system bus is reachable, even when the idle
    time comes from elsewhere; the connection is opened on first use and then kept.
    """

    def __init__(self, address: str) -> None:
        self._source = LogindSource(address)

    def lock(self) -> None:
        self._source.lock()

    def close(self) -> None:
        self._source.close()
