"""Shared plumbing of the D-Bus sources: one bus connection, reopened only after it broke."""

from __future__ import annotations

import logging
from abc import abstractmethod

from idle_reporter.dbus import Bus, BusClosedError, DBusCallError
from idle_reporter.errors import SourceReadError, SourceUnavailableError
from idle_reporter.sources.base import IdleSource, Reading

logger = logging.getLogger(__name__)


class DBusSource(IdleSource):
    """Holds one connection to `address`; `read` turns bus trouble into SourceReadError."""

    bus_label = "session"

    def __init__(self, address: str | None) -> None:
        self.address = address
        self._bus: Bus | None = None

    def open(self) -> None:
        if not self.address:
            raise SourceUnavailableError(f"no {self.bus_label} bus address is configured")
        self._bus = Bus(self.address, self.bus_label)
        try:
            self.check()
        except (DBusCallError, BusClosedError) as exc:
            self.close()
            raise SourceUnavailableError(self.explain(exc)) from exc
        except SourceUnavailableError:
            self.close()
            raise

    @abstractmethod
    def check(self) -> None:
        """Prove the service answers (one real query); raise on failure."""

    @abstractmethod
    def query(self, bus: Bus) -> Reading:
        """Read the service over `bus`; D-Bus errors propagate."""

    def explain(self, error: DBusCallError | BusClosedError) -> str:
        """The one-line reason this source cannot work, from the error `check` hit."""
        return str(error)

    @property
    def bus(self) -> Bus:
        """The held connection; reopened (once per poll at most) only after it broke."""
        if self._bus is None or self._bus.closed:
            assert self.address is not None
            try:
                self._bus = Bus(self.address, self.bus_label)
            except SourceUnavailableError as exc:
                raise SourceReadError(str(exc)) from exc
            logger.info("Reconnected to the %s bus at %s", self.bus_label, self.address)
        return self._bus

    def read(self) -> Reading:
        try:
            return self.query(self.bus)
        except (DBusCallError, BusClosedError) as exc:
            raise SourceReadError(f"{self.name}: {exc}") from exc

    def close(self) -> None:
        if self._bus is not None:
            self._bus.close()
            self._bus = None
