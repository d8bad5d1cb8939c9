"""evdev through a FIFO fed with real `struct input_event` records; the state file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from idle_reporter.sources.evdev import EV_KEY, EV_MSC, EV_REL, EV_SYN, EvdevSource, pack_event
from testkit.support.probe import Probe
from testkit.waits import eventually, transitions, wait_for_transitions
from tests.integration.idle.conftest import ReporterFactory

STATE = "idle/desk/state"


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    path = tmp_path / "event0"
    os.mkfifo(path)
    writer = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    yield path, writer
    os.close(writer)


def keypress() -> bytes:
    return pack_event(EV_KEY, 30, 1) + pack_event(EV_SYN, 0, 0) + pack_event(EV_KEY, 30, 0)


def test_evdev_idle_after_threshold_and_active_on_a_key(
    fifo: tuple[Path, int], ha: Probe, reporter_factory: ReporterFactory
) -> None:
    path, writer = fifo
    reporter_factory(idle_source="evdev", idle_input_devices=str(path))
    wait_for_transitions(ha, STATE, ["active", "idle"])
    os.write(writer, keypress())
    wait_for_transitions(ha, STATE, ["active", "idle", "active"])


def test_evdev_ignores_sync_and_misc_events(
    fifo: tuple[Path, int], ha: Probe, reporter_factory: ReporterFactory
) -> None:
    path, writer = fifo
    reporter_factory(idle_source="evdev", idle_input_devices=str(path))
    wait_for_transitions(ha, STATE, ["active", "idle"])
    os.write(writer, pack_event(EV_MSC, 4, 458756) + pack_event(EV_SYN, 0, 0))
    ha.publish("idle/desk/command", "report")
    ha.wait_for(STATE, payload=b"idle", count=2)
    assert transitions(ha, STATE) == ["active", "idle"]


def test_evdev_reassembles_records_split_across_writes(fifo: tuple[Path, int]) -> None:
    path, writer = fifo
    now = [100.0]
    source = EvdevSource([str(path)], clock=lambda: now[0])
    source.open()
    try:
        now[0] = 160.0
        assert source.read().idle_seconds == 60.0
        record = pack_event(EV_REL, 0, 5)
        os.write(writer, record[:10])
        os.write(writer, record[10:])
        eventually(lambda: source.read().idle_seconds == 0.0, "the split record to count")
    finally:
        source.close()


def test_evdev_without_devices_says_why(tmp_path: Path) -> None:
    source = EvdevSource([str(tmp_path / "event*")])
    with pytest.raises(Exception, match="no readable input device"):
        source.open()


def test_state_file_written_by_hooks(
    tmp_path: Path, ha: Probe, reporter_factory: ReporterFactory
) -> None:
    state_file = tmp_path / "idle-state"
    reporter_factory(idle_source="file", idle_state_file=state_file)
    ha.wait_for(STATE, payload=b"unknown")  # no hook has written anything yet
    state_file.write_text("idle 300\n")
    wait_for_transitions(ha, STATE, ["unknown", "idle"])
    ha.wait_until(
        lambda: any(int(m.text) >= 300 for m in ha.on_topic("idle/desk/idle_seconds")),
        what="idle seconds including the daemon's timeout",
    )
    state_file.write_text("active\n")
    wait_for_transitions(ha, STATE, ["unknown", "idle", "active"])
    state_file.unlink()  # logout empties the runtime directory
    wait_for_transitions(ha, STATE, ["unknown", "idle", "active", "unknown"])


def test_state_file_with_garbage_keeps_the_state_and_warns(
    tmp_path: Path,
    ha: Probe,
    reporter_factory: ReporterFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    state_file = tmp_path / "idle-state"
    state_file.write_text("idle\n")
    reporter_factory(idle_source="file", idle_state_file=state_file)
    ha.wait_for(STATE, payload=b"idle")
    state_file.write_text("sleepy\n")
    ha.publish("idle/desk/command", "report")
    ha.wait_for(STATE, payload=b"idle", count=2)
    assert "expected 'idle' or 'active'" in caplog.text
    assert caplog.text.count("sleepy") == 1
