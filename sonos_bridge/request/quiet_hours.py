"""Quiet hours: daily wall-clock ranges in the zone of `TZ`, and when the current one ends.

A range is local wall time, as the household reads its clocks: `22:00-07:00` crosses
midnight, and a range whose start equals its end (`23:00-23:00`) is the whole day (the
reading of Home Assistant's time condition). Whether a moment is quiet is decided by its
wall time alone, so on the night the clocks go back a range ending at 02:30 is quiet
again for the repeated half hour, and a range whose start does not exist on the night
they go forward begins when they jump.

`end_after` answers "until when must a held request wait": the first instant from which
the wall clock is outside every range. Membership changes only where the wall clock
crosses a range boundary or jumps (a DST change), so those instants are the only
candidates; nothing is scanned minute by minute on a request's path.

Pure: no I/O, no clock of its own (every call is given the moment, as epoch seconds).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

MINUTES_PER_DAY = 24 * 60
RANGE = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
# Offsets are checked this often when looking for DST changes (then bisected to the
# minute); no zone changes its offset twice within it.
_OFFSET_STEP = timedelta(hours=3)
# Quiet that has not ended this long after `now` never ends: unless the ranges cover the
# whole day, each day has a minute outside them, so quiet lasts under a day (and an hour).
HORIZON = timedelta(hours=26)


class QuietHoursError(ValueError):
    """A quiet-hours text that is not a list of HH:MM-HH:MM ranges."""


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Minutes after local midnight; `end` <= `start` crosses midnight, equal is all day."""

    start: int
    end: int

    def __str__(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"

    @property
    def all_day(self) -> bool:
        return self.start == self.end

    def contains(self, minute: int) -> bool:
        if self.start < self.end:
            return self.start <= minute < self.end
        return self.all_day or minute >= self.start or minute < self.end


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_ranges(text: str) -> tuple[TimeRange, ...]:
    """`22:00-07:00,12:30-14:00` -> ranges; empty text -> none. Raises QuietHoursError."""
    ranges = []
    for part in (piece.strip() for piece in text.split(",")):
        if not part:
            continue
        match = RANGE.fullmatch(part)
        if match is None:
            raise QuietHoursError(f"{part!r} is not a range like 22:00-07:00")
        hour1, minute1, hour2, minute2 = (int(group) for group in match.groups())
        if hour1 > 23 or hour2 > 24 or minute1 > 59 or minute2 > 59 or (hour2 == 24 and minute2):
            raise QuietHoursError(f"{part!r} is not a time of day (00:00 to 24:00)")
        ranges.append(TimeRange(hour1 * 60 + minute1, (hour2 * 60 + minute2) % MINUTES_PER_DAY))
    return tuple(ranges)


@dataclass(frozen=True, slots=True)
class QuietHours:
    """The household's quiet ranges in one time zone (none: never quiet)."""

    ranges: tuple[TimeRange, ...]
    zone: tzinfo

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.ranges) or "none"

    def active(self, now: float) -> bool:
        """Whether `now` (epoch seconds) is inside quiet hours."""
        return self._contains_wall(datetime.fromtimestamp(now, self.zone))

    def end_after(self, now: float) -> float | None:
        """When the quiet hours `now` is in end (epoch seconds); `now` itself when it is not
        quiet; None when they do not end (the ranges cover the whole day)."""
        if not self.active(now):
            return now
        start = datetime.fromtimestamp(now, UTC)
        for moment in self._changes(start, start + HORIZON):
            if not self._contains_wall(moment.astimezone(self.zone)):
                return moment.timestamp()
        return None

    def _contains_wall(self, local: datetime) -> bool:
        minute = local.hour * 60 + local.minute
        return any(r.contains(minute) for r in self.ranges)

    def _changes(self, start: datetime, stop: datetime) -> list[datetime]:
        """Every instant in (start, stop] at which quiet may begin or end, in order (UTC)."""
        boundaries = {r.start for r in self.ranges} | {r.end for r in self.ranges}
        first = start.astimezone(self.zone).date() - timedelta(days=1)
        days = (stop.astimezone(self.zone).date() - first).days + 1
        found = set(self._offset_changes(start, stop))
        for day in (first + timedelta(days=n) for n in range(days)):
            for minute in boundaries:
                found.update(self._instants(day, minute))
        return sorted(moment for moment in found if start < moment <= stop)

    def _instants(self, day: date, minute: int) -> list[datetime]:
        """The instants the wall clock reads `minute` on `day` (two when it is repeated,
        none when the clocks jump over it: the jump itself is an offset change)."""
        wall = datetime(day.year, day.month, day.day) + timedelta(minutes=minute)
        local = wall.replace(tzinfo=self.zone)
        if local.utcoffset() == local.replace(fold=1).utcoffset():
            return [local.astimezone(UTC)]  # an ordinary minute: no DST change near it
        instants = []
        for fold in (0, 1):
            moment = wall.replace(tzinfo=self.zone, fold=fold).astimezone(UTC)
            if moment.astimezone(self.zone).replace(tzinfo=None) == wall:
                instants.append(moment)
        return instants

    def _offset_changes(self, start: datetime, stop: datetime) -> list[datetime]:
        """The instants (to the minute) at which the zone's UTC offset changes."""
        changes = []
        moment = start.replace(second=0, microsecond=0)
        offset = moment.astimezone(self.zone).utcoffset()
        while moment < stop:
            later = moment + _OFFSET_STEP
            later_offset = later.astimezone(self.zone).utcoffset()
            if later_offset != offset:
                changes.append(self._change_within(moment, later))
            moment, offset = later, later_offset
        return changes

    def _change_within(self, before: datetime, after: datetime) -> datetime:
        """Bisect to the first minute with the new offset (zones change on whole minutes;
        `before` and `after` are whole minutes)."""
        old = before.astimezone(self.zone).utcoffset()
        low, high = before, after  # old offset at low, new at high
        while high - low > timedelta(minutes=1):
            middle = (low + (high - low) / 2).replace(second=0, microsecond=0)
            if middle.astimezone(self.zone).utcoffset() == old:
                low = middle
            else:
                high = middle
        return high
