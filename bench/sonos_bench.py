"""Latency and throughput of the Sonos bridge against fake speakers through a real broker.

Measures the time from publishing a request to the speaker's first request for the audio
(p50 and p95), with a cold cache (espeak-ng synthesises each text) and a warm one, next to
the floor: a bare SoCo `play_uri` to the same fake in the same run. Then publishes 100
announcements at once to one speaker and checks they all played, in order, with one
snapshot and one restore.

Broker, fake speaker and bridge each run in their own process, as they would on a real
network; the speaker reports the time of its first audio request on CLOCK_MONOTONIC,
which all processes share.

    python bench/sonos_bench.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from soco import SoCo  # noqa: E402

from sonos_bridge.tts.cache import ClipCache  # noqa: E402
from sonos_bridge.tts.engines import EspeakEngine  # noqa: E402
from sonos_bridge.tts.synthesizer import Synthesizer  # noqa: E402
from tests.fakes.harness import results, wait_subscribed  # noqa: E402
from tests.fakes.remote import RemoteSpeaker, start_fake_speakers  # noqa: E402
from tests.fakes.speaker import RADIO_URI, address_is_free  # noqa: E402
from tests.support.broker import MosquittoBroker, free_port  # noqa: E402
from tests.support.probe import Probe  # noqa: E402
from tests.support.service_process import service_env  # noqa: E402

BURST = 100
WARM_TEXT = "Dinner is ready"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def radio_back(state: dict[str, Any]) -> bool:
    return bool(state["uri"] == RADIO_URI and state["state"] == "PLAYING")


def pick_address() -> str:
    for host in range(200, 250):
        if address_is_free(f"127.0.0.{host}"):
            return f"127.0.0.{host}"
    raise SystemExit("no free loopback address for the fake speaker")


def start_bridge(
    broker: MosquittoBroker, state_dir: Path, speaker_ip: str, http_port: int
) -> subprocess.Popen[bytes]:
    environment = service_env(
        broker,
        state_dir,
        SONOS_HOSTS=speaker_ip,
        TTS_ENGINES="espeak",
        HTTP_PORT=str(http_port),
        HTTP_BIND="127.0.0.1",
        SONOS_POLL_INTERVAL="0.01",
        LOG_LEVEL="WARNING",
    )
    log = (state_dir / "bridge.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "sonos_bridge"], cwd=ROOT, env=environment, stdout=log, stderr=log
    )


def floor(speaker: RemoteSpeaker, url: str, rounds: int) -> list[float]:
    player = SoCo(speaker.ip)
    samples = []
    for _ in range(rounds):
        count = len(speaker.state()["plays"])
        started = time.monotonic()
        player.play_uri(url)

        def fetched_and_finished(state: dict[str, Any], before: int = count) -> bool:
            return len(state["plays"]) > before and bool(state["plays"][-1]["finished"])

        state = speaker.wait_until(fetched_and_finished)
        samples.append((state["plays"][-1]["requested_at"] - started) * 1000)
    speaker.play_radio(volume=20)
    return samples


def wait_answered(probe: Probe, request_id: str) -> None:
    def answered() -> bool:
        return any(x.get("id") == request_id for x in results(probe))

    probe.wait_until(answered, 30, request_id)


def through_bridge(probe: Probe, speaker: RemoteSpeaker, texts: list[str], tag: str) -> list[float]:
    samples = []
    for number, text in enumerate(texts):
        request_id = f"{tag}-{number}"
        started = time.monotonic()
        probe.publish("sonos/tts/Kitchen", json.dumps({"text": text, "id": request_id}))
        wait_answered(probe, request_id)
        state = speaker.wait_until(radio_back)
        samples.append((state["plays"][-1]["requested_at"] - started) * 1000)
    return samples


def burst(probe: Probe, speaker: RemoteSpeaker, keys: list[str]) -> dict[str, Any]:
    before = speaker.state()
    started = time.monotonic()
    for number in range(BURST):
        probe.publish(
            "sonos/tts/Kitchen",
            json.dumps({"text": f"Announcement number {number}", "id": f"burst-{number}"}),
        )
    probe.wait_until(
        lambda: sum(1 for r in results(probe) if str(r.get("id")).startswith("burst-")) == BURST,
        180,
        "100 results",
    )
    after = speaker.wait_until(radio_back)
    elapsed = time.monotonic() - started
    answers = [r for r in results(probe) if str(r.get("id")).startswith("burst-")]
    plays = after["plays"][len(before["plays"]) :]
    fetched = [p["url"].rsplit("/", 1)[-1].removesuffix(".mp3") for p in plays]
    restores = after["uris_set"][len(before["uris_set"]) :].count(RADIO_URI)
    return {
        "played": sum(1 for r in answers if r["status"] == "played"),
        "in_order": fetched == keys,
        "snapshots": after["action_counts"]["GetMediaInfo"]
        - before["action_counts"].get("GetMediaInfo", 0),
        "restores": restores,
        "seconds": elapsed,
    }


def describe(name: str, samples: list[float]) -> str:
    return (
        f"  {name:<27} p50 {statistics.median(samples):7.1f} ms   "
        f"p95 {percentile(samples, 0.95):7.1f} ms   (n={len(samples)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="Sonos bridge latency bench")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--speed", type=float, default=0.02, help="fake playback time factor")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sonos-bench-") as workdir:
        work = Path(workdir)
        broker = MosquittoBroker(work / "broker")
        broker.start()
        ip = pick_address()
        fakes, remotes = start_fake_speakers({"Kitchen": ip}, options.speed)
        speaker = remotes["Kitchen"]
        state_dir = work / "bridge"
        # Warm the bridge's cache before it starts: it indexes what it finds.
        synthesizer = Synthesizer(
            [EspeakEngine(timeout=10)], ClipCache(state_dir / "tts-cache", 10**9)
        )
        floor_clip = synthesizer.speak("Floor measurement", "en")
        synthesizer.speak(WARM_TEXT, "en")
        keys = [synthesizer.speak(f"Announcement number {n}", "en").key for n in range(BURST)]
        http_port = free_port()
        bridge = start_bridge(broker, state_dir, ip, http_port)
        probe: Probe | None = None
        try:
            wait_subscribed(broker)
            probe = Probe(broker)
            probe.subscribe("sonos/result")
            url = f"http://127.0.0.1:{http_port}/tts/{floor_clip.file_name}"
            floor_ms = floor(speaker, url, options.rounds)
            cold_texts = [f"Cold message {n} at {time.time():.0f}" for n in range(options.rounds)]
            cold_ms = through_bridge(probe, speaker, cold_texts, "cold")
            warm_ms = through_bridge(probe, speaker, [WARM_TEXT] * options.rounds, "warm")
            outcome = burst(probe, speaker, keys)
        finally:
            if probe is not None:
                probe.close()
            bridge.terminate()
            bridge.wait(15)
            fakes.terminate()
            fakes.wait(15)
            broker.kill()
    warm_p50, floor_p50, cold_p50 = (statistics.median(x) for x in (warm_ms, floor_ms, cold_ms))
    print("Publish -> the speaker's first audio request (real broker, real SoCo, fake speaker)")
    print(describe("floor: bare SoCo play_uri", floor_ms))
    print(describe("warm cache", warm_ms))
    print(describe("cold cache (espeak-ng)", cold_ms))
    print(
        f"  warm p50 = {warm_p50 / floor_p50:.1f}x floor (goal <= 3x); warm p50 < 50 ms: "
        f"{'met' if warm_p50 < 50 else 'MISSED'}; cold p50 < 200 ms: "
        f"{'met' if cold_p50 < 200 else 'MISSED'}"
    )
    print(
        f"{BURST} announcements at once to one speaker: {outcome['played']} played, "
        f"in order: {outcome['in_order']}, snapshots: {outcome['snapshots']}, "
        f"restores: {outcome['restores']}, {outcome['seconds']:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
