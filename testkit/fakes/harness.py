"""Running the real bridge in-process against a test broker and fake speakers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sonos_bridge.playback.method import PlaybackOptions
from sonos_bridge.service import BridgeService
from sonos_bridge.settings import SonosSettings
from testkit.fakes.speaker import RADIO_URI, FakeSpeaker
from testkit.support.broker import MosquittoBroker, free_port, password_for
from testkit.support.probe import Probe

# Real speakers are polled every 250 ms; the fakes play 10x faster, so poll faster too.
FAST = PlaybackOptions(
    timeout=1.0, margin=5.0, poll_interval=0.02, start_grace=0.5, speech_timeout=20.0
)
# About 10 s of speech: long enough to act while it plays, even on a fast fake speaker.
LONG_TEXT = "This announcement is long enough to keep the speaker busy for a while. " * 3


def bridge_settings(
    broker: MosquittoBroker, state_dir: Path, hosts: list[str], **overrides: Any
) -> SonosSettings:
    values: dict[str, Any] = {
        "mqtt_host": broker.host,
        "mqtt_port": broker.port,
        "mqtt_username": "sonos_bridge",
        "mqtt_password": password_for("sonos_bridge"),
        "state_dir": state_dir,
        "sonos_hosts": ",".join(hosts),
        "sonos_timeout": 1.0,
        "http_port": 0,
        "http_bind": "127.0.0.1",
        "tts_engines": "espeak",
        "health_interval": 1.0,
        "sonos_event_port": free_port(),
    }
    values.update(overrides)
    return SonosSettings(**values)


def start_bridge(settings: SonosSettings, options: PlaybackOptions = FAST) -> BridgeService:
    service = BridgeService(settings, options=options)
    service.start()
    if not service.connection.wait_connected(10):
        service.stop()
        raise AssertionError(f"bridge did not connect: {service.connection.last_connect_error}")
    return service


def wait_subscribed(broker: MosquittoBroker) -> None:
    """Return once the bridge's subscriptions are active.

    The bridge subscribes and then publishes `online` on the same connection; the broker
    handles one connection's packets in order, so `online` proves the SUBSCRIBE was done.
    """
    watcher = Probe(broker, "homeassistant")
    try:
        watcher.subscribe("sonos/status")
        watcher.wait_for("sonos/status", payload=b"online")
    finally:
        watcher.close()


def results(probe: Probe, topic: str = "sonos/result") -> list[dict[str, Any]]:
    found = []
    for message in probe.on_topic(topic):
        body = json.loads(message.payload)
        assert isinstance(body, dict)
        found.append(body)
    return found


def wait_result(
    probe: Probe, request_id: str, topic: str = "sonos/result", timeout: float = 15.0
) -> dict[str, Any]:
    """The one result for `request_id` (asserts it is exactly one)."""
    probe.wait_until(
        lambda: any(r.get("id") == request_id for r in results(probe, topic)),
        timeout,
        f"result for {request_id}",
    )
    matching = [r for r in results(probe, topic) if r.get("id") == request_id]
    assert len(matching) == 1, matching
    return matching[0]


def request(probe: Probe, topic: str, **body: Any) -> None:
    probe.publish(topic, json.dumps(body))


def radio_back(speaker: FakeSpeaker, volume: int = 20) -> None:
    speaker.wait_until(
        lambda: (
            speaker.transport.uri == RADIO_URI
            and speaker.transport.state == "PLAYING"
            and speaker.volume == volume
        ),
        what="the radio back at its volume",
    )


def playing_a_clip(speaker: FakeSpeaker) -> None:
    speaker.wait_until(
        lambda: bool(speaker.plays) and speaker.transport.state == "PLAYING",
        what="a clip playing",
    )
