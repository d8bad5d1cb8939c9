"""Process lifecycle: start, heartbeat, a health watchdog, and a clean shutdown on SIGTERM.

Docker stops a container with SIGTERM; the service must then say `offline` itself
(a clean disconnect discards the last will), disconnect, and exit 0 within the grace
period, so `docker compose stop` never looks like a crash. Messages that arrive while it
stops stay unacknowledged: the broker delivers them again to the next start.

Docker's restart policy acts only when the process exits, so an "unhealthy" container
would stay broken forever: the main thread checks the service's own health every
HEALTH_INTERVAL, and after HEALTH_RESTART_AFTER failed checks in a row the service stops
and exits with status 3. A lost broker connection does not count (paho reconnects).
The service's health check runs on the main thread; the heartbeat thread only reads the
last verdict.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType

from mqtt_service.connection import MqttConnection
from mqtt_service.health import Heartbeat, heartbeat_path

logger = logging.getLogger(__name__)

EXIT_UNHEALTHY = 3
# A service that exits because it is broken may have threads that never finish: after
# this long its shutdown is cut short, or it would never leave and never be restarted.
UNHEALTHY_SHUTDOWN_LIMIT = 30.0


class ServiceRunner:
    """Runs one service's connection until SIGTERM or SIGINT, or until it is unhealthy."""

    def __init__(
        self,
        connection: MqttConnection,
        *,
        on_shutdown: Callable[[], None] | None = None,
        is_healthy: Callable[[], bool] | None = None,
    ) -> None:
        self.connection = connection
        self._on_shutdown = on_shutdown
        self._service_check = is_healthy
        self._service_healthy = True
        self._failed_checks = 0
        self._exit_code = 0
        self._stop_requested = threading.Event()
        settings = connection.settings
        self._interval = settings.health_interval
        self._restart_after = settings.health_restart_after
        self.heartbeat = Heartbeat(
            heartbeat_path(settings.state_dir), self._interval, self._healthy
        )
        connection.on_connected(self.heartbeat.beat)

    def _healthy(self) -> bool:
        return self.connection.connected and self._service_healthy

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
        while not self._stop_requested.wait(self._interval):
            self._check_service()
        if self._exit_code == EXIT_UNHEALTHY:
            deadline = threading.Timer(UNHEALTHY_SHUTDOWN_LIMIT, os._exit, (EXIT_UNHEALTHY,))
            deadline.name = "unhealthy-exit"  # Timer takes no name argument
            deadline.daemon = True
            deadline.start()
        self._shut_down()
        return self._exit_code

    def _check_service(self) -> None:
        if self._service_check is None:
            return
        try:
            self._service_healthy = self._service_check()
        except Exception:
            logger.exception("The health check failed")
            self._service_healthy = False
        self._failed_checks = 0 if self._service_healthy else self._failed_checks + 1
        if self._restart_after and self._failed_checks >= self._restart_after:
            logger.error(
                "%s reported the service unhealthy %d times in a row (HEALTH_RESTART_AFTER, "
                "one check every %g s; any reason is logged above): exiting with status %d "
                "so the restart policy starts the service afresh",
                getattr(self._service_check, "__qualname__", "The health check"),
                self._failed_checks,
                self._interval,
                EXIT_UNHEALTHY,
            )
            self._exit_code = EXIT_UNHEALTHY
            self._stop_requested.set()

    def _shut_down(self) -> None:
        self.connection.hold_deliveries()
        if self._on_shutdown is not None:
            try:
                self._on_shutdown()
            except Exception:
                logger.exception("Shutdown hook failed")
        self.heartbeat.stop()
        self.connection.stop()
        logger.info("Stopped cleanly" if self._exit_code == 0 else "Stopped")
