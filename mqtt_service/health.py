"""Health signal for Docker: a heartbeat file refreshed only while the service is healthy.

`python -m mqtt_service.health` exits 0 only when the file is fresh, which makes it the
container HEALTHCHECK. A file (rather than an HTTP port) works under host networking and
costs nothing.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)

HEARTBEAT_NAME = "heartbeat"
# A heartbeat older than this many intervals means the service is stuck or disconnected.
STALE_AFTER_INTERVALS = 3
DEFAULT_INTERVAL = 10.0


def heartbeat_path(state_dir: Path) -> Path:
    return Path(os.environ.get("HEALTH_FILE", str(state_dir / HEARTBEAT_NAME)))


class Heartbeat:
    """Touches the heartbeat file every `interval` seconds while `is_healthy()` holds."""

    def __init__(self, path: Path, interval: float, is_healthy: Callable[[], bool]) -> None:
        self.path = path
        self.interval = interval
        self._is_healthy = is_healthy
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def beat(self) -> None:
        """Refresh now, e.g. right after connecting, instead of waiting a full interval."""
        if self._is_healthy():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(f"{time.time():.0f}\n", encoding="utf-8")

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.path.unlink(missing_ok=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.beat()
            except OSError as exc:
                logger.warning("Cannot write heartbeat %s: %s", self.path, exc)
            self._stop.wait(self.interval)


def check(path: Path, max_age: float) -> tuple[bool, str]:
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return False, f"no heartbeat at {path}: not connected yet"
    if age > max_age:
        return False, f"heartbeat {path} is {age:.0f} s old (limit {max_age:.0f} s)"
    return True, f"healthy: heartbeat {age:.0f} s old"


def main() -> int:
    state_dir = Path(os.environ.get("STATE_DIR", "/data"))
    # Empty means the default, as for every setting (Compose passes `HEALTH_INTERVAL=`).
    interval = float(os.environ.get("HEALTH_INTERVAL") or DEFAULT_INTERVAL)
    healthy, reason = check(heartbeat_path(state_dir), interval * STALE_AFTER_INTERVALS)
    print(reason)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
