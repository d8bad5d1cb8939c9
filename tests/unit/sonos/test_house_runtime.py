"""The house rules in the bridge: a room no speaker has stops the start, later only warns."""

from __future__ import annotations

from pathlib import Path

import pytest

from sonos_bridge.errors import StartupError
from sonos_bridge.house import HouseRulesRuntime
from sonos_bridge.settings import SonosSettings


def runtime(tmp_path: Path) -> HouseRulesRuntime:
    settings = SonosSettings(
        state_dir=tmp_path, sonos_max_volume_per_room={"Kitchen": 40, "Garage": 20}
    )
    return HouseRulesRuntime(
        settings,
        enqueue=lambda job, speakers, in_step: None,
        resolve=lambda names: [],
        in_step=lambda announcement, speakers: False,
    )


def test_an_unknown_room_stops_the_start_with_one_line(tmp_path: Path) -> None:
    with pytest.raises(StartupError) as caught:
        runtime(tmp_path).start(["Kitchen", "Office"])
    assert str(caught.value) == (
        "SONOS_MAX_VOLUME_PER_ROOM names 'Garage', which no speaker is (speakers: Kitchen, Office)"
    )


def test_no_speaker_found_yet_is_not_a_reason_to_stop(tmp_path: Path) -> None:
    house = runtime(tmp_path)
    house.start([])
    house.stop()


def test_a_room_gone_later_is_only_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    house = runtime(tmp_path)
    house.speakers_changed(["Kitchen"])
    assert "House rules: SONOS_MAX_VOLUME_PER_ROOM names 'Garage'" in caplog.text
