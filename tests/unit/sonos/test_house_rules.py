"""The house rules as a table: request + room + clock -> play (at what volume), hold, skip."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from sonos_bridge.request.house_rules import (
    Ask,
    Decision,
    Hold,
    HouseRules,
    Play,
    Room,
    Skip,
    parse_room_volumes,
    unknown_rooms,
)
from sonos_bridge.request.quiet_hours import QuietHours, parse_ranges

BERLIN = ZoneInfo("Europe/Berlin")
NIGHT = QuietHours(parse_ranges("22:00-07:00"), BERLIN)
RULES = HouseRules(
    quiet_hours=NIGHT,
    quiet_volume=20,
    quiet_policy="cap",
    max_volume=70,
    room_max_volume={"Bedroom": 30},
    room_volume={"Kitchen": 40},
    default_volume=50,
    dnd_policy="hold",
)
HOLD = replace(RULES, quiet_policy="hold")
DROP = replace(RULES, quiet_policy="drop")
KITCHEN, BEDROOM, OFFICE = Room("Kitchen"), Room("bedroom"), Room("Office")
QUIET_DND = Room("Kitchen", dnd=True)


def at(wall: str) -> float:
    return datetime.fromisoformat(wall).replace(tzinfo=BERLIN).timestamp()


DAY, NIGHT_START, LATE, MORNING = (
    at("2026-06-10 12:00"),
    at("2026-06-10 22:00"),
    at("2026-06-10 23:00"),
    at("2026-06-11 07:00"),
)


def ask(volume: int | str | None = None, **fields: object) -> Ask:
    return Ask(volume=volume, received_at=fields.pop("received_at", LATE), **fields)  # type: ignore[arg-type]


CASES: list[tuple[str, HouseRules, Ask, Room, float, Decision]] = [
    ("room default", RULES, ask(received_at=DAY), KITCHEN, DAY, Play(40, 70)),
    ("house default", RULES, ask(received_at=DAY), OFFICE, DAY, Play(50, 70)),
    (
        "above the house limit",
        RULES,
        ask(90, received_at=DAY),
        KITCHEN,
        DAY,
        Play(90, 70, ("Kitchen: volume 90 lowered to 70 (SONOS_MAX_VOLUME)",)),
    ),
    (
        "above the room's limit (names match case-insensitively)",
        RULES,
        ask(50, received_at=DAY),
        BEDROOM,
        DAY,
        Play(50, 30, ("bedroom: volume 50 lowered to 30 (SONOS_MAX_VOLUME_PER_ROOM for bedroom)",)),
    ),
    ('"volume": "room"', RULES, ask("room", received_at=DAY), KITCHEN, DAY, Play(None, 70)),
    ("no limits at all", HouseRules(), ask(received_at=DAY), KITCHEN, DAY, Play(None)),
    ("the minute before quiet", RULES, ask(), KITCHEN, NIGHT_START - 60, Play(40, 70)),
    (
        "the minute quiet starts: capped",
        RULES,
        ask(),
        KITCHEN,
        NIGHT_START,
        Play(40, 20, ("Kitchen: volume 40 lowered to 20 (SONOS_QUIET_VOLUME in quiet hours)",)),
    ),
    ("the minute quiet ends", RULES, ask(), KITCHEN, MORNING, Play(40, 70)),
    ("hold", HOLD, ask(), KITCHEN, LATE, Hold(MORNING, "")),
    ("hold, max_age long enough", HOLD, ask(max_age=9 * 3600), KITCHEN, LATE, Hold(MORNING, "")),
    (
        "hold, max_age runs out before quiet ends",
        HOLD,
        ask(max_age=600),
        KITCHEN,
        LATE,
        Skip("expired", "max_age=600 s runs out before quiet hours end"),
    ),
    (
        "a held request at the end of quiet",
        HOLD,
        ask(max_age=9 * 3600),
        KITCHEN,
        MORNING,
        Play(40, 70),
    ),
    (
        "a held request whose max_age ran out",
        HOLD,
        ask(max_age=3600),
        KITCHEN,
        LATE + 3600,
        Skip("expired", "older than max_age=3600 s before it could play"),
    ),
    ("drop", DROP, ask(), KITCHEN, LATE, Skip("skipped", "")),
    (
        "high priority in quiet hours, hold",
        HOLD,
        ask(priority="high"),
        KITCHEN,
        LATE,
        Play(40, 20, ("Kitchen: volume 40 lowered to 20 (SONOS_QUIET_VOLUME in quiet hours)",)),
    ),
    (
        "high priority in quiet hours, drop",
        DROP,
        ask(5, priority="high"),
        KITCHEN,
        LATE,
        Play(5, 20),
    ),
    (
        "do-not-disturb: hold until it goes off",
        RULES,
        ask(received_at=DAY),
        QUIET_DND,
        DAY,
        Hold(None, ""),
    ),
    (
        "do-not-disturb: hold, bound by max_age",
        RULES,
        ask(max_age=60, received_at=DAY),
        QUIET_DND,
        DAY,
        Hold(DAY + 60, ""),
    ),
    (
        "do-not-disturb: drop",
        replace(RULES, dnd_policy="drop"),
        ask(received_at=DAY),
        QUIET_DND,
        DAY,
        Skip("skipped", ""),
    ),
    (
        "do-not-disturb, high priority",
        RULES,
        ask(priority="high", received_at=DAY),
        QUIET_DND,
        DAY,
        Play(40, 70),
    ),
    (
        "the short night (DST): held until 07:00 summer time",
        HOLD,
        ask(received_at=at("2026-03-28 23:00")),
        KITCHEN,
        at("2026-03-28 23:00"),
        Hold(at("2026-03-29 07:00"), ""),
    ),
    (
        "23:00-23:00 is all day: capped at noon",
        replace(RULES, quiet_hours=QuietHours(parse_ranges("23:00-23:00"), BERLIN)),
        ask(received_at=DAY),
        OFFICE,
        DAY,
        Play(50, 20, ("Office: volume 50 lowered to 20 (SONOS_QUIET_VOLUME in quiet hours)",)),
    ),
    (
        "23:00-23:00 and hold: held with no end",
        replace(HOLD, quiet_hours=QuietHours(parse_ranges("23:00-23:00"), BERLIN)),
        ask(received_at=DAY),
        OFFICE,
        DAY,
        Hold(None, ""),
    ),
]


@pytest.mark.parametrize(
    ("rules", "request_", "room", "now", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_decision(
    rules: HouseRules, request_: Ask, room: Room, now: float, expected: Decision
) -> None:
    decision = rules.decide(request_, room, now)
    if isinstance(expected, Hold | Skip) and not expected.rule:
        assert type(decision) is type(expected)
        assert decision == replace(expected, rule=decision.rule)
    else:
        assert decision == expected


def test_rules_say_which_setting_decided() -> None:
    held = HOLD.decide(ask(), KITCHEN, LATE)
    assert isinstance(held, Hold)
    assert held.rule == "held for quiet hours (SONOS_QUIET_HOURS=22:00-07:00) until 07:00"
    dropped = DROP.decide(ask(), KITCHEN, LATE)
    assert dropped == Skip(
        "skipped", "quiet hours (SONOS_QUIET_HOURS=22:00-07:00, SONOS_QUIET_POLICY=drop)"
    )
    dnd = RULES.decide(ask(received_at=DAY), QUIET_DND, DAY)
    assert dnd == Hold(None, "do-not-disturb is on for Kitchen (SONOS_DND_POLICY=hold)")


@pytest.mark.parametrize(
    ("plan", "current", "level"),
    [(Play(None, 70), 35, 35), (Play(None, 70), 90, 70), (Play(60), 10, 60), (Play(None), 42, 42)],
)
def test_volume_at_play_time(plan: Play, current: int, level: int) -> None:
    """ "room" and no volume follow the room's own volume, never above the cap."""
    assert plan.level(current) == level


def test_rules_in_force_are_described() -> None:
    assert RULES.describe() == [
        "quiet hours 22:00-07:00 (Europe/Berlin): cap, at most volume 20",
        "volume at most 70 in every room",
        "volume at most 30 in Bedroom",
        "default volume 40 in Kitchen",
        "do-not-disturb: hold normal requests",
    ]


def test_room_volumes_parse() -> None:
    assert parse_room_volumes(" Kitchen=60, Living Room = 30 ,") == {
        "Kitchen": 60,
        "Living Room": 30,
    }


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("Kitchen", "not ROOM=VOLUME"),
        ("=40", "not ROOM=VOLUME"),
        ("Kitchen=101", "0 to 100"),
        ("Kitchen=-1", "0 to 100"),
        ("Kitchen=loud", "0 to 100"),
        ("Kitchen=40,kitchen=50", "named twice"),
    ],
)
def test_bad_room_volumes(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_room_volumes(text)


def test_rooms_no_speaker_has_are_named_with_their_setting() -> None:
    named = {"SONOS_MAX_VOLUME_PER_ROOM": ["kitchen", "living_room", "Garage"]}
    assert unknown_rooms(named, ["Kitchen", "Living Room"]) == [
        "SONOS_MAX_VOLUME_PER_ROOM names 'Garage', which no speaker is "
        "(speakers: Kitchen, Living Room)"
    ]
    assert unknown_rooms({"SONOS_DEFAULT_VOLUME_PER_ROOM": []}, []) == []
