"""One stack for the real-Home Assistant tests: broker, Home Assistant, bridge, reporter.

Starting Home Assistant costs seconds, so the module shares one stack and its tests run
in order (see test_home_assistant.py). The broker runs the project's configuration and
ACL; the only addition is the `homeassistant` user's right to write the statestream
topics, which the tests read Home Assistant's states from.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import soco.config
from soco.core import soco_reset

from sonos_bridge.service import BridgeService
from testkit.fakes.harness import bridge_settings, start_bridge, wait_subscribed
from testkit.fakes.speaker import FakeSonosSystem, FakeSpeaker
from testkit.idle_fakes.reporter import RunningReporter, fast_settings, start_reporter
from testkit.support.broker import MosquittoBroker
from testkit.support.probe import Probe
from tests.ha.home_assistant import STATESTREAM, HomeAssistant, state_topic

# Speakers replay clips ten times faster than real time; loopback addresses from .150.
SPEED = 0.1
FIRST_HOST = 150
WELCOME = "[Welcome] back at the desk"
AUTOMATION = f"""\
- id: welcome_back
  alias: Welcome back
  triggers:
    - trigger: state
      entity_id: binary_sensor.desk_occupancy
      from: "off"
      to: "on"
  actions:
    - action: notify.send_message
      target:
        entity_id: notify.kitchen_announce
      data:
        message: "{WELCOME}"
"""


def request_of(payload: bytes) -> object:
    """The JSON request in a payload; None for anything else (raw text included)."""
    try:
        return json.loads(payload)
    except ValueError:
        return None


def broker_for_home_assistant(workdir: Path) -> MosquittoBroker:
    broker = MosquittoBroker(workdir)
    acl = broker.acl.read_text(encoding="utf-8")
    user = "user homeassistant\n"
    broker.acl.write_text(acl.replace(user, f"{user}topic write {STATESTREAM}/#\n", 1))
    return broker


@dataclass
class Stack:
    broker: MosquittoBroker
    watcher: Probe  # Home Assistant's rights, subscribed to every topic
    home_assistant: HomeAssistant
    sonos: FakeSonosSystem
    bridge: BridgeService
    reporter: RunningReporter
    desktop_file: Path
    running: list[Any]  # what the fixture stops at the end, in reverse

    def restart_bridge(self, *, forget_discovery: bool = False) -> None:
        """Stop the bridge and start another on its STATE_DIR (optionally without the
        record of what discovery published, as after an upgrade from a version without)."""
        self.running.remove(self.bridge)
        self.bridge.stop()
        state_dir = self.bridge.settings.state_dir
        if forget_discovery:
            for record in state_dir.glob("*.ha-discovery.json"):
                record.unlink()
        hosts = [speaker.ip for speaker in self.sonos.speakers.values()]
        self.bridge = start_bridge(bridge_settings(self.broker, state_dir, hosts))
        self.running.append(self.bridge)
        wait_subscribed(self.broker)

    def desktop(self, word: str) -> None:
        """What hypridle's hook writes when the session goes idle or comes back."""
        self.desktop_file.write_text(f"{word}\n", encoding="utf-8")

    def wait_state(
        self,
        entity_id: str,
        expected: str | Callable[[str], bool] | None = None,
        *,
        attribute: str = "state",
    ) -> str:
        """An entity's latest state (or attribute) once it is live and as `expected`."""
        topic = state_topic(entity_id, attribute)

        def matching() -> str | None:
            messages = self.watcher.on_topic(topic)
            latest = messages[-1].text if messages else ""
            if latest in ("", "unavailable"):
                return None
            if expected is None or expected == latest:
                return latest
            return latest if callable(expected) and expected(latest) else None

        self.watcher.wait_until(lambda: matching() is not None, 20, f"{topic}: {expected}")
        found = matching()
        assert found is not None
        return found

    def wait_spoken(self, speaker: FakeSpeaker, name: str, text: str, plays_before: int) -> None:
        """The request Home Assistant sent for `text`, and the speaker playing its clip."""
        topic = f"sonos/tts/{name}"
        self.watcher.wait_until(
            lambda: any(
                request_of(m.payload) == {"text": text} for m in self.watcher.on_topic(topic)
            ),
            20,
            f"the request for {text!r} on {topic}",
        )
        speaker.wait_until(lambda: any(p.ok for p in speaker.plays[plays_before:]), 20, "the clip")


def _require_home_assistant() -> Path:
    venv = os.environ.get("HA_VENV")
    if not venv:
        pytest.fail("run these tests with `make test-ha`: it installs Home Assistant (HA_VENV)")
    return Path(venv)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    venv = _require_home_assistant()
    root = tmp_path_factory.mktemp("stack")
    soco_reset()
    soco.config.REQUEST_TIMEOUT = 2.0
    broker = broker_for_home_assistant(root / "broker")
    broker.start()
    watcher = Probe(broker)
    watcher.subscribe("#")
    home_assistant = HomeAssistant(venv, root / "home-assistant", broker, AUTOMATION)
    sonos = FakeSonosSystem(speed=SPEED, first_host=FIRST_HOST)
    started: list[Any] = []
    try:
        started.append(home_assistant)  # stopped even if it never reports being up
        home_assistant.start(watcher)  # first, as on a server whose services start later
        bridge = _start_bridge(root, broker, sonos)
        started.append(bridge)
        desktop_file = root / "idle-state"
        desktop_file.write_text("active\n", encoding="utf-8")
        reporter = start_reporter(
            fast_settings(
                broker, root / "reporter", idle_source="file", idle_state_file=desktop_file
            )
        )
        started.append(reporter)
        yield Stack(broker, watcher, home_assistant, sonos, bridge, reporter, desktop_file, started)
    finally:
        for component in reversed(started):
            component.stop()
        sonos.close()
        watcher.close()
        broker.kill()
        soco_reset()


def _start_bridge(root: Path, broker: MosquittoBroker, sonos: FakeSonosSystem) -> BridgeService:
    hosts = [sonos.add(name).ip for name in ("Kitchen", "Office")]
    bridge = start_bridge(bridge_settings(broker, root / "bridge", hosts))
    wait_subscribed(broker)
    return bridge
