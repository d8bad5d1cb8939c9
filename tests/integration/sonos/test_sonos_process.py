"""`sonos-bridge` as a process: serves a request, says offline and exits 0 on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from testkit.fakes.harness import request, wait_result, wait_subscribed
from testkit.fakes.speaker import FakeSonosSystem
from testkit.support.broker import MosquittoBroker, free_port
from testkit.support.probe import Probe
from testkit.support.service_process import service_env

ROOT = Path(__file__).resolve().parents[3]


def bridge_environment(broker: MosquittoBroker, state_dir: Path, hosts: str) -> dict[str, str]:
    return service_env(
        broker,
        state_dir,
        SONOS_HOSTS=hosts,
        SONOS_TIMEOUT="1",
        SONOS_POLL_INTERVAL="0.02",
        TTS_ENGINES="espeak",
        HTTP_PORT=str(free_port()),
        HTTP_BIND="127.0.0.1",
        SONOS_EVENT_PORT=str(free_port()),
    )


def test_service_process_lifecycle(
    sonos: FakeSonosSystem, broker: MosquittoBroker, listener: Probe, tmp_path: Path
) -> None:
    kitchen = sonos.add("Kitchen")
    process = subprocess.Popen(
        [sys.executable, "-m", "sonos_bridge"],
        cwd=ROOT,
        env=bridge_environment(broker, tmp_path / "state", kitchen.ip),
        stderr=subprocess.PIPE,
    )
    try:
        wait_subscribed(broker)
        request(listener, "sonos/tts/Kitchen", text="From a process", id="proc")
        assert wait_result(listener, "proc")["status"] == "played"
        assert (tmp_path / "state" / "heartbeat").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        _out, errors = process.communicate(timeout=20)
    assert process.returncode == 0, errors.decode()
    assert listener.on_topic("sonos/status")[-1].payload == b"offline"


def run_to_exit(environment: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """Run the bridge as `docker run` would, for settings that must stop it at start."""
    return subprocess.run(
        [sys.executable, "-m", "sonos_bridge"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        timeout=30,
        check=False,
    )


def test_bad_setting_stops_the_service_with_one_line(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    environment = bridge_environment(broker, tmp_path / "state", "127.0.0.1")
    environment["TTS_ENGINES"] = "polly"
    finished = run_to_exit(environment)
    assert finished.returncode == 2
    [line] = finished.stderr.decode().strip().splitlines()
    assert "TTS_ENGINES" in line and "polly" in line


def test_busy_http_port_stops_the_service_with_one_line(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    environment = bridge_environment(broker, tmp_path / "state", "127.0.0.1")
    environment["HTTP_PORT"] = str(broker.port)  # taken by the broker
    finished = run_to_exit(environment)
    assert finished.returncode == 2
    assert "HTTP_PORT" in finished.stderr.decode().strip().splitlines()[-1]
