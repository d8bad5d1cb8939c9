"""House rules benchmark: what judging a request costs on paho's network thread.

Every request is judged per room before it is queued (`HouseRules.decide`), and a held
one also needs the instant its quiet hours end (`QuietHours.end_after`, which looks at the
range boundaries and the zone's DST changes of the next two days). Both run on the
thread that receives every MQTT message, so they must stay far below a millisecond.

Prints the median and 99th percentile per call for: a daytime request (no rule
applies), a capped one in quiet hours, a held one (decide + end_after), and end_after on
the night the clocks go back in Europe/Berlin, and the load average (on a shared
machine the p99 is mostly other processes). Goal: median under 1 ms each.

Run: python bench/rules_bench.py   (BENCH_CALLS sets the number of calls, default 2000)
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sonos_bridge.request.house_rules import Ask, HouseRules, Room
from sonos_bridge.request.quiet_hours import QuietHours, parse_ranges

BERLIN = ZoneInfo("Europe/Berlin")
CALLS = int(os.environ.get("BENCH_CALLS", "2000"))


def at(wall: str) -> float:
    return datetime.fromisoformat(wall).replace(tzinfo=BERLIN).timestamp()


def timed(call: Callable[[], object]) -> tuple[float, float]:
    """Median and p99 of one call, in microseconds."""
    samples = []
    for _ in range(CALLS):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def main() -> int:
    hours = QuietHours(parse_ranges("22:00-07:00,13:00-14:30"), BERLIN)
    rules = HouseRules(
        quiet_hours=hours,
        max_volume=70,
        room_max_volume={"Bedroom": 30, "Kitchen": 60},
        room_volume={"Kitchen": 40},
    )
    held = HouseRules(quiet_hours=hours, quiet_policy="hold")
    kitchen, ask = Room("Kitchen"), Ask(volume=80, received_at=at("2026-10-24 12:00"))
    cases = {
        "decide, daytime": lambda: rules.decide(ask, kitchen, at("2026-10-24 12:00")),
        "decide, quiet hours (cap)": lambda: rules.decide(ask, kitchen, at("2026-10-24 23:00")),
        "decide, quiet hours (hold)": lambda: held.decide(ask, kitchen, at("2026-10-24 23:00")),
        "end_after, DST night": lambda: hours.end_after(at("2026-10-25 01:00")),
    }
    failed = False
    print(f"{'case':<28} {'p50 µs':>8} {'p99 µs':>8}")
    for name, call in cases.items():
        p50, p99 = timed(call)
        failed = failed or p50 > 1000
        print(f"{name:<28} {p50:8.1f} {p99:8.1f}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("goal: median < 1000 µs:", "MISSED" if failed else "met")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
