"""A bridge killed with SIGKILL in the middle of a clip gives the music back when it restarts,
and answers the request it was playing (never acknowledged, so the broker delivers it again);
an audio clip leaves nothing to give back: the request is simply played again.

The bridge runs as a real process (`python -m sonos_bridge`), the speakers in the test.
"""

from __future__ import annotations

from pathlib import Path

from sonos_bridge.audio.server import is_clip_url
from testkit.fakes.harness import (
    LONG_TEXT,
    playing_a_clip,
    request,
    results,
    wait_result,
    wait_subscribed,
)
from testkit.fakes.s2 import S2Profile
from testkit.fakes.speaker import RADIO_URI, FakeSonosSystem, QueueTrack
from testkit.support.broker import MosquittoBroker
from testkit.support.probe import Probe
from testkit.support.service_process import ServiceProcess
from tests.integration.sonos.test_sonos_process import bridge_environment


def test_killed_mid_announcement_the_group_is_restored_before_anything_new(
    sonos: FakeSonosSystem, broker: MosquittoBroker, listener: Probe, tmp_path: Path
) -> None:
    living, kitchen = sonos.add("Living Room"), sonos.add("Kitchen")
    sonos.household.group(living, kitchen)
    tracks = [QueueTrack(f"x-file-cifs://nas/music/{n}.mp3", 200.0) for n in range(3)]
    living.load_queue(tracks, track=2, position=75.0, state="PLAYING")
    living.volume, kitchen.volume, kitchen.muted = 15, 25, True
    queue_uri = living.transport.uri
    state_dir = tmp_path / "state"
    environment = bridge_environment(broker, state_dir, f"{living.ip},{kitchen.ip}")
    bridge = ServiceProcess("sonos_bridge", environment).start()
    try:
        wait_subscribed(broker)
        request(listener, "sonos/tts/Living Room", text=LONG_TEXT, volume=45, id="cut")
        playing_a_clip(living)
        assert [p.name for p in (state_dir / "snapshots").iterdir()] == [f"{living.uid}.json"]
        bridge.kill()  # SIGKILL: no restore, no goodbye
        assert living.volume == 45 and not kitchen.muted  # the announcement's settings
        request(listener, "sonos/tts/Living Room", text="After the crash", id="after")
        bridge.start()  # same state directory, the request waits for it in the broker
        assert wait_result(listener, "cut", timeout=30)["status"] == "played"
        assert wait_result(listener, "after", timeout=30)["status"] == "played"
        living.wait_until(lambda: len(living.calls("SetAVTransportURI")) == 5, what="5 URIs")
    finally:
        code = bridge.stop()
    assert code == 0, bridge.log()
    uris = [c.arguments["CurrentURI"] for c in living.calls("SetAVTransportURI")]
    # The interrupted clip, the music restored at start, the interrupted request played
    # again and the new one in one batch, the music restored once more.
    assert [is_clip_url(u) for u in uris] == [True, False, True, True, False], uris
    assert uris[1] == queue_uri  # restored after the crash, before anything new
    first_seek = [c.arguments["Target"] for c in living.calls("Seek")][:2]
    assert first_seek[0] == "2" and first_seek[1].startswith("0:01:"), first_seek
    living.wait_until(
        lambda: (
            living.transport.uri == queue_uri
            and living.transport.track == 2
            and living.state == "PLAYING"
            and living.volume == 15
        ),
        what="the queue back where it was",
    )
    kitchen.wait_until(lambda: kitchen.volume == 25 and kitchen.muted, what="Kitchen's levels")
    assert list((state_dir / "snapshots").iterdir()) == []


def test_killed_mid_clip_the_request_is_played_again_with_nothing_to_restore(
    sonos: FakeSonosSystem, broker: MosquittoBroker, listener: Probe, tmp_path: Path
) -> None:
    kitchen = sonos.add("Kitchen", s2=S2Profile())
    kitchen.play_radio(volume=20)
    state_dir = tmp_path / "state"
    bridge = ServiceProcess("sonos_bridge", bridge_environment(broker, state_dir, kitchen.ip))
    bridge.start()
    player = kitchen.s2
    assert player is not None
    try:
        wait_subscribed(broker)
        request(listener, "sonos/tts/Kitchen", text=LONG_TEXT, id="cut")
        player.wait_until(lambda: [c.status for c in player.clips] == ["ACTIVE"], what="ACTIVE")
        bridge.kill()  # SIGKILL mid-clip: the request was never answered nor acknowledged
        assert results(listener) == []
        bridge.start()
        result = wait_result(listener, "cut", timeout=30)
    finally:
        code = bridge.stop()
    assert code == 0, bridge.log()
    assert result["status"] == "played"
    assert len(player.clips) == 2 and player.clips[1].statuses == ["ACTIVE", "DONE"]
    assert [a.action for a in kitchen.actions if a.action in ("SetAVTransportURI", "Play")] == []
    assert not (state_dir / "snapshots").exists() or not any((state_dir / "snapshots").iterdir())
    assert kitchen.transport.uri == RADIO_URI and kitchen.state == "PLAYING"
