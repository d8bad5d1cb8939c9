"""An announcement's volume per room, decided as it plays and reported in its result."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sonos_bridge.request.house_rules import Ask, HouseRules
from sonos_bridge.request.levels import Levels
from sonos_bridge.request.quiet_hours import QuietHours, parse_ranges

BERLIN = ZoneInfo("Europe/Berlin")
RULES = HouseRules(
    quiet_hours=QuietHours(parse_ranges("22:00-07:00"), BERLIN),
    quiet_volume=20,
    max_volume=60,
    room_max_volume={"Bedroom": 30},
)


def at(wall: str) -> float:
    return datetime.fromisoformat(wall).replace(tzinfo=BERLIN).timestamp()


def test_asked_volume_lowered_per_room_and_reported() -> None:
    levels = Levels(RULES, Ask(volume=50), clock=lambda: at("2026-06-10 12:00"))
    assert levels.level("Kitchen", current=10) == 50
    assert levels.level("Bedroom", current=10) == 30
    assert levels.used() == {"Kitchen": 50, "Bedroom": 30}
    assert levels.notes() == [
        "Bedroom: volume 50 lowered to 30 (SONOS_MAX_VOLUME_PER_ROOM for Bedroom)"
    ]


def test_quiet_hours_are_read_when_it_plays_not_when_it_arrived() -> None:
    now = [at("2026-06-10 21:59")]
    levels = Levels(RULES, Ask(volume=40), clock=lambda: now[0])
    assert levels.plan("Kitchen").cap == 60
    now[0] = at("2026-06-10 22:00")
    assert levels.level("Kitchen", current=5) == 20
    assert levels.used() == 20


def test_room_volume_is_never_louder_than_the_room_was() -> None:
    levels = Levels(RULES, Ask(volume="room"), clock=lambda: at("2026-06-10 12:00"))
    assert levels.level("Kitchen", current=12) == 12
    assert levels.level("Office", current=95) == 60
    assert levels.notes() == []


def test_nothing_played_reports_no_volume() -> None:
    assert Levels(HouseRules(), Ask()).used() is None
