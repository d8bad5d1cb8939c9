"""The zone group topology: parsing, differences and the plans between two groupings."""

from __future__ import annotations

from pathlib import Path

import pytest

from sonos_bridge.playback.takeover.topology import (
    Difference,
    Join,
    Plan,
    Topology,
    TopologyError,
    describe,
    differences,
    merged,
    parse_zone_group_state,
    plan,
    restricted,
)

DATA = Path(__file__).parent / "data"
HOUSE = parse_zone_group_state((DATA / "zone_group_state_s2.xml").read_text())
LR, KIT, TV, BED = "RINCON_LR_A01400", "RINCON_KIT01400", "RINCON_TV001400", "RINCON_BED01400"


def test_visible_speakers_and_their_coordinators() -> None:
    assert HOUSE.coordinators == {LR: LR, KIT: LR, TV: TV, BED: BED}


def test_bonded_speakers_are_members_but_never_visible() -> None:
    living = HOUSE.group_of(LR)
    assert living is not None
    assert [m.uid for m in living.members if m.invisible] == [
        "RINCON_LR_B01400",
        "RINCON_LR_SUB1400",
    ]
    assert [m.name for m in living.visible] == ["Living Room", "Kitchen"]
    assert HOUSE.group_of("RINCON_BOOST1400") is not None  # a bridge: listed, never played


def test_home_theatre_satellites_belong_to_their_soundbar() -> None:
    soundbar = HOUSE.member(TV)
    assert soundbar is not None
    assert soundbar.satellites == ("RINCON_TVRR1400", "RINCON_TVLR1400")
    assert soundbar.ip == "192.168.1.40"
    assert "RINCON_TVRR1400" not in HOUSE.coordinators


def test_round_trip_through_json() -> None:
    assert Topology.from_json(HOUSE.to_json()) == HOUSE


def test_s1_answers_zone_groups_without_the_wrapper() -> None:
    text = (
        '<ZoneGroups><ZoneGroup Coordinator="R1" ID="R1:1">'
        '<ZoneGroupMember UUID="R1" ZoneName="Den" Location="http://10.0.0.9:1400/x.xml"/>'
        "</ZoneGroup></ZoneGroups>"
    )
    assert parse_zone_group_state(text).coordinators == {"R1": "R1"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not xml", "not XML"),
        ("<Other/>", "no ZoneGroups"),
        ('<ZoneGroups><ZoneGroup Coordinator="X"><ZoneGroupMember UUID="Y"/></ZoneGroup>'
         "</ZoneGroups>", "not among it"),
        ("<ZoneGroups><ZoneGroup Coordinator='X'><ZoneGroupMember/></ZoneGroup></ZoneGroups>",
         "no UUID"),
    ],
)  # fmt: skip
def test_what_is_not_a_zone_group_state_is_refused(text: str, message: str) -> None:
    with pytest.raises(TopologyError, match=message):
        parse_zone_group_state(text)


@pytest.mark.parametrize(
    ("expected", "actual", "scope", "found"),
    [
        ({"A": "A", "B": "A"}, {"A": "A", "B": "A"}, "AB", []),
        ({"A": "A", "B": "A"}, {"A": "A", "B": "B"}, "AB", [Difference("B", "A", "B")]),
        ({"A": "A", "B": "A"}, {"A": "B", "B": "B"}, "AB",
         [Difference("A", "A", "B"), Difference("B", "A", "B")]),
        ({"A": "A"}, {}, "A", [Difference("A", "A", None)]),
        ({"A": "A", "C": "C"}, {"A": "A", "C": "A"}, "A", []),  # C is out of scope
        ({"A": "A"}, {"A": "A", "N": "A"}, "AN", []),  # a new speaker: nothing to compare
    ],
)  # fmt: skip
def test_differences(
    expected: dict[str, str], actual: dict[str, str], scope: str, found: list[Difference]
) -> None:
    assert differences(expected, actual, scope) == found


@pytest.mark.parametrize(
    ("difference", "text"),
    [
        (Difference("B", "A", "B"), "Bath is on its own, not grouped with Attic as before"),
        (Difference("B", "B", "A"), "Bath is grouped with Attic, not on its own as before"),
        (Difference("B", "A", None), "Bath is not in the household, not grouped with Attic "
                                     "as before"),
    ],
)  # fmt: skip
def test_differences_in_words(difference: Difference, text: str) -> None:
    assert describe(difference, {"A": "Attic", "B": "Bath"}) == text


@pytest.mark.parametrize(
    ("current", "target", "expected"),
    [
        # nothing to do
        ({"A": "A", "B": "A"}, {"A": "A", "B": "A"}, Plan()),
        # a room joins, a room leaves
        ({"A": "A", "B": "B"}, {"A": "A", "B": "A"}, Plan(joins=(Join("B", "A"),))),
        ({"A": "A", "B": "A"}, {"A": "A", "B": "B"}, Plan(leaves=("B",))),
        # the coordinator swaps: the new one leaves first, then the old one joins it
        ({"A": "A", "B": "A"}, {"A": "B", "B": "B"}, Plan(("B",), (Join("A", "B"),))),
        # the temporary group of three is split back into the two original groups
        ({"A": "A", "B": "A", "C": "A", "D": "A"},
         {"A": "A", "B": "A", "C": "C", "D": "C"},
         Plan(("C",), (Join("D", "C"),))),
        # a member that moves straight from one group into another
        ({"A": "A", "B": "A", "C": "C"}, {"A": "A", "B": "C", "C": "C"},
         Plan(joins=(Join("B", "C"),))),
        # only the speakers the target names move
        ({"A": "A", "B": "A", "X": "A"}, {"B": "B"}, Plan(leaves=("B",))),
        # a coordinator gone: its first remaining member leads, the others join it
        ({"A": "A", "E": "A", "F": "A"}, {"D": "D", "E": "D", "F": "D", "A": "A"},
         Plan(("E",), (Join("F", "E"),), ("D",), {"D": "E"})),
        # a member gone: the rest comes back
        ({"A": "A", "C": "A"}, {"A": "A", "C": "C", "G": "C"},
         Plan(("C",), (), ("G",))),
    ],
)  # fmt: skip
def test_plan(current: dict[str, str], target: dict[str, str], expected: Plan) -> None:
    assert plan(current, target) == expected


def apply(current: dict[str, str], steps: Plan) -> dict[str, str]:
    """What Sonos does with a plan: a leaving or joining coordinator's group carries on
    under its next member."""
    grouping = dict(current)

    def move(uid: str, coordinator: str) -> None:
        left = sorted(u for u, c in grouping.items() if c == uid and u != uid)
        for member in left:
            grouping[member] = left[0]
        grouping[uid] = coordinator

    for uid in steps.leaves:
        move(uid, uid)
    for join in steps.joins:
        assert grouping[join.coordinator] == join.coordinator, "joins a coordinator"
        move(join.uid, join.coordinator)
    return grouping


@pytest.mark.parametrize(
    "original",
    [
        {"A": "A", "B": "A", "C": "C", "D": "D", "E": "D"},
        {"A": "B", "B": "B", "C": "B", "D": "D"},
        {"A": "A", "B": "B", "C": "C"},
    ],
)
@pytest.mark.parametrize("prefer", [None, "C", "D"])
def test_merge_then_plan_back_restores_every_group(
    original: dict[str, str], prefer: str | None
) -> None:
    coordinators = set(original.values())
    leader, target = merged(original, coordinators, prefer)
    assert set(target.values()) == {leader}
    together = apply(original, plan(original, target))
    assert together == target
    assert apply(together, plan(together, original)) == original


def test_the_leader_is_the_largest_group_then_the_lowest_uid() -> None:
    grouping = {"A": "A", "B": "B", "C": "B", "D": "D"}
    assert merged(grouping, ["A", "B", "D"])[0] == "B"
    assert merged(grouping, ["A", "D"])[0] == "A"
    target = merged(grouping, ["A", "D"])[1]
    assert target == {"A": "A", "B": "B", "C": "B", "D": "A"}  # other groups stay


def test_merging_nothing_is_a_bug() -> None:
    with pytest.raises(ValueError, match="no group"):
        merged({"A": "A"}, [])


def test_restricted_keeps_only_the_scope() -> None:
    assert restricted({"A": "A", "B": "A", "C": "C"}, ["B", "C"]) == {"B": "A", "C": "C"}


def test_the_real_household_merges_without_moving_bonded_speakers() -> None:
    grouping = HOUSE.coordinators
    leader, target = merged(grouping, set(grouping.values()))
    steps = plan(grouping, target)
    assert leader == LR
    assert steps == Plan(joins=(Join(TV, LR), Join(BED, LR)))
    moved = {*steps.leaves, *(j.uid for j in steps.joins)}
    assert not moved & {"RINCON_LR_B01400", "RINCON_LR_SUB1400", "RINCON_TVRR1400"}
