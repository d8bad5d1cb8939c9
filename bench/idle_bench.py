"""Idle reporter benchmark: steady-state CPU and memory per source, and how fast the
event-driven sources react to input on real compositors.

Starts a real Mosquitto and the desktops the sources talk to: a private dbus-daemon with the
fake logind and KDE (X11) services, Xvfb, a FIFO that receives a keystroke every second, a
state file, and, where installed, a real headless mutter (GNOME), KWin (Plasma) and sway.
Then one `python -m idle_reporter` process per source at the default settings (300 s
threshold, 5 s poll interval). After each published its first state it reads
/proc/<pid>/stat and /proc/<pid>/status over the window and prints, per source, CPU seconds
per minute and resident memory. Goals: < 0.5 s CPU/min, < 40 MB RSS.

Then, for the event-driven sources (gnome, wayland on sway and KWin), a reporter with a
1 s threshold per desktop: wait until it says idle, give input the desktop's own way
(mutter's RemoteDesktop, KWin's fake_input, wtype) and time until `active` arrives on
MQTT. Goal: under one second.

Run: python bench/idle_bench.py   (BENCH_SECONDS=60 sets the window; sources run at once)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idle_reporter.sources.evdev import EV_KEY, EV_SYN, pack_event
from testkit.idle_fakes.compositors import (
    Desktop,
    desktop_with_bus,
    missing_programs,
    start_kwin,
    start_mutter,
    start_sway,
)
from testkit.idle_fakes.dbus_daemon import DBusDaemon
from testkit.idle_fakes.desktop import FakeKde
from testkit.idle_fakes.desktop_input import KwinFakeInput, MutterInput, wtype
from testkit.idle_fakes.login1 import FakeLogind
from testkit.idle_fakes.xvfb import Xvfb
from testkit.support.broker import MosquittoBroker
from testkit.support.probe import Probe
from testkit.support.service_process import service_env
from testkit.waits import NextMessage

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
REACTION_GOAL = 1.0  # seconds from input to `active` on MQTT
REACTION_ROUNDS = int(os.environ.get("BENCH_REACTION_ROUNDS", "5"))


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


@dataclass
class Desk:
    """One reporter's desktop: its environment and, for the event-driven sources under a
    real compositor, how a person gives input there."""

    env: dict[str, str]
    give_input: Callable[[], None] | None = None
    close: list[Callable[[], None]] = field(default_factory=list)


def reporter_env(
    broker: MosquittoBroker, state_dir: Path, label: str, **extra: str
) -> dict[str, str]:
    env = service_env(
        broker,
        state_dir / label,
        user="idle_reporter",
        HEALTH_FILE=str(state_dir / label / "heartbeat"),
        IDLE_HOST_NAME=f"bench-{label}",
        IDLE_POLL_INTERVAL=POLL_INTERVAL,
        LOG_LEVEL="WARNING",
    )
    return env | extra


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


def desktop_env(session: dict[str, Any]) -> dict[str, str]:
    """A Desktop's session settings as environment variables."""
    return {name.upper(): str(value) for name, value in session.items()}


def polled_desks(stack: contextlib.ExitStack, workdir: Path) -> dict[str, Desk]:
    """The polled sources, against the fakes and Xvfb."""
    desks: dict[str, Desk] = {}
    state_file = workdir / "idle-state"
    state_file.write_text("active\n")
    desks["file"] = Desk({"IDLE_SOURCE": "file", "IDLE_STATE_FILE": str(state_file)})
    fifo = workdir / "event0"
    os.mkfifo(fifo)
    typist = Typist(fifo)
    typist.start()
    stack.callback(typist.close)
    desks["evdev"] = Desk({"IDLE_SOURCE": "evdev", "IDLE_INPUT_DEVICES": str(fifo)})
    if shutil.which("Xvfb"):
        xvfb = Xvfb()
        display = xvfb.start()
        stack.callback(xvfb.stop)
        desks["x11"] = Desk({"IDLE_SOURCE": "x11", "DISPLAY": display, "XDG_SESSION_TYPE": "x11"})
    else:
        print("x11: skipped (Xvfb is not installed)")
    if shutil.which("dbus-daemon"):
        daemon = DBusDaemon(workdir / "dbus")
        address = daemon.start()
        stack.callback(daemon.stop)
        for fake in (FakeLogind(address), FakeKde(address)):
            fake.start()
            stack.callback(fake.stop)
        desks["logind"] = Desk({"IDLE_SOURCE": "logind", "DBUS_SYSTEM_BUS_ADDRESS": address})
        desks["kde (X11)"] = Desk({"IDLE_SOURCE": "kde", "DBUS_SESSION_BUS_ADDRESS": address})
    else:
        print("logind/kde: skipped (dbus-daemon is not installed)")
    return desks


def compositor_desks(stack: contextlib.ExitStack, workdir: Path) -> dict[str, Desk]:
    """The event-driven sources, each under its real headless compositor."""
    desks: dict[str, Desk] = {}
    if not missing_programs("mutter"):
        mutter = stack.enter_context(desktop_with_bus(workdir / "mutter", start_mutter))
        assert mutter.bus_address is not None
        person = MutterInput(mutter.bus_address)
        stack.callback(person.close)
        env = {"IDLE_SOURCE": "gnome", "DBUS_SESSION_BUS_ADDRESS": mutter.bus_address}
        desks["gnome (mutter)"] = Desk(env, person.move_pointer)
    if not missing_programs("kwin_wayland"):
        kwin = stack.enter_context(desktop_with_bus(workdir / "kwin", start_kwin))
        fake_input = KwinFakeInput(kwin.compositor)
        stack.callback(fake_input.close)
        env = {"IDLE_SOURCE": "wayland", **desktop_env(kwin.session(xdg_current_desktop="KDE"))}
        desks["wayland (KWin)"] = Desk(env, fake_input.move_pointer)
    if not missing_programs("sway", "wtype", "setpriv"):
        sway = start_sway()
        stack.callback(sway.stop)
        session = Desktop(sway, None).session(xdg_current_desktop="sway")
        env = {"IDLE_SOURCE": "wayland", **desktop_env(session)}
        desks["wayland (sway)"] = Desk(env, lambda: wtype(sway))
    if len(desks) < 3:
        print("some compositors are not installed: bash scripts/system-packages.sh")
    return desks


def slug(label: str) -> str:
    return "".join(char if char.isalnum() else "-" for char in label).strip("-")


def start_reporters(
    broker: MosquittoBroker,
    workdir: Path,
    desks: dict[str, Desk],
    host_prefix: str = "bench",
    **extra: str,
) -> dict[str, subprocess.Popen[bytes]]:
    processes = {}
    for label, desk in desks.items():
        env = reporter_env(broker, workdir / "state", slug(label), **desk.env, **extra)
        env["IDLE_HOST_NAME"] = f"{host_prefix}-{slug(label)}"
        processes[label] = subprocess.Popen([sys.executable, "-m", "idle_reporter"], env=env)
    return processes


def stop_all(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        process.terminate()
    for process in processes.values():
        process.wait(timeout=15)


def measure_steady_state(
    broker: MosquittoBroker, probe: Probe, workdir: Path, desks: dict[str, Desk]
) -> None:
    processes = start_reporters(broker, workdir, desks)
    processes["(core)"] = subprocess.Popen(
        [sys.executable, "-c", CORE_ONLY], env=reporter_env(broker, workdir / "state", "core")
    )
    try:
        probe.wait_for("idle/bench-core/status", timeout=30)
        for label in desks:
            probe.wait_for(f"idle/bench-{slug(label)}/state", timeout=30)
        start = {label: sample(p.pid) for label, p in processes.items()}
        began = time.monotonic()
        print(
            f"Measuring {len(processes)} reporters for {SECONDS:.0f} s "
            f"(poll interval {POLL_INTERVAL} s) ..."
        )
        time.sleep(SECONDS)
        elapsed = time.monotonic() - began
        end = {label: sample(p.pid) for label, p in processes.items()}
    finally:
        stop_all(processes)
    report(start, end, elapsed)


def measure_reactions(
    broker: MosquittoBroker, probe: Probe, workdir: Path, desks: dict[str, Desk]
) -> None:
    """Input to `active` on MQTT, for each event-driven source (1 s threshold)."""
    reacting = {label: desk for label, desk in desks.items() if desk.give_input is not None}
    processes = start_reporters(
        broker, workdir / "reaction", reacting, IDLE_THRESHOLD="1", host_prefix="react"
    )
    try:
        print(f"\nReaction to input, {REACTION_ROUNDS} rounds each (goal < {REACTION_GOAL} s):")
        for label, desk in reacting.items():
            assert desk.give_input is not None
            times = reaction_times(probe, f"idle/react-{slug(label)}/state", desk.give_input)
            worst = max(times)
            print(
                f"{label:<16} median {statistics.median(times) * 1000:7.1f} ms, "
                f"worst {worst * 1000:7.1f} ms  {'ok' if worst < REACTION_GOAL else 'MISSED'}"
            )
    finally:
        stop_all(processes)


def reaction_times(probe: Probe, topic: str, give_input: Callable[[], None]) -> list[float]:
    times = []
    for _ in range(REACTION_ROUNDS):
        probe.wait_until(
            lambda: [m.text for m in probe.on_topic(topic)][-1:] == ["idle"],
            timeout=30,
            what=f"{topic} to be idle",
        )
        active = NextMessage(probe, topic, b"active")
        began = time.monotonic()
        give_input()
        active.wait(timeout=30)
        times.append(time.monotonic() - began)
    return times


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="idle-bench-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        broker = MosquittoBroker(workdir / "broker")
        broker.start()
        stack.callback(broker.kill)
        probe = Probe(broker, "homeassistant")
        stack.callback(probe.close)
        probe.subscribe("idle/+/state")
        probe.subscribe("idle/+/status")
        desks = polled_desks(stack, workdir) | compositor_desks(stack, workdir)
        measure_steady_state(broker, probe, workdir, desks)
        measure_reactions(broker, probe, workdir, desks)
    return 0


def report(start: dict[str, Sample], end: dict[str, Sample], elapsed: float) -> None:
    print(f"{'source':<16} {'CPU s/min':>10} {'RSS MB':>8} {'peak MB':>8} {'threads':>8}  goal")
    for label, first in start.items():
        last = end[label]
        per_minute = (last.cpu - first.cpu) * 60 / elapsed
        ok = per_minute < CPU_GOAL and last.peak_mb < RSS_GOAL
        print(
            f"{label:<16} {per_minute:>10.3f} {last.rss_mb:>8.1f} {last.peak_mb:>8.1f} "
            f"{last.threads:>8}  {'ok' if ok else 'MISSED'}"
        )
    print(f"goals: < {CPU_GOAL} s CPU per minute, < {RSS_GOAL:.0f} MB resident")
    print("(core) is the MQTT core alone in a process: the floor every service stands on")
    print("gnome and wayland are event-driven: no reads between changes but the report timer")


if __name__ == "__main__":
    sys.exit(main())
