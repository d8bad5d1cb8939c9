"""X11: the MIT-SCREEN-SAVER extension's idle counter (XScreenSaverQueryInfo), and the lock
state xscreensaver publishes in the root window's `_SCREENSAVER_STATUS` property.

Exactly one X connection for the life of the source: opening one per poll exhausted
XWayland's client limit (lnxlink #251). Under Wayland this counter only sees input to
XWayland windows (safeeyes #286), so `auto` never picks it in a Wayland session.
xscreensaver has no D-Bus interface; its status property's first value is the atom `LOCK`
while the screen is locked (`BLANK` while only blanked, 0 otherwise). Where no
xscreensaver runs the property is absent and the lock state unknown.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from Xlib import X, Xatom
from Xlib import display as xdisplay
from Xlib import error as xerror
from Xlib import ext as xext

from idle_reporter.errors import SourceReadError, SourceUnavailableError
from idle_reporter.sources.base import IdleSource, Reading

logger = logging.getLogger(__name__)

EXTENSION = "MIT-SCREEN-SAVER"
XSCREENSAVER_STATUS = "_SCREENSAVER_STATUS"
XSCREENSAVER_LOCKED = "LOCK"
_X_ERRORS: tuple[type[BaseException], ...] = (
    xerror.DisplayError,
    xerror.ConnectionClosedError,
    xerror.XError,
    OSError,
)


@contextmanager
def _only_the_screensaver_extension() -> Iterator[None]:
    """python-xlib imports and sets up a module for every extension the server offers
    (about 1 MB of a ~40 MB budget); this source needs MIT-SCREEN-SAVER alone. The list
    is consulted only while a Display is being created, so it is restored right after."""
    offered = xext.__extensions__
    xext.__extensions__ = [item for item in offered if item[0] == EXTENSION]
    try:
        yield
    finally:
        xext.__extensions__ = offered


class X11Source(IdleSource):
    """Milliseconds since the last X input, from one held display connection."""

    name = "x11"

    def __init__(self, display_name: str | None) -> None:
        self.display_name = display_name
        self.display: Any = None
        self._root: Any = None
        self._status_atom = X.NONE
        self._lock_atom = X.NONE
        self._knows_locked = False

    @property
    def knows_locked(self) -> bool:
        return self._knows_locked

    def open(self) -> None:
        if not self.display_name:
            raise SourceUnavailableError("DISPLAY is not set")
        self._connect()
        if not self.display.has_extension(EXTENSION):
            self.close()
            raise SourceUnavailableError(
                f"the X server at {self.display_name} has no {EXTENSION} extension"
            )
        try:
            self._knows_locked = self.read().locked is not None
        except SourceReadError as exc:
            raise SourceUnavailableError(str(exc)) from exc

    def _connect(self) -> None:
        try:
            with _only_the_screensaver_extension():
                self.display = xdisplay.Display(self.display_name)
        except _X_ERRORS as exc:
            raise SourceUnavailableError(
                f"cannot open X display {self.display_name}: {exc} (mount /tmp/.X11-unix "
                "and pass XAUTHORITY)"
            ) from exc
        self._root = self.display.screen().root
        self._status_atom = self.display.intern_atom(XSCREENSAVER_STATUS)
        self._lock_atom = self.display.intern_atom(XSCREENSAVER_LOCKED)

    def read(self) -> Reading:
        if self.display is None:
            # Only after the server closed our connection: reconnect once per poll at most.
            try:
                self._connect()
            except SourceUnavailableError as exc:
                raise SourceReadError(str(exc)) from exc
            logger.info("Reconnected to X display %s", self.display_name)
        try:
            info = self._root.screensaver_query_info()
            status = self._root.get_full_property(self._status_atom, Xatom.INTEGER)
        except _X_ERRORS as exc:
            self.close()
            raise SourceReadError(f"x11: the X server stopped answering: {exc}") from exc
        locked = None if status is None or not status.value else status.value[0] == self._lock_atom
        return Reading(idle_seconds=int(info.idle) / 1000.0, locked=locked)

    def close(self) -> None:
        if self.display is not None:
            try:
                self.display.close()
            except _X_ERRORS:
                logger.debug("X display was already gone")
            self.display = None
            self._root = None
