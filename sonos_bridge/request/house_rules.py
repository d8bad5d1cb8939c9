"""The household's rules for announcements, in one place: request + room + clock -> what to do.

Every entry point (sonos/tts, the Home Assistant notify entities, `say`) reaches the
bridge as a request, and every request is judged here, per room, before it is queued:

- *play* at a volume no louder than the limits allow (SONOS_MAX_VOLUME, the room's own
  limit, and SONOS_QUIET_VOLUME during quiet hours);
- *hold* it until quiet hours end or the room's do-not-disturb switch goes off, never
  past its `max_age`;
- *skip* it (answered at once, nothing spoken), or answer it *expired* when its
  `max_age` cannot be met.

A `"priority": "high"` request always plays, at the quiet-hours cap when it is quiet.
Order of the rules: max_age, priority, do-not-disturb, quiet hours, volume limits.

Pure: no I/O and no clock of its own; `decide` is given the moment as epoch seconds,
so tests drive it with an injected clock and the bridge calls it on paho's thread
without any cost worth measuring.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from mqtt_service.discovery import slugify
from sonos_bridge.request.quiet_hours import QuietHours

Priority = Literal["low", "high"]
QuietPolicy = Literal["cap", "hold", "drop"]
DndPolicy = Literal["hold", "drop"]
ROOM_VOLUME: Literal["room"] = "room"  # "volume": "room": never louder than the room was
RequestedVolume = int | Literal["room"] | None


@dataclass(frozen=True, slots=True)
class Ask:
    """What the rules need of a request: its priority, volume and age limit."""

    priority: Priority = "low"
    volume: RequestedVolume = None
    received_at: float = 0.0  # epoch seconds of its first arrival
    max_age: float | None = None

    @property
    def deadline(self) -> float | None:
        return None if self.max_age is None else self.received_at + self.max_age


@dataclass(frozen=True, slots=True)
class Room:
    """One target room (a Sonos room name) and whether do-not-disturb is on for it."""

    name: str
    dnd: bool = False


@dataclass(frozen=True, slots=True)
class Play:
    """Play now. `volume` None: the room's own volume; never above `cap`."""

    volume: int | None
    cap: int | None = None
    notes: tuple[str, ...] = ()

    def level(self, current: int) -> int:
        """The volume to use in a room whose volume is `current` now."""
        wanted = current if self.volume is None else self.volume
        return wanted if self.cap is None else min(wanted, self.cap)


@dataclass(frozen=True, slots=True)
class Hold:
    """Ask again at `until` (epoch seconds), or when do-not-disturb changes (None)."""

    until: float | None
    rule: str


@dataclass(frozen=True, slots=True)
class Skip:
    """Answer now without speaking: `skipped` by a rule, or `expired` (max_age)."""

    status: Literal["skipped", "expired"]
    rule: str


Decision = Play | Hold | Skip


@dataclass(frozen=True, slots=True)
class HouseRules:
    """The rules in force; per-room maps are keyed by room name as the user wrote it and
    matched case-insensitively, like every speaker name."""

    quiet_hours: QuietHours | None = None
    quiet_volume: int = 20
    quiet_policy: QuietPolicy = "cap"
    max_volume: int | None = None
    room_max_volume: Mapping[str, int] = field(default_factory=dict)
    room_volume: Mapping[str, int] = field(default_factory=dict)
    default_volume: int | None = None
    dnd_policy: DndPolicy = "hold"

    def decide(self, ask: Ask, room: Room, now: float) -> Decision:
        deadline = ask.deadline
        if deadline is not None and now >= deadline:
            return Skip("expired", f"older than max_age={ask.max_age:g} s before it could play")
        quiet = self.quiet_hours is not None and self.quiet_hours.active(now)
        if ask.priority == "high":
            return self.play(ask, room, quiet)
        if room.dnd:
            rule = f"do-not-disturb is on for {room.name} (SONOS_DND_POLICY={self.dnd_policy})"
            if self.dnd_policy == "drop":
                return Skip("skipped", rule)
            return Hold(deadline, rule)
        if quiet and self.quiet_policy != "cap":
            return self._quiet(ask, now)
        return self.play(ask, room, quiet)

    def _quiet(self, ask: Ask, now: float) -> Decision:
        assert self.quiet_hours is not None
        hours = f"SONOS_QUIET_HOURS={self.quiet_hours}"
        if self.quiet_policy == "drop":
            return Skip("skipped", f"quiet hours ({hours}, SONOS_QUIET_POLICY=drop)")
        end = self.quiet_hours.end_after(now)
        until = "they end" if end is None else _clock(end, self.quiet_hours)
        rule = f"held for quiet hours ({hours}) until {until}"
        deadline = ask.deadline
        if deadline is not None and (end is None or deadline < end):
            return Skip("expired", f"max_age={ask.max_age:g} s runs out before quiet hours end")
        return Hold(end, rule)

    def play(self, ask: Ask, room: Room, quiet: bool) -> Play:
        """The volume for `room`: asked for, else the room's default, else SONOS_DEFAULT_VOLUME,
        else the room's own; then the lowest limit in force."""
        volume: int | None = None
        if isinstance(ask.volume, int):
            volume = ask.volume
        elif ask.volume is None:
            volume = _for_room(self.room_volume, room.name)
            volume = self.default_volume if volume is None else volume
        limits = [
            (self.max_volume, "SONOS_MAX_VOLUME"),
            (
                _for_room(self.room_max_volume, room.name),
                f"SONOS_MAX_VOLUME_PER_ROOM for {room.name}",
            ),
            (self.quiet_volume if quiet else None, "SONOS_QUIET_VOLUME in quiet hours"),
        ]
        in_force = [(value, name) for value, name in limits if value is not None]
        if not in_force:
            return Play(volume)
        cap, source = min(in_force, key=lambda limit: limit[0])
        notes: tuple[str, ...] = ()
        if volume is not None and volume > cap:
            notes = (f"{room.name}: volume {volume} lowered to {cap} ({source})",)
        return Play(volume, cap, notes)

    def describe(self) -> list[str]:
        """The rules in force, one line each, for `doctor` and the start-up log."""
        lines = []
        if self.quiet_hours is not None and self.quiet_hours.ranges:
            lines.append(
                f"quiet hours {self.quiet_hours} ({self.quiet_hours.zone}): "
                f"{self.quiet_policy}, at most volume {self.quiet_volume}"
            )
        else:
            lines.append("no quiet hours")
        if self.max_volume is not None:
            lines.append(f"volume at most {self.max_volume} in every room")
        lines += [f"volume at most {v} in {room}" for room, v in self.room_max_volume.items()]
        lines += [f"default volume {v} in {room}" for room, v in self.room_volume.items()]
        lines.append(f"do-not-disturb: {self.dnd_policy} normal requests")
        return lines


def parse_room_volumes(text: str) -> dict[str, int]:
    """`Kitchen=60,Bedroom=30` -> {"Kitchen": 60, "Bedroom": 30}; raises ValueError with
    the first bad entry (the settings turn it into one line naming the variable)."""
    volumes: dict[str, int] = {}
    for entry in (piece.strip() for piece in text.split(",")):
        if not entry:
            continue
        name, equals, number = (part.strip() for part in entry.rpartition("="))
        if not equals or not name:
            raise ValueError(f"{entry!r} is not ROOM=VOLUME (e.g. Kitchen=60)")
        if not number.isdigit() or int(number) > 100:
            raise ValueError(f"{entry!r}: the volume must be a whole number from 0 to 100")
        if any(room.casefold() == name.casefold() for room in volumes):
            raise ValueError(f"{name!r} is named twice")
        volumes[name] = int(number)
    return volumes


def unknown_rooms(named: Mapping[str, list[str]], speakers: list[str]) -> list[str]:
    """One line per setting that names a room no speaker has (names match as in requests:
    case-insensitively, or as Home Assistant slugs)."""
    known = {key for name in speakers for key in (name.casefold(), slugify(name))}
    lines = []
    for variable, rooms in named.items():
        missing = [room for room in rooms if not {room.casefold(), slugify(room)} & known]
        if missing:
            lines.append(
                f"{variable} names {', '.join(repr(r) for r in missing)}, which no speaker is "
                f"(speakers: {', '.join(speakers) or 'none found'})"
            )
    return lines


def _for_room(values: Mapping[str, int], name: str) -> int | None:
    key = name.casefold()
    return next((value for room, value in values.items() if room.casefold() == key), None)


def _clock(moment: float, hours: QuietHours) -> str:
    return datetime.fromtimestamp(moment, hours.zone).strftime("%H:%M")
