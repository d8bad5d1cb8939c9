"""Idle reporter benchmark: steady-state CPU and memory per source.

Starts a real Mosquitto, the desktop services the sources talk to (a private dbus-daemon
with the fake logind / GNOME / KDE services, Xvfb, a FIFO that receives a keystroke
every second, a state file) and one `python -m idle_reporter` process per source, all
at the default 5 s poll interval. After they published their first state it reads
/proc/<pid>/stat and /proc/<pid>/status over the window and prints, per source,
CPU seconds per minute and resident memory. Goals: < 0.5 s CPU/min, < 40 MB RSS.

Run: python bench/idle_bench.py   (BENCH_SECONDS=60 sets the window; sources run at once)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from idle_reporter.sources.evdev import EV_KEY, EV_SYN, pack_event
from tests.idle_fakes.dbus_daemon import DBusDaemon
from tests.idle_fakes.desktop import FakeKde
from tests.idle_fakes.login1 import FakeLogind
from tests.idle_fakes.xvfb import Xvfb
from tests.support.broker import MosquittoBroker
from tests.support.probe import Probe
from tests.support.service_process import service_env

SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
POLL_INTERVAL = os.environ.get("BENCH_POLL_INTERVAL", "5")
CPU_GOAL = 0.5  # seconds of CPU per minute
RSS_GOAL = 40.0  # MB
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# The MQTT core alone (settings, connection, nothing else), for the reporter's own share.
CORE_ONLY = """
import signal
from mqtt_service.config import MqttSettings
from mqtt_service.connection import MqttConnection
connection = MqttConnection(MqttSettings(), "idle_reporter", "idle/bench-core")
connection.start()
signal.pause()
"""
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Sample:
    cpu: float  # user + system seconds
    rss_mb: float
    peak_mb: float
    threads: int


def sample(pid: int) -> Sample:
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(stat[11]) + int(stat[12])) / CLOCK_TICKS
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return Sample(
        cpu=cpu,
        rss_mb=int(status["VmRSS"].split()[0]) / 1024,
        peak_mb=int(status["VmHWM"].split()[0]) / 1024,
        threads=int(status["Threads"]),
    )


def reporter_env(
    broker: MosquittoBroker, state_dir: Path, source: str, **extra: str
) -> dict[str, str]:
    return service_env(
        broker,
        state_dir / source,
        user="idle_reporter",
        HEALTH_FILE=str(state_dir / source / "heartbeat"),
        IDLE_HOST_NAME=f"bench-{source}",
        IDLE_SOURCE=source,
        IDLE_POLL_INTERVAL=POLL_INTERVAL,
        LOG_LEVEL="WARNING",
        **extra,
    )


class Typist(threading.Thread):
    """Writes a key press and release into the evdev FIFO once a second."""

    def __init__(self, fifo: Path) -> None:
        super().__init__(daemon=True)
        self.fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(1.0):
            press = pack_event(EV_KEY, 30, 1) + pack_event(EV_SYN, 0, 0)
            os.write(self.fd, press + pack_event(EV_KEY, 30, 0) + pack_event(EV_SYN, 0, 0))

    def close(self) -> None:
        self.stop.set()
        self.join()
        os.close(self.fd)


@contextlib.contextmanager
def desktop(workdir: Path) -> Iterator[dict[str, dict[str, str]]]:
    """Start every desktop service available here; yield each source's extra env."""
    extras: dict[str, dict[str, str]] = {}
    with contextlib.ExitStack() as stack:
        state_file = workdir / "idle-state"
        state_file.write_text("active\n")
        extras["file"] = {"IDLE_STATE_FILE": str(state_file)}
        fifo = workdir / "event0"
        os.mkfifo(fifo)
        typist = Typist(fifo)
        typist.start()
        stack.callback(typist.close)
        extras["evdev"] = {"IDLE_INPUT_DEVICES": str(fifo)}
        if shutil.which("Xvfb"):
            xvfb = Xvfb()
            extras["x11"] = {"DISPLAY": xvfb.start(), "XDG_SESSION_TYPE": "x11"}
            stack.callback(xvfb.stop)
        else:
            print("x11: skipped (Xvfb is not installed)")
        if shutil.which("dbus-daemon"):
            daemon = DBusDaemon(workdir / "dbus")
            address = daemon.start()
            stack.callback(daemon.stop)
            for fake in (FakeLogind(address), FakeKde(address)):
                fake.start()
                stack.callback(fake.stop)
            extras["logind"] = {"DBUS_SYSTEM_BUS_ADDRESS": address}
            extras["kde"] = {"DBUS_SESSION_BUS_ADDRESS": address}
        else:
            print("logind/gnome/kde: skipped (dbus-daemon is not installed)")
        yield extras


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="idle-bench-") as tmp:
        workdir = Path(tmp)
        broker = MosquittoBroker(workdir / "broker")
        broker.start()
        probe = Probe(broker, "homeassistant")
        processes: dict[str, subprocess.Popen[bytes]] = {}
        try:
            probe.subscribe("idle/+/state")
            probe.subscribe("idle/+/status")
            with desktop(workdir) as extras:
                for source, extra in extras.items():
                    processes[source] = subprocess.Popen(
                        [sys.executable, "-m", "idle_reporter"],
                        env=reporter_env(broker, workdir / "state", source, **extra),
                    )
                processes["(core)"] = subprocess.Popen(
                    [sys.executable, "-c", CORE_ONLY],
                    env=reporter_env(broker, workdir / "state", "core"),
                )
                for source in processes:
                    if source == "(core)":
                        probe.wait_for("idle/bench-core/status", timeout=30)
                    else:
                        probe.wait_for(f"idle/bench-{source}/state", timeout=30)
                start = {source: sample(p.pid) for source, p in processes.items()}
                began = time.monotonic()
                print(
                    f"Measuring {len(processes)} reporters for {SECONDS:.0f} s "
                    f"(poll interval {POLL_INTERVAL} s) ..."
                )
                time.sleep(SECONDS)
                elapsed = time.monotonic() - began
                end = {source: sample(p.pid) for source, p in processes.items()}
                report(start, end, elapsed)
        finally:
            for process in processes.values():
                process.terminate()
            for process in processes.values():
                process.wait(timeout=15)
            probe.close()
            broker.kill()
    return 0


def report(start: dict[str, Sample], end: dict[str, Sample], elapsed: float) -> None:
    print(f"{'source':<8} {'CPU s/min':>10} {'RSS MB':>8} {'peak MB':>8} {'threads':>8}  goal")
    for source, first in start.items():
        last = end[source]
        per_minute = (last.cpu - first.cpu) * 60 / elapsed
        ok = per_minute < CPU_GOAL and last.peak_mb < RSS_GOAL
        print(
            f"{source:<8} {per_minute:>10.3f} {last.rss_mb:>8.1f} {last.peak_mb:>8.1f} "
            f"{last.threads:>8}  {'ok' if ok else 'MISSED'}"
        )
    print(f"goals: < {CPU_GOAL} s CPU per minute, < {RSS_GOAL:.0f} MB resident")
    print("(core) is the MQTT core alone in a process: the floor every service stands on")


if __name__ == "__main__":
    sys.exit(main())
