"""The reporter's discovery across restarts: what it published is kept in STATE_DIR, so
configs it no longer stands behind are removed even when the change happened while it was
down; every config names its origin and the package's real version."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

from testkit.support.probe import Probe
from tests.integration.idle.conftest import ProbeFactory, ReporterFactory

VERSION = metadata.version("mqtt-home-voice")
DESK = "homeassistant/binary_sensor/idle_reporter/desk_occupancy/config"
DESK_TIME = "homeassistant/sensor/idle_reporter/desk_idle_seconds/config"
STUDY = "homeassistant/binary_sensor/idle_reporter/study_occupancy/config"


def test_configs_name_their_origin_and_the_real_version(
    tmp_path: Path, ha: Probe, reporter_factory: ReporterFactory
) -> None:
    reporter_factory(idle_source="file", idle_state_file=tmp_path / "idle-state")
    config = json.loads(ha.wait_for(DESK)[0].payload)
    assert config["origin"] == {"name": "mqtt-home-voice idle_reporter", "sw_version": VERSION}
    assert config["device"]["sw_version"] == VERSION


def test_host_renamed_while_the_reporter_was_down_loses_the_old_entities(
    tmp_path: Path, ha: Probe, reporter_factory: ReporterFactory, probe_factory: ProbeFactory
) -> None:
    state_file = tmp_path / "idle-state"
    first = reporter_factory(idle_source="file", idle_state_file=state_file)
    ha.wait_for(DESK)
    first.stop()
    reporter_factory(idle_source="file", idle_state_file=state_file, idle_host_name="study")
    ha.wait_for(STUDY)
    ha.wait_for(DESK, payload=b"")
    ha.wait_for(DESK_TIME, payload=b"")
    late = probe_factory()
    late.subscribe("homeassistant/+/idle_reporter/+/config")
    late.subscribe("idle/study/status")  # retained, arrives after the retained configs
    late.wait_for("idle/study/status")
    kept = {m.topic for m in late.messages if m.topic.endswith("/config") and m.payload}
    assert all("/study_" in topic for topic in kept), kept
