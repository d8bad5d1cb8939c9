"""The first announcement after a start against the next ones (issue 17).

Three S2 speakers with music playing: one whose port 1443 takes connections and never
answers (`Silent`: each probe step waits out SONOS_TIMEOUT, 5 s), one that answers every
request 1 s late (`Slow`), one that answers at once (`Fast`). The bridge is started as its
own process; the moment it is online, one announcement goes to each speaker in turn (the
"first"), then `--rounds` more each (the "warm" ones, once the probes have answered).
Printed per speaker: publish -> result on sonos/result, the result's `latency_ms`, and
how it played (clip or takeover). Before this issue the first announcement to a speaker
like `Silent` waited 4.96 s for its probe.

Then the same for speech: the bridge with Piper, with PIPER_PRELOAD on and off, first
announcement (sent once the bridge is online) against the next ones.

    python bench/clip_first_bench.py [--rounds 5] [--no-piper]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testkit.fakes.harness import results, wait_subscribed
from testkit.fakes.s2 import S2Profile
from testkit.fakes.speaker import FakeSonosSystem, FakeSpeaker
from testkit.support.broker import MosquittoBroker
from testkit.support.probe import Probe
from testkit.support.service_process import start_bridge_process

SPEED = 0.2  # the fakes play a 1 s clip in 200 ms
WARM_TEXT = "Dinner is ready"
PROFILES = {
    "Silent": S2Profile(silent=True),
    "Slow": S2Profile(answer_delay=1.0),
    "Fast": S2Profile(),
}


def wait_for_log(log: Path, text: str, timeout: float = 60.0) -> None:
    """Until the bridge's log has a line containing `text` (its verdict on a speaker)."""
    deadline = time.monotonic() + timeout
    while text not in log.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise SystemExit(f"the bridge never logged {text!r}")
        time.sleep(0.1)


def announce(
    probe: Probe, speaker: str, text: str, request_id: str
) -> tuple[float, dict[str, Any]]:
    """Publish one announcement; (publish -> result in ms, the result)."""
    started = time.monotonic()
    probe.publish(f"sonos/tts/{speaker}", json.dumps({"text": text, "id": request_id}))

    def answered() -> list[dict[str, Any]]:
        return [r for r in results(probe) if r.get("id") == request_id]

    probe.wait_until(lambda: bool(answered()), 60, request_id)
    return (time.monotonic() - started) * 1000, answered()[0]


def how_played(speaker: FakeSpeaker, plays_before: int, clips_before: int) -> str:
    clips = speaker.s2.clips if speaker.s2 is not None else []
    if len(clips) > clips_before and clips[-1].status == "DONE":
        return "clip"
    return "takeover" if len(speaker.plays) > plays_before else "?"


def one(probe: Probe, speaker: FakeSpeaker, text: str, request_id: str) -> tuple[float, float, str]:
    plays, clips = len(speaker.plays), len(speaker.s2.clips) if speaker.s2 else 0
    wall, result = announce(probe, speaker.name, text, request_id)
    if result.get("status") != "played":
        raise SystemExit(f"{request_id}: {result}")
    speaker.wait_until(lambda: speaker.transport.state == "PLAYING", what="music back")
    return wall, float(result.get("latency_ms") or 0), how_played(speaker, plays, clips)


@dataclass
class Stack:
    """What a measurement needs of the running stack: the MQTT probe and the bridge's log."""

    probe: Probe
    log: Path


@contextmanager
def running(
    work: Path, profiles: dict[str, S2Profile | None], **settings: str
) -> Iterator[tuple[Stack, dict[str, FakeSpeaker]]]:
    """Everything started, the music playing on every speaker; yields once the bridge is online."""
    broker = MosquittoBroker(work / "broker")
    broker.start()
    sonos = FakeSonosSystem(speed=SPEED, first_host=200)
    bridge: subprocess.Popen[bytes] | None = None
    probe: Probe | None = None
    try:
        speakers = {name: sonos.add(name, s2=profile) for name, profile in profiles.items()}
        for speaker in speakers.values():
            speaker.play_radio(volume=20)
        hosts = [speaker.ip for speaker in speakers.values()]
        bridge = start_bridge_process(broker, work / "bridge", hosts, LOG_LEVEL="INFO", **settings)
        probe = Probe(broker)
        wait_subscribed(broker)
        probe.subscribe("sonos/result")
        yield Stack(probe, work / "bridge" / "bridge.log"), speakers
    finally:
        if probe is not None:
            probe.close()
        if bridge is not None:
            bridge.terminate()
            bridge.wait(20)
        sonos.close()
        broker.kill()


def clip_modes(work: Path, rounds: int) -> None:
    profiles: dict[str, S2Profile | None] = dict(PROFILES)
    with running(work, profiles) as (stack, speakers):
        first = {n: one(stack.probe, s, WARM_TEXT, f"first-{n}") for n, s in speakers.items()}
        for speaker in speakers.values():  # every probe answered (Silent: after 5 s)
            wait_for_log(stack.log, f"Speaker {speaker.ip} ")
        warm = {
            name: [one(stack.probe, s, WARM_TEXT, f"warm-{name}-{r}") for r in range(rounds)]
            for name, s in speakers.items()
        }
    print("First announcement after start vs warm (publish -> result; result latency_ms; mode)")
    for name in PROFILES:
        wall, latency, mode = first[name]
        walls = [w for w, _l, _m in warm[name]]
        modes = sorted({m for _w, _l, m in warm[name]})
        latencies = [latency for _w, latency, _m in warm[name]]
        print(
            f"  {name:<7} first {wall:7.0f} ms (latency {latency:6.0f} ms, {mode:<8})  "
            f"warm p50 {statistics.median(walls):7.0f} ms "
            f"(latency {statistics.median(latencies):6.0f} ms, "
            f"{'/'.join(modes)}, n={len(walls)})"
        )


def piper_first(
    work: Path, rounds: int, preload: bool, delay: float | None
) -> tuple[float, list[float], float]:
    """(first, warm, seconds after online the first was sent). `delay` None: once the
    preload said it is ready (PIPER_PRELOAD=true only); a number: that long after online."""
    settings = {"TTS_ENGINES": "piper", "PIPER_PRELOAD": "true" if preload else "false"}
    with running(work, {"Kitchen": None}, **settings) as (stack, speakers):
        online = time.monotonic()
        if delay is None:
            wait_for_log(stack.log, " ready in ")
        else:
            time.sleep(delay)  # a user's first announcement, this long after the start
        waited = time.monotonic() - online
        kitchen = speakers["Kitchen"]
        first, _latency, _mode = one(stack.probe, kitchen, "The front door is open", "first")
        warm = [
            one(stack.probe, kitchen, f"The window number {n} is open", f"warm-{n}")[0]
            for n in range(rounds)
        ]
    return first, warm, waited


def main() -> int:
    parser = argparse.ArgumentParser(description="first vs warm announcement")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-piper", action="store_true", help="skip the Piper part")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clip-first-bench-") as workdir:
        clip_modes(Path(workdir) / "clips", options.rounds)
        if options.no_piper:
            return 0
        ready_after = 0.0
        print("Piper: first announcement vs warm (new texts), publish -> result")
        runs = [(True, None), (False, None), (True, 0.0), (False, 0.0)]
        for number, (preload, planned) in enumerate(runs):
            # Without preload: as long after the start as the preloaded voice took.
            delay = ready_after if planned is None and not preload else planned
            first, warm, waited = piper_first(
                Path(workdir) / f"piper-{number}", options.rounds, preload, delay
            )
            ready_after = waited if preload and planned is None else ready_after
            print(
                f"  PIPER_PRELOAD={str(preload).lower():<5} sent {waited:4.1f} s after online: "
                f"first {first:7.0f} ms   warm p50 {statistics.median(warm):7.0f} ms "
                f"(n={len(warm)})"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
