"""Run a service as a real process and await what it logs.

Signals, exit codes and the broker's view of a dead client can only be tested on a
real process; its stderr is read on a thread and matched against patterns on demand.
"""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr

from mqtt_service.config import MqttSettings
from mqtt_service.connection import MqttConnection
from testkit.support.broker import PROJECT_ROOT, MosquittoBroker, free_port, password_for
from testkit.waits import eventually

DEFAULT_TIMEOUT = 15.0
_SERVICE_PREFIXES = (
    "MQTT_",
    "HA_",
    "IDLE_",
    "SONOS_",
    "TTS_",
    "HTTP_",
    "CACHE_",
    "DBUS_",
    "XDG_",
    "WAYLAND_",
    "HEALTH_",
)


class ServiceProcess:
    """A service module started with `python -m`, its log collected line by line."""

    def __init__(self, module: str, env: Mapping[str, str]) -> None:
        self.module = module
        self.env = dict(env)
        self.lines: list[str] = []
        self._condition = threading.Condition()
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> ServiceProcess:
        with self._condition:
            self.lines.clear()
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module],
            env=self.env,
            cwd=PROJECT_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._read, args=(self.process,), daemon=True).start()
        return self

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            with self._condition:
                self.lines.append(line.rstrip("\n"))
                self._condition.notify_all()
        with self._condition:
            self._condition.notify_all()

    def log(self) -> str:
        with self._condition:
            return "\n".join(self.lines)

    def wait_for_log(self, pattern: str, timeout: float = DEFAULT_TIMEOUT, count: int = 1) -> str:
        regex = re.compile(pattern)

        def matches() -> list[str]:
            return [line for line in self.lines if regex.search(line)]

        with self._condition:
            if not self._condition.wait_for(lambda: len(matches()) >= count, timeout):
                raise AssertionError(f"{self.module} never logged {pattern!r}:\n{self.log()}")
            return matches()[count - 1]

    def signal(self, signum: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> int:
        """SIGTERM, as `docker stop` does; returns the exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.signal(signal.SIGTERM)
        return self.wait()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(DEFAULT_TIMEOUT)


def service_env(
    broker: MosquittoBroker, state_dir: Path, user: str = "sonos_bridge", **extra: str
) -> dict[str, str]:
    """Environment for a service on the test broker; `extra` keys are variable names.

    The developer's own settings (and desktop session) are left out, so a test sees only
    what it sets.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_SERVICE_PREFIXES) and key != "DISPLAY"
    }
    env.update(
        MQTT_HOST=broker.host,
        MQTT_PORT=str(broker.port),
        MQTT_USERNAME=user,
        MQTT_PASSWORD=password_for(user),
        STATE_DIR=str(state_dir),
        LOG_LEVEL="DEBUG",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def start_bridge_process(
    broker: MosquittoBroker, state_dir: Path, hosts: list[str], **settings: str
) -> subprocess.Popen[bytes]:
    """The bridge as its own process (`python -m sonos_bridge`), as the benches measure it:
    the given speakers, espeak, free ports on loopback, its log in `state_dir/bridge.log`;
    `settings` (variable names) override any of these."""
    environment = service_env(
        broker,
        state_dir,
        **{
            "SONOS_HOSTS": ",".join(hosts),
            "TTS_ENGINES": "espeak",
            "HTTP_PORT": str(free_port()),
            "HTTP_BIND": "127.0.0.1",
            "SONOS_EVENT_PORT": str(free_port()),
            "LOG_LEVEL": "WARNING",
            **settings,
        },
    )
    state_dir.mkdir(parents=True, exist_ok=True)
    log = (state_dir / "bridge.log").open("wb")
    command = [sys.executable, "-m", "sonos_bridge"]
    return subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment, stdout=log, stderr=log)


def print_recovery(broker: MosquittoBroker, service: MqttConnection, restarts: int) -> None:
    """Restart the broker `restarts` times; print how soon `service` was connected and
    subscribed again each time (core_bench and tls_bench)."""
    recoveries: list[float] = []
    for _ in range(restarts):
        broker.stop()
        eventually(lambda: not service.connected, "the service to see the broker gone", every=0.005)
        broker.start()
        began = time.perf_counter()
        if not service.wait_ready(70):
            raise RuntimeError("the core did not reconnect")
        recoveries.append(time.perf_counter() - began)
    print(
        f"broker restart -> connected and resubscribed: median {statistics.median(recoveries):.2f}"
        f" s, max {max(recoveries):.2f} s over {restarts} restarts "
        f"(first reconnect waits MQTT_RECONNECT_MIN_DELAY="
        f"{service.settings.mqtt_reconnect_min_delay} s)"
    )


def core_connection(
    broker: MosquittoBroker, state_dir: Path, service_name: str = "echo", **settings_: object
) -> MqttConnection:
    """An in-process core connection as the `sonos_bridge` user (base topic `sonos`);
    `settings_` override MqttSettings fields."""
    settings = MqttSettings(
        mqtt_host=broker.host,
        mqtt_port=broker.port,
        mqtt_username="sonos_bridge",
        mqtt_password=SecretStr(password_for("sonos_bridge")),
        state_dir=state_dir,
        ha_discovery=False,
        **settings_,  # type: ignore[arg-type]
    )
    return MqttConnection(settings, service_name=service_name, base_topic="sonos")
