"""The health signal Docker's HEALTHCHECK relies on, against a real broker."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from testkit.support.broker import MosquittoBroker
from testkit.support.service_process import ServiceProcess, service_env
from testkit.waits import eventually


def health(state_dir: Path, interval: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mqtt_service.health"],
        env={"STATE_DIR": str(state_dir), "HEALTH_INTERVAL": interval, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )


def wait_for_health(state_dir: Path, interval: str, expected: int, timeout: float = 10.0) -> str:
    last: list[subprocess.CompletedProcess[str]] = []

    def reached() -> bool:
        last[:] = [health(state_dir, interval)]
        return last[0].returncode == expected

    eventually(reached, f"the health check to exit {expected}", timeout, every=0.1)
    return last[0].stdout


def test_healthy_only_while_connected(broker: MosquittoBroker, tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    assert health(state_dir, "0.2").returncode == 1  # never started
    service = ServiceProcess(
        "testkit.support.echo_service", service_env(broker, state_dir, HEALTH_INTERVAL="0.2")
    ).start()
    try:
        service.wait_for_log(r"Connected to")
        assert "healthy" in wait_for_health(state_dir, "0.2", expected=0)
        broker.stop()
        assert "old" in wait_for_health(state_dir, "0.2", expected=1)
        broker.start()
        wait_for_health(state_dir, "0.2", expected=0)
        assert service.stop() == 0
        assert health(state_dir, "0.2").returncode == 1
    finally:
        service.kill()


def test_an_empty_health_interval_means_the_default(tmp_path: Path) -> None:
    """Compose passes `HEALTH_INTERVAL=` when .env leaves it unset."""
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    (state_dir / "heartbeat").write_text("now\n")
    result = health(state_dir, "")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "healthy" in result.stdout
