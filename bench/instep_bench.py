"""Whole-house announcements: in step against parallel, 4, 8 and 16 rooms (fake speakers).

The rooms come in groups of two, each group playing radio. For each size, through a real
broker and the bridge as its own process, it measures:

- in step (`"sync": true`): request -> every room joined to the temporary group, and
  request -> the temporary coordinator's fetch of the clip (only it fetches); the clip's
  end -> every group re-formed (each room back with its own coordinator) and its radio
  playing again;
- parallel (`"sync": false`): request -> the first group's fetch, the spread of the
  groups' fetch times (how far apart the rooms start: the echo), and each clip's end ->
  that group's radio again (the slowest).

Goal on the project's machine: 16 rooms joined and playing within 150 ms of the request,
every group back within 250 ms of the clip's end. The speakers report CLOCK_MONOTONIC
times, which every process on the host shares.

    python bench/instep_bench.py [--rounds 5] [--sizes 4,8,16]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testkit.fakes.harness import results, wait_subscribed
from testkit.fakes.remote import free_speaker_addresses, start_fake_speakers
from testkit.fakes.speaker import RADIO_URI, SONOS_PORT
from testkit.support.broker import MosquittoBroker
from testkit.support.probe import Probe
from testkit.support.service_process import start_bridge_process

TEXT = "Dinner is ready"
SPEED = 0.5  # the fakes play clips at half their length: rounds stay short


@dataclass(frozen=True, slots=True)
class InStepRound:
    joined_ms: float  # request -> the last room joined
    fetch_ms: float  # request -> the temporary coordinator's fetch
    back_ms: float  # clip's end -> every group re-formed and playing


@dataclass(frozen=True, slots=True)
class ParallelRound:
    first_fetch_ms: float  # request -> the first group's fetch
    spread_ms: float  # the groups' fetch times apart
    back_ms: float  # clip's end -> the slowest group's radio


class House:
    """N rooms in groups of two, each group's coordinator playing radio."""

    def __init__(self, size: int) -> None:
        names = [f"Room {n:02d}" for n in range(size)]
        self.groups = tuple(tuple(names[i : i + 2]) for i in range(0, size, 2))
        addresses = free_speaker_addresses(size)
        self.process, self.rooms = start_fake_speakers(
            dict(zip(names, addresses, strict=True)), SPEED, radio=True, groups=self.groups
        )
        self.coordinators = {group[0] for group in self.groups}

    def states(self) -> dict[str, dict[str, Any]]:
        return {name: room.state() for name, room in self.rooms.items()}

    def settled(self) -> dict[str, dict[str, Any]]:
        """Wait until every group is as it was, its radio playing."""
        for name, room in self.rooms.items():
            if name in self.coordinators:
                room.wait_until(lambda s: s["uri"] == RADIO_URI and s["state"] == "PLAYING")
            else:
                room.wait_until(lambda s: str(s["uri"]).startswith("x-rincon:"))
        return self.states()

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def ask(probe: Probe, sync: bool) -> float:
    request_id = f"{'step' if sync else 'par'}-{time.monotonic()}"
    started = time.monotonic()
    body = {"text": TEXT, "speaker": "all", "sync": sync, "id": request_id}
    probe.publish("sonos/tts", json.dumps(body))
    probe.wait_until(lambda: any(r.get("id") == request_id for r in results(probe)), 60)
    return started


def in_step_round(house: House, probe: Probe) -> InStepRound:
    started = ask(probe, sync=True)
    states = house.settled()
    [(leader, play)] = [
        (name, s["plays"][-1])
        for name, s in states.items()
        if s["plays"] and s["plays"][-1]["requested_at"] > started
    ]
    ended = play["finished_at"]
    joins = [
        at for s in states.values() for uri, at in s["uri_times"]
        if started < at < ended and uri.startswith("x-rincon:")
    ]  # fmt: skip
    back = [
        at for name, s in states.items() for action, at in s["action_times"]
        if at > ended and action == "Play" and name in house.coordinators
    ]  # fmt: skip
    back += [
        at for name, s in states.items() for uri, at in s["uri_times"]
        if at > ended and uri.startswith("x-rincon:") and name not in house.coordinators
    ]  # fmt: skip
    assert leader in house.coordinators
    return InStepRound(
        joined_ms=(max(joins) - started) * 1000,
        fetch_ms=(play["requested_at"] - started) * 1000,
        back_ms=(max(back) - ended) * 1000,
    )


def parallel_round(house: House, probe: Probe) -> ParallelRound:
    started = ask(probe, sync=False)
    states = house.settled()
    plays = {n: s["plays"][-1] for n, s in states.items() if n in house.coordinators}
    fetches = [p["requested_at"] for p in plays.values()]
    lags = []
    for name, play in plays.items():
        resumed = [
            at for action, at in states[name]["action_times"]
            if action == "Play" and at > play["finished_at"]
        ]  # fmt: skip
        lags.append(min(resumed) - play["finished_at"])
    return ParallelRound(
        first_fetch_ms=(min(fetches) - started) * 1000,
        spread_ms=(max(fetches) - min(fetches)) * 1000,
        back_ms=max(lags) * 1000,
    )


def p50(values: list[float]) -> str:
    return f"{statistics.median(values):7.1f}"


def worst(values: list[float]) -> str:
    return f"{max(values):7.1f}"


def measure(size: int, rounds: int, work: Path) -> tuple[list[InStepRound], list[ParallelRound]]:
    house = House(size)
    broker = MosquittoBroker(work / f"broker-{size}")
    broker.start()
    state_dir = work / f"bridge-{size}"
    state_dir.mkdir()
    bridge = start_bridge_process(broker, state_dir, [room.ip for room in house.rooms.values()])
    probe = Probe(broker, "homeassistant")
    try:
        probe.subscribe("sonos/result")
        wait_subscribed(broker)
        in_step_round(house, probe)  # warm: speech cached, subscriptions made
        parallel_round(house, probe)
        steps = [in_step_round(house, probe) for _ in range(rounds)]
        apart = [parallel_round(house, probe) for _ in range(rounds)]
        return steps, apart
    finally:
        probe.close()
        bridge.terminate()
        bridge.wait(20)
        broker.stop()
        house.close()


def line(label: str, values: list[float]) -> str:
    return f"  {label:<40}{p50(values)} {worst(values)}"


def report(size: int, steps: list[InStepRound], apart: list[ParallelRound]) -> None:
    print(f"\n{size} rooms in {size // 2} groups ({len(steps)} rounds; median, worst; ms)")
    print(line("in step   request -> all joined", [r.joined_ms for r in steps]))
    print(line("          request -> leader's fetch", [r.fetch_ms for r in steps]))
    print(line("          clip end -> all groups back", [r.back_ms for r in steps]))
    print(line("parallel  request -> first fetch", [r.first_fetch_ms for r in apart]))
    print(line("          spread of the fetches", [r.spread_ms for r in apart]))
    print(line("          clip end -> slowest back", [r.back_ms for r in apart]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="4,8,16")
    options = parser.parse_args()
    print(f"Whole house, in step against parallel (port {SONOS_PORT} fakes at speed {SPEED})")
    with tempfile.TemporaryDirectory(prefix="instep-bench-") as work:
        for size in (int(s) for s in options.sizes.split(",")):
            steps, apart = measure(size, options.rounds, Path(work))
            report(size, steps, apart)
    print("\nGoal: 16 rooms joined and playing within 150 ms; every group back within 250 ms.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
