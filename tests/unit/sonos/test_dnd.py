"""Do-not-disturb switches: payloads, rooms and the house, state kept across restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from sonos_bridge.request.dnd import DndPayloadError, DndSwitches, parse_switch


@pytest.mark.parametrize(
    ("payload", "on"), [(b"ON", True), (b" on\n", True), (b"OFF", False), (b"", False)]
)
def test_switch_payloads(payload: bytes, on: bool) -> None:
    assert parse_switch(payload) is on


@pytest.mark.parametrize("payload", [b"true", b"1", b"maybe", b'{"state": "ON"}'])
def test_other_payloads_are_refused_by_name(payload: bytes) -> None:
    with pytest.raises(DndPayloadError, match="is not ON or OFF"):
        parse_switch(payload)


def test_rooms_and_the_house(tmp_path: Path) -> None:
    switches = DndSwitches(tmp_path / "dnd.json")
    assert not switches.is_on("Kitchen")
    assert switches.set("kitchen", True) is True
    assert switches.set("Kitchen", True) is False  # no change: nothing to save or recheck
    assert switches.is_on("KITCHEN") and not switches.is_on("Bedroom")
    switches.set(None, True)
    assert switches.is_on("Bedroom") and switches.house
    switches.set(None, False)
    switches.set("Kitchen", False)
    assert not switches.is_on("Kitchen") and not switches.is_on("Bedroom")


def test_a_slugged_topic_level_matches_its_room(tmp_path: Path) -> None:
    switches = DndSwitches(tmp_path / "dnd.json")
    switches.set("kids_room", True)  # the topic level of "Kids/Room"
    assert switches.is_on("Kids/Room")


def test_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "dnd.json"
    DndSwitches(path).set("Bedroom", True)
    DndSwitches(path).set(None, True)
    again = DndSwitches(path)
    assert again.is_on("bedroom") and again.house
    assert again.rooms_on() == ["bedroom"]


def test_a_damaged_state_file_starts_with_every_switch_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "dnd.json"
    path.write_text("{not json")
    assert not DndSwitches(path).is_on("Kitchen")
    assert "every do-not-disturb switch starts off" in caplog.text
