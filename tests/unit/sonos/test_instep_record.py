"""The record an in-step announcement saves before it joins any room."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sonos_bridge.playback.takeover.instep_record import InStepRecord
from sonos_bridge.playback.takeover.snapshot import GroupSnapshot, MemberLevel, Source
from sonos_bridge.playback.takeover.topology import parse_zone_group_state

HOUSE = parse_zone_group_state(
    (Path(__file__).parent / "data" / "zone_group_state_s2.xml").read_text()
)
LR, KIT, TV, BED = "RINCON_LR_A01400", "RINCON_KIT01400", "RINCON_TV001400", "RINCON_BED01400"


def snapshot(uid: str, name: str, uri: str, source: Source) -> GroupSnapshot:
    return GroupSnapshot(
        coordinator_uid=uid,
        coordinator_name=name,
        coordinator_ip="192.168.1.9",
        uri=uri,
        metadata="",
        transport_state="PLAYING",
        source=source,
        members=(MemberLevel(uid, name, "192.168.1.9", 12, False),),
    )


RECORD = InStepRecord(
    leader=LR,
    scope=(LR, KIT, TV),
    topology=HOUSE,
    snapshots=(
        snapshot(LR, "Living Room", "x-sonosapi-stream:s1", Source.STREAM),
        snapshot(TV, "TV Room", "x-sonos-htastream:RINCON_TV001400:spdif", Source.TV),
    ),
)


def test_a_record_survives_json() -> None:
    assert InStepRecord.from_json(RECORD.to_json()) == RECORD


def test_the_groups_to_reform_are_those_of_the_affected_rooms() -> None:
    assert RECORD.grouping == {LR: LR, KIT: LR, TV: TV}  # the Bedroom was not joined
    assert RECORD.key == f"instep-{LR}"
    assert RECORD.names[TV] == "TV Room"


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        json.dumps({"kind": "group"}),
        json.dumps({"kind": "in-step", "leader": LR}),
        RECORD.to_json().replace('"scope"', '"scoop"'),
    ],
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises((ValueError, KeyError, TypeError)):
        InStepRecord.from_json(text)
