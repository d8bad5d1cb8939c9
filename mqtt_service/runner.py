"""Process lifecycle: start, heartbeat, and a clean shutdown on SIGTERM.

Docker stops a container with SIGTERM; the service must then say `offline` itself
(a clean disconnect discards the last will), disconnect, and exit 0 within the grace
period, so `docker compose stop` never looks like a crash.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from mqtt_service.connection import MqttConnection
from mqtt_service.health import Heartbeat, heartbeat_path

logger = logging.getLogger(__name__)


class ServiceRunner:
    """Runs one service's connection until SIGTERM or SIGINT."""

    def __init__(
        self,
        connection: MqttConnection,
        *,
        on_shutdown: Callable[[], None] | None = None,
        is_healthy: Callable[[], bool] | None = None,
    ) -> None:
        self.connection = connection
        self._on_shutdown = on_shutdown
        self._extra_health = is_healthy
        self._stop_requested = threading.Event()
        settings = connection.settings
        self.heartbeat = Heartbeat(
            heartbeat_path(settings.state_dir), settings.health_interval, self._healthy
        )
        connection.on_connected(self.heartbeat.beat)

    def _healthy(self) -> bool:
        if not self.connection.connected:
            return False
        return self._extra_health() if self._extra_health else True

    def request_stop(self) -> None:
        self._stop_requested.set()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        logger.info("Received %s; shutting down", signal.Signals(signum).name)
        self._stop_requested.set()

    def run(self) -> int:
        """Block until asked to stop; returns the process exit code."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        self.connection.start()
        self.heartbeat.start()
        self._stop_requested.wait()
        if self._on_shutdown is not None:
            try:
                self._on_shutdown()
            except Exception:
                logger.exception("Shutdown hook failed")
        self.heartbeat.stop()
        self.connection.stop()
        logger.info("Stopped cleanly")
        return 0
