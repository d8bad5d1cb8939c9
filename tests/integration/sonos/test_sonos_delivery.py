"""Nothing a user sends is lost: the bridge as a real process, killed, stopped or stuck.

A request is acknowledged to the broker only once it is answered, so a bridge that dies
or stops before answering gets it again when it is back. A slow fake speaker keeps the
first announcement playing for as long as a test needs; the next process finds it fast.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testkit.fakes.harness import (
    playing_a_clip,
    radio_back,
    request,
    results,
    wait_result,
    wait_subscribed,
)
from testkit.fakes.speaker import RADIO_URI, FakeSonosSystem, FakeSpeaker
from testkit.support.broker import MosquittoBroker
from testkit.support.probe import Probe
from testkit.support.service_process import ServiceProcess
from tests.integration.sonos.test_sonos_process import bridge_environment

SLOW = 200.0  # a one-second clip plays for minutes: it is still playing when the test acts
FAST = 0.1
AUDIBLE = 2.0  # a one-second clip plays for two: SIGTERM lands in the middle of it
MAX_AGE = 3.0


class Bridge:
    """Starts `sonos_bridge` processes, one after the other, on the same state."""

    def __init__(
        self, broker: MosquittoBroker, state_dir: Path, kitchen: FakeSpeaker, listener: Probe
    ) -> None:
        # A slow clip playing at a stop is cut short at once, not after the default grace.
        self.environment = {
            **bridge_environment(broker, state_dir, kitchen.ip),
            "SONOS_STOP_GRACE": "0.5",
        }
        self.broker = broker
        self.kitchen = kitchen
        self.listener = listener
        self.processes: list[ServiceProcess] = []

    def start(self, **extra: str) -> ServiceProcess:
        process = ServiceProcess("sonos_bridge", {**self.environment, **extra}).start()
        self.processes.append(process)
        wait_subscribed(self.broker)
        return process

    def play_with_queue(self, *requests: dict[str, Any]) -> ServiceProcess:
        """A bridge playing the first request on the slow kitchen, holding the others."""
        process = self.start()
        for body in requests:
            request(self.listener, "sonos/tts/Kitchen", **body)
        self.first_clip_playing()
        process.wait_for_log(f"Request {requests[-1]['id']}: ")
        return process

    def first_clip_playing(self) -> None:
        kitchen = self.kitchen
        kitchen.wait_until(lambda: kitchen.transport.state == "PLAYING", what="a clip playing")

    def restart_with_a_fast_speaker(self) -> None:
        self.kitchen.speed = FAST
        self.start()

    def close(self) -> None:
        for process in self.processes:
            process.kill()


@pytest.fixture
def bridge(
    broker: MosquittoBroker, sonos: FakeSonosSystem, listener: Probe, tmp_path: Path
) -> Iterator[Bridge]:
    kitchen = sonos.add("Kitchen")
    kitchen.speed = SLOW
    starter = Bridge(broker, tmp_path / "state", kitchen, listener)
    yield starter
    starter.close()


def statuses(listener: Probe, *ids: str) -> dict[str, str]:
    found = {
        request_id: wait_result(listener, request_id, timeout=30)["status"] for request_id in ids
    }
    assert len(results(listener)) == len(ids), results(listener)
    return found


def test_a_killed_bridge_answers_each_request_it_held_after_its_restart(
    bridge: Bridge, listener: Probe
) -> None:
    first = bridge.play_with_queue(
        {"id": "playing", "text": "Playing when killed"},
        {"id": "queued", "text": "Waiting in the queue"},
        {"id": "stale", "text": "Too old", "max_age": MAX_AGE},
    )
    first.kill()
    # max_age counts from the first arrival: it runs out while the bridge is down.
    time.sleep(MAX_AGE + 0.5)
    bridge.restart_with_a_fast_speaker()
    assert statuses(listener, "playing", "queued", "stale") == {
        "playing": "played",
        "queued": "played",
        "stale": "expired",
    }


def test_requests_not_played_when_the_bridge_stops_play_after_its_restart(
    bridge: Bridge, listener: Probe
) -> None:
    first = bridge.play_with_queue(
        {"id": "playing", "text": "Playing at the stop"},
        {"id": "waiting", "text": "Waiting at the stop"},
    )
    first.signal(signal.SIGTERM)
    request(listener, "sonos/tts/Kitchen", text="Sent while stopping", id="stopping")
    assert first.wait() == 0
    bridge.restart_with_a_fast_speaker()
    assert statuses(listener, "playing", "waiting", "stopping") == {
        "playing": "played",
        "waiting": "played",
        "stopping": "played",
    }


def test_a_stuck_speaker_queue_makes_the_bridge_exit_to_be_restarted(
    bridge: Bridge, listener: Probe
) -> None:
    # The slow clip never ends, and the bridge waits up to ten minutes for its end.
    process = bridge.start(
        SONOS_PLAY_MARGIN="600",
        SONOS_STUCK_AFTER="1",
        HEALTH_INTERVAL="0.2",
        HEALTH_RESTART_AFTER="3",
    )
    request(listener, "sonos/tts/Kitchen", text="Never ends", id="stuck")
    bridge.first_clip_playing()
    assert process.wait(timeout=30) == 3
    log = process.log()
    assert "Playback on Kitchen has been busy with one announcement for over 1 s" in log
    assert "exiting with status 3" in log


def test_the_announcement_playing_at_a_stop_finishes_then_the_music_comes_back(
    bridge: Bridge, listener: Probe
) -> None:
    kitchen = bridge.kitchen
    kitchen.speed = AUDIBLE
    kitchen.play_radio(volume=20)
    first = bridge.start(SONOS_STOP_GRACE="30")
    request(listener, "sonos/tts/Kitchen", text="Playing at the stop", volume=45, id="playing")
    playing_a_clip(kitchen)
    first.signal(signal.SIGTERM)
    assert first.wait() == 0
    play, restored = kitchen.plays[0], kitchen.calls("SetAVTransportURI")[-1]
    assert restored.arguments["CurrentURI"] == RADIO_URI
    assert restored.at - play.requested_at >= play.duration * AUDIBLE  # heard to its end
    assert kitchen.calls("Stop") == []
    radio_back(kitchen, volume=20)
    assert wait_result(listener, "playing")["status"] == "played"
    # Acknowledged before the bridge left: the next one does not play it again.
    bridge.restart_with_a_fast_speaker()
    request(listener, "sonos/tts/Kitchen", text="After the restart", id="next")
    assert statuses(listener, "playing", "next") == {"playing": "played", "next": "played"}
    assert len(kitchen.plays) == 2


def test_an_announcement_too_long_to_finish_at_a_stop_is_cut_and_played_again(
    bridge: Bridge, listener: Probe
) -> None:
    kitchen = bridge.kitchen  # SLOW: the clip would play for minutes
    kitchen.play_radio(volume=20)
    first = bridge.start()
    request(listener, "sonos/tts/Kitchen", text="Too long to finish", volume=45, id="cut")
    playing_a_clip(kitchen)
    first.signal(signal.SIGTERM)
    assert first.wait() == 0
    listener.wait_for("sonos/status", payload=b"offline")  # the bridge's last word
    assert results(listener) == []  # half an announcement is not "played"
    assert len(kitchen.calls("Stop")) == 1
    radio_back(kitchen, volume=20)
    assert "did not play before the bridge stopped" in first.log()
    bridge.restart_with_a_fast_speaker()  # the broker delivers it again: heard in full
    assert statuses(listener, "cut") == {"cut": "played"}
    assert [play.ok for play in kitchen.plays] == [True, True]
