"""Quiet hours on an injected clock: the minutes they start and end, midnight, DST nights."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from sonos_bridge.request.quiet_hours import QuietHours, QuietHoursError, TimeRange, parse_ranges

BERLIN = ZoneInfo("Europe/Berlin")  # clocks go forward 2026-03-29, back 2026-10-25


def at(wall: str, fold: int = 0) -> float:
    """Epoch seconds of a Berlin wall time; `fold=1` is the second pass of a repeated hour."""
    return datetime.fromisoformat(wall).replace(tzinfo=BERLIN, fold=fold).timestamp()


def utc(wall: str) -> float:
    return datetime.fromisoformat(wall).replace(tzinfo=UTC).timestamp()


def quiet(text: str) -> QuietHours:
    return QuietHours(parse_ranges(text), BERLIN)


@pytest.mark.parametrize(
    ("ranges", "moment", "expected"),
    [
        ("22:00-07:00", at("2026-06-10 21:59:59"), False),
        ("22:00-07:00", at("2026-06-10 22:00"), True),  # the minute it starts
        ("22:00-07:00", at("2026-06-11 00:00"), True),  # across midnight
        ("22:00-07:00", at("2026-06-11 06:59:59"), True),
        ("22:00-07:00", at("2026-06-11 07:00"), False),  # the minute it ends
        ("07:00-22:00", at("2026-06-10 12:00"), True),
        ("07:00-22:00", at("2026-06-10 22:00"), False),
        ("12:30-14:00, 22:00-07:00", at("2026-06-10 13:15"), True),
        ("12:30-14:00, 22:00-07:00", at("2026-06-10 14:00"), False),
        ("23:00-23:00", at("2026-06-10 22:59"), True),  # start == end: the whole day
        ("23:00-23:00", at("2026-06-10 23:00"), True),
        ("00:00-24:00", at("2026-06-10 12:00"), True),
        ("", at("2026-06-10 23:00"), False),
        # Clocks forward at 02:00 CET: a range starting at 02:15 begins with the jump.
        ("02:15-04:00", utc("2026-03-29 00:59"), False),
        ("02:15-04:00", utc("2026-03-29 01:00"), True),
        # Clocks back at 03:00 CEST: a range ending at 02:30 is quiet again in the repeat.
        ("01:00-02:30", at("2026-10-25 02:40", fold=0), False),
        ("01:00-02:30", at("2026-10-25 02:15", fold=1), True),
    ],
)
def test_whether_a_moment_is_quiet(ranges: str, moment: float, expected: bool) -> None:
    assert quiet(ranges).active(moment) is expected


@pytest.mark.parametrize(
    ("ranges", "moment", "end"),
    [
        ("22:00-07:00", at("2026-06-10 23:00"), at("2026-06-11 07:00")),
        ("22:00-07:00", at("2026-06-10 22:00"), at("2026-06-11 07:00")),
        ("22:00-07:00", at("2026-06-11 06:59:30"), at("2026-06-11 07:00")),
        ("22:00-07:00", at("2026-06-11 07:00"), at("2026-06-11 07:00")),  # not quiet: now
        ("22:00-00:00,00:00-07:00", at("2026-06-10 23:00"), at("2026-06-11 07:00")),  # joined
        ("23:00-23:00", at("2026-06-10 12:00"), None),  # never ends
        ("12:00-18:00,18:00-12:00", at("2026-06-10 12:00"), None),
        # The short night: 22:00 CET to 07:00 CEST is eight hours.
        ("22:00-07:00", at("2026-03-28 23:00"), utc("2026-03-29 05:00")),
        # The long night: 22:00 CEST to 07:00 CET is ten hours.
        ("22:00-07:00", at("2026-10-24 23:00"), utc("2026-10-25 06:00")),
        # 02:30 does not exist on the short night: quiet ends when the clocks jump to 03:00.
        ("01:00-02:30", at("2026-03-29 01:30"), utc("2026-03-29 01:00")),
        # 02:30 comes twice on the long night: first at 00:30 UTC, then (quiet again) 01:30.
        ("01:00-02:30", at("2026-10-25 01:30"), utc("2026-10-25 00:30")),
        ("01:00-02:30", at("2026-10-25 02:10", fold=1), utc("2026-10-25 01:30")),
    ],
)
def test_when_quiet_hours_end(ranges: str, moment: float, end: float | None) -> None:
    assert quiet(ranges).end_after(moment) == end


def test_ranges_are_parsed_and_shown_as_written() -> None:
    hours = quiet(" 22:00-07:00 , 9:30 - 10:00,")
    assert hours.ranges == (TimeRange(22 * 60, 7 * 60), TimeRange(9 * 60 + 30, 10 * 60))
    assert str(hours) == "22:00-07:00,09:30-10:00"
    assert str(quiet("")) == "none"


@pytest.mark.parametrize(
    "text", ["22:00", "22:00-7", "22-07", "24:00-07:00", "22:60-07:00", "22:00-24:30", "late"]
)
def test_malformed_ranges_are_refused(text: str) -> None:
    with pytest.raises(QuietHoursError, match=r"range like 22:00-07:00|time of day"):
        parse_ranges(text)
