"""The gate on an injected clock: rooms queued, held and released, skipped; one result."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sonos_bridge.playback.gate import RulesGate
from sonos_bridge.playback.jobs import Job, Outcome
from sonos_bridge.request.announcement import Announcement
from sonos_bridge.request.dnd import DndSwitches
from sonos_bridge.request.house_rules import HouseRules
from sonos_bridge.request.options import PlayOptions
from sonos_bridge.request.quiet_hours import QuietHours, parse_ranges
from sonos_bridge.request.results import Result
from sonos_bridge.speakers import Speaker

BERLIN = ZoneInfo("Europe/Berlin")
SPEAKERS = {
    name: Speaker.group_coordinator(name, f"RINCON_{name.upper()}", f"127.0.0.{n}")
    for n, name in enumerate(["Kitchen", "Office"], start=2)
}


def at(wall: str) -> float:
    return datetime.fromisoformat(wall).replace(tzinfo=BERLIN).timestamp()


class Harness:
    def __init__(
        self, tmp_path: Path, rules: HouseRules, now: float, *, in_step: bool = False
    ) -> None:
        self.now = now
        self.queued: list[tuple[Job, list[str]]] = []
        self.in_step_calls: list[bool] = []
        self.results: list[Result] = []
        self.switches = DndSwitches(tmp_path / "dnd.json")
        self.gate = RulesGate(
            rules,
            self.switches,
            enqueue=self._enqueue,
            resolve=self._resolve,
            in_step=lambda announcement, speakers: in_step and len(speakers) > 1,
            clock=lambda: self.now,
        )

    def _enqueue(self, job: Job, speakers: list[Speaker], in_step: bool) -> None:
        self.in_step_calls.append(in_step)
        self.queued.append((job, [s.name for s in speakers]))

    def _resolve(self, names: list[str]) -> list[Speaker]:
        return [SPEAKERS[name] for name in names]

    def admit(self, *rooms: str, **fields: object) -> None:
        announcement = Announcement(
            id="r1",
            text="Hello",
            speakers=tuple(rooms),
            received_at=time.monotonic(),
            **fields,  # type: ignore[arg-type]
        )
        self.gate.admit(
            announcement, self._resolve(list(rooms)), lambda r, _a: self.results.append(r)
        )

    def play_queued(self) -> None:
        queued, self.queued = self.queued, []
        for job, rooms in queued:
            job.finish_part(Outcome(rooms, "played", latency_ms=5))

    def release_due(self) -> None:
        for part in self.gate.held.take_due(self.now):
            self.gate._release(part)  # what the held thread does


def test_one_room_held_by_its_switch_while_the_other_plays(tmp_path: Path) -> None:
    h = Harness(tmp_path, HouseRules(), at("2026-06-10 12:00"))
    h.switches.set("Kitchen", True)
    h.admit("Kitchen", "Office")
    assert [rooms for _, rooms in h.queued] == [["Office"]]
    h.play_queued()
    assert h.results == [] and h.gate.held.count == 1
    h.now += 90
    h.switches.set("Kitchen", False)
    h.gate.held.recheck()
    h.release_due()
    assert [rooms for _, rooms in h.queued] == [["Kitchen"]]
    h.play_queued()
    [result] = h.results
    assert result.status == "played" and result.speakers == ("Kitchen", "Office")
    assert result.held_ms == 90_000


def test_rooms_in_step_are_one_part_and_the_result_says_so(tmp_path: Path) -> None:
    h = Harness(tmp_path, HouseRules(), at("2026-06-10 12:00"), in_step=True)
    h.admit("Kitchen", "Office")
    assert [rooms for _, rooms in h.queued] == [["Kitchen", "Office"]]
    assert h.in_step_calls == [True]
    h.play_queued()  # one stream from the temporary group: one part answers the request
    [result] = h.results
    assert result.status == "played" and result.in_step is True


def test_a_room_held_out_of_an_in_step_request_plays_alone_later(tmp_path: Path) -> None:
    h = Harness(tmp_path, HouseRules(), at("2026-06-10 12:00"), in_step=True)
    h.switches.set("Kitchen", True)
    h.admit("Kitchen", "Office")
    assert [rooms for _, rooms in h.queued] == [["Office"]] and h.in_step_calls == [False]
    h.play_queued()
    h.switches.set("Kitchen", False)
    h.gate.held.recheck()
    h.release_due()
    h.play_queued()
    [result] = h.results
    assert result.status == "played" and result.in_step is False


def test_quiet_hours_hold_until_they_end(tmp_path: Path) -> None:
    night = QuietHours(parse_ranges("22:00-07:00"), BERLIN)
    h = Harness(
        tmp_path, HouseRules(quiet_hours=night, quiet_policy="hold"), at("2026-06-10 23:00")
    )
    h.admit("Kitchen")
    assert h.queued == [] and h.gate.held.next_wake(h.now) > 0
    h.now = at("2026-06-11 06:59")
    h.release_due()
    assert h.queued == []
    h.now = at("2026-06-11 07:00")
    h.release_due()
    h.play_queued()
    [result] = h.results
    assert result.status == "played" and result.held_ms == 8 * 3600 * 1000


def test_a_held_request_expires_when_its_max_age_runs_out(tmp_path: Path) -> None:
    h = Harness(tmp_path, HouseRules(), at("2026-06-10 12:00"))
    h.switches.set(None, True)
    h.admit("Kitchen", max_age=60.0)
    h.now += 59
    h.release_due()
    assert h.results == []
    h.now += 1
    h.release_due()
    [result] = h.results
    assert result.status == "expired" and result.held_ms == 60_000
    assert "max_age=60 s" in (result.error or "")


def test_every_room_skipped_is_answered_at_once(tmp_path: Path) -> None:
    h = Harness(tmp_path, HouseRules(dnd_policy="drop"), at("2026-06-10 12:00"))
    h.switches.set(None, True)
    h.admit("Kitchen", "Office")
    [result] = h.results
    assert result.status == "skipped" and h.queued == []
    assert "do-not-disturb is on for Kitchen" in (result.error or "")


def test_high_priority_is_never_held(tmp_path: Path) -> None:
    h = Harness(tmp_path, HouseRules(), at("2026-06-10 12:00"))
    h.switches.set(None, True)
    h.admit("Kitchen", options=PlayOptions(priority="high"))
    assert [rooms for _, rooms in h.queued] == [["Kitchen"]]
