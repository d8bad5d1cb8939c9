"""Latency of the Sonos bridge against fake speakers through a real broker.

For each kind of speaker HTTP server (one write; headers and body in two writes with Nagle
on, as Python's `http.server` answers) it measures, in the same run:

- the floor: a bare SoCo `play_uri` to the speaker until its first request for the audio;
- warm cache: publish -> the speaker's first audio request, through the bridge;
- publish -> restore complete (the music's `Play` after the clip), next to the clip's
  length, and the clip's end -> restore complete: with UPnP events, and for a third
  speaker whose events never arrive (the polling fallback);
- one SOAP call on each connection technique (why the bridge keeps connections alive with
  TCP_QUICKACK), and the snapshot file write the warm path now includes;
- clip mode against an S2 speaker (TLS WebSocket on port 1443, fetching the clip from the
  bridge): publish -> ACTIVE through the bridge, next to its floor, the bridge's own clip
  client alone (first clip on a new connection, and on the kept one), and a check that the
  speaker's music was never touched.

Then the cold cache (espeak-ng) and 100 announcements at once to one speaker (all played,
in order, one snapshot, one restore). Broker, fake speakers and bridge each run in their
own process; the speakers report their times on CLOCK_MONOTONIC, which all share.

    python bench/sonos_bench.py [--rounds 30] [--clip-ms 63]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from soco import SoCo
from urllib3.connectionpool import HTTPConnectionPool

from sonos_bridge.audio.clip_cache import ClipCache
from sonos_bridge.audio.speech.engines import EspeakEngine
from sonos_bridge.audio.speech.synthesizer import Synthesizer
from sonos_bridge.playback.clip.player import ClipOptions, ClipPlayer, ClipRequest
from sonos_bridge.playback.clip.protocol import PORT as S2_PORT
from sonos_bridge.playback.takeover import upnp
from sonos_bridge.playback.takeover.snapshot import GroupSnapshot, MemberLevel, Source
from sonos_bridge.playback.takeover.snapshot_store import SnapshotStore
from testkit.fakes.harness import results, wait_subscribed
from testkit.fakes.remote import RemoteSpeaker, free_speaker_addresses, start_fake_speakers
from testkit.fakes.speaker import RADIO_URI, SONOS_PORT
from testkit.support.broker import MosquittoBroker, free_port
from testkit.support.probe import Probe
from testkit.support.service_process import start_bridge_process

BURST = 100
WARM_TEXT = "Dinner is ready"
# name -> (what its server does, whether its events arrive)
SPEAKERS = {
    "Kitchen": ("one write", True),
    "Office": ("two writes", True),
    "Attic": ("one write, no events", False),
}
CLIP_SPEAKER = "Den"  # an S2 speaker: announcements as audio clips
SOAP_CALLS = 200


@dataclass(frozen=True, slots=True)
class Round:
    latency_ms: float  # publish -> first audio request
    restored_ms: float  # publish -> the music's Play after the clip
    lag_ms: float  # clip's end -> the music's Play
    clip_ms: float  # how long the clip played


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def radio_back(state: dict[str, Any]) -> bool:
    return bool(state["uri"] == RADIO_URI and state["state"] == "PLAYING")


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


def measure_round(state: dict[str, Any], started: float, speed: float) -> Round:
    play = state["plays"][-1]
    restore_play = next(
        at for action, at in state["action_times"] if action == "Play" and at > play["finished_at"]
    )
    return Round(
        latency_ms=(play["requested_at"] - started) * 1000,
        restored_ms=(restore_play - started) * 1000,
        lag_ms=(restore_play - play["finished_at"]) * 1000,
        clip_ms=play["duration"] * speed * 1000,
    )


def through_bridge(
    probe: Probe, speaker: str, remote: RemoteSpeaker, texts: list[str], speed: float
) -> list[Round]:
    rounds = []
    for number, text in enumerate(texts):
        request_id = f"{speaker}-{number}-{time.monotonic()}"
        started = time.monotonic()
        probe.publish(f"sonos/tts/{speaker}", json.dumps({"text": text, "id": request_id}))
        wait_answered(probe, request_id)
        rounds.append(measure_round(remote.wait_until(radio_back), started, speed))
    return rounds


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


def soap_round_trips(ip: str) -> dict[str, float]:
    """p50 of one GetTransportInfo on each way of holding the connection."""
    return {
        "SoCo's own send_command": _soap_p50(ip, None),
        "kept alive (no QUICKACK)": _soap_p50(ip, upnp.new_pool(ip, quickack=False)),
        "kept alive + TCP_QUICKACK (the bridge)": _soap_p50(ip, upnp.new_pool(ip)),
    }


def _soap_p50(ip: str, pool: HTTPConnectionPool | None) -> float:
    player = upnp.Player("bench", ip, 5, pool=pool)
    call: Callable[[], object] = player.transport_state
    if pool is None:
        call = lambda: player.soco.avTransport.GetTransportInfo([upnp.INSTANCE])  # noqa: E731
    call()
    samples = []
    for _ in range(SOAP_CALLS):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    if pool is not None:
        pool.close()
    return statistics.median(samples)


def snapshot_write_ms(directory: Path, rounds: int) -> list[float]:
    """What the warm path now adds: one snapshot written, renamed in place and fsynced."""
    store = SnapshotStore(directory)
    member = MemberLevel("RINCON_BENCH", "Bench", "127.0.0.1", 20, False)
    snapshot = GroupSnapshot(
        "RINCON_BENCH", "Bench", "127.0.0.1", RADIO_URI, "<DIDL-Lite/>", "PLAYING",
        Source.STREAM, (member,),
    )  # fmt: skip
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        store.save(snapshot)()  # in place, then flushed to disk
        samples.append((time.perf_counter() - started) * 1000)
        store.remove(snapshot.coordinator_uid)
    return samples


@dataclass(frozen=True, slots=True)
class ClipLatency:
    first_ms: list[float]  # the bridge's clip client alone: connect, probe, load -> ACTIVE
    warm_ms: list[float]  # the same on its kept connection: load -> ACTIVE
    bridge_ms: list[float]  # publish -> ACTIVE through the bridge, warm cache
    music_touched: int  # transport and volume calls the S2 speaker got (must be 0)


def clip_floor(ip: str, url: str, duration: float, rounds: int) -> tuple[list[float], list[float]]:
    """Request -> ACTIVE by the clip client alone: new connections, then a kept one."""
    request = ClipRequest("Bench", url, duration)
    first: list[float] = []
    for _ in range(max(3, rounds // 5)):
        player = ClipPlayer(ClipOptions(timeout=5.0, margin=5.0))
        try:
            started = time.monotonic()
            first.append((player.play(ip, request).active_at - started) * 1000)
        finally:
            player.close()
    warm: list[float] = []
    player = ClipPlayer(ClipOptions(timeout=5.0, margin=5.0))
    try:
        player.play(ip, request)  # connect and probe outside the measurement
        for _ in range(rounds):
            started = time.monotonic()
            warm.append((player.play(ip, request).active_at - started) * 1000)
    finally:
        player.close()
    return first, warm


def clips_through_bridge(probe: Probe, remote: RemoteSpeaker, rounds: int) -> list[float]:
    """Publish -> the S2 speaker reports the clip ACTIVE, one announcement at a time."""
    samples = []
    for number in range(rounds):
        before = len(remote.state()["clips"])
        request_id = f"{CLIP_SPEAKER}-{number}-{time.monotonic()}"
        started = time.monotonic()
        probe.publish(
            f"sonos/tts/{CLIP_SPEAKER}", json.dumps({"text": WARM_TEXT, "id": request_id})
        )
        wait_answered(probe, request_id)

        def ended(state: dict[str, Any], count: int = before) -> bool:
            return len(state["clips"]) > count and state["clips"][-1]["statuses"][-1] == "DONE"

        clip = remote.wait_until(ended)["clips"][-1]
        samples.append((clip["active_at"] - started) * 1000)
    return samples


def music_calls(state: dict[str, Any]) -> int:
    touching = ("SetAVTransportURI", "Play", "Stop", "SetVolume", "SetMute")
    return sum(state["action_counts"].get(action, 0) for action in touching)


def describe(name: str, samples: list[float]) -> str:
    return (
        f"  {name:<40} p50 {statistics.median(samples):7.1f} ms   "
        f"p95 {percentile(samples, 0.95):7.1f} ms   (n={len(samples)})"
    )


@dataclass
class Measured:
    floors: dict[str, list[float]]
    warm: dict[str, list[Round]]
    soap: dict[str, dict[str, float]]
    cold: list[Round]
    burst: dict[str, Any]
    snapshot_ms: list[float]
    clip: ClipLatency


def run(rounds: int, clip_ms: float, work: Path) -> Measured:
    broker = MosquittoBroker(work / "broker")
    broker.start()
    names = [*SPEAKERS, CLIP_SPEAKER]
    ips = dict(zip(names, free_speaker_addresses(len(names), (SONOS_PORT, S2_PORT)), strict=True))
    state_dir = work / "bridge"
    # Warm the bridge's cache before it starts: it indexes what it finds.
    synthesizer = Synthesizer([EspeakEngine(timeout=10)], ClipCache(state_dir / "tts-cache", 10**9))
    floor_clip = synthesizer.speak("Floor measurement", "en")
    speed = clip_ms / 1000 / synthesizer.speak(WARM_TEXT, "en").duration
    keys = [synthesizer.speak(f"Announcement number {n}", "en").key for n in range(BURST)]
    fakes, remotes = start_fake_speakers(
        ips,
        speed,
        two_writes=tuple(n for n, (kind, _) in SPEAKERS.items() if "two" in kind),
        block_events=tuple(n for n, (_, events) in SPEAKERS.items() if not events),
        s2=(CLIP_SPEAKER,),
    )
    http_port = free_port()
    bridge = start_bridge_process(broker, state_dir, list(ips.values()), HTTP_PORT=str(http_port))
    probe: Probe | None = None
    try:
        wait_subscribed(broker)
        probe = Probe(broker)
        probe.subscribe("sonos/result")
        url = f"http://127.0.0.1:{http_port}/tts/{floor_clip.file_name}"
        floors, warm, soap = {}, {}, {}
        for name in SPEAKERS:
            remote = remotes[name]
            floors[name] = floor(remote, url, rounds)
            warm[name] = through_bridge(probe, name, remote, [WARM_TEXT] * rounds, speed)
            soap[name] = soap_round_trips(remote.ip)
        cold_texts = [f"Cold message {n} at {time.time():.0f}" for n in range(rounds)]
        cold = through_bridge(probe, "Kitchen", remotes["Kitchen"], cold_texts, speed)
        outcome = burst(probe, remotes["Kitchen"], keys)
        den = remotes[CLIP_SPEAKER]
        through = clips_through_bridge(probe, den, rounds)
        first, warm_clip = clip_floor(den.ip, url, floor_clip.duration, rounds)
        clip = ClipLatency(first, warm_clip, through, music_calls(den.state()))
    finally:
        if probe is not None:
            probe.close()
        bridge.terminate()
        bridge.wait(15)
        fakes.terminate()
        fakes.wait(15)
        broker.kill()
    snapshot_ms = snapshot_write_ms(work / "snap", rounds)
    return Measured(floors, warm, soap, cold, outcome, snapshot_ms, clip)


def report(measured: Measured) -> None:
    print("Publish -> the speaker's first audio request (real broker, real SoCo, fake speakers)")
    for name, (kind, _events) in SPEAKERS.items():
        floor_ms, warm = measured.floors[name], [r.latency_ms for r in measured.warm[name]]
        ratio = statistics.median(warm) / statistics.median(floor_ms)
        print(f" {name} ({kind}):")
        print(describe("floor: bare SoCo play_uri", floor_ms))
        print(describe("warm cache", warm))
        print(f"  warm p50 = {ratio:.1f}x floor (goal <= 2x): {'met' if ratio <= 2 else 'MISSED'}")
    print(describe(" cold cache (espeak-ng), Kitchen", [r.latency_ms for r in measured.cold]))
    print("Publish -> restore complete (the music's Play), warm cache")
    for name, (kind, events) in SPEAKERS.items():
        rounds = measured.warm[name]
        clip = statistics.median(r.clip_ms for r in rounds)
        print(f" {name} ({kind}), clip plays {clip:.0f} ms:")
        print(describe("request -> restore complete", [r.restored_ms for r in rounds]))
        lag = [r.lag_ms for r in rounds]
        verdict = "met" if percentile(lag, 0.95) <= 100 else "MISSED"
        goal = f"p95 <= 100 ms: {verdict}" if events else "polling fallback"
        print(describe("clip end -> restore complete", lag) + f"   {goal}")
    print("One SOAP call (GetTransportInfo), p50:")
    for technique in measured.soap["Kitchen"]:
        cells = "   ".join(
            f"{SPEAKERS[n][0]} {measured.soap[n][technique]:5.2f} ms" for n in ("Kitchen", "Office")
        )
        print(f"  {technique:<40} {cells}")
    print(describe("Snapshot write (write, rename, fsync)", measured.snapshot_ms))
    report_clips(measured)
    outcome = measured.burst
    print(
        f"{BURST} announcements at once to one speaker: {outcome['played']} played, "
        f"in order: {outcome['in_order']}, snapshots: {outcome['snapshots']}, "
        f"restores: {outcome['restores']}, {outcome['seconds']:.1f} s"
    )


def report_clips(measured: Measured) -> None:
    clip = measured.clip
    print(f"Clip mode, {CLIP_SPEAKER} (S2: TLS WebSocket on 1443, fetches the clip): -> ACTIVE")
    print(describe("floor: clip client, new connection", clip.first_ms))
    print(describe("floor: clip client, kept connection", clip.warm_ms))
    print(describe("publish -> ACTIVE through the bridge", clip.bridge_ms))
    ratio = statistics.median(clip.bridge_ms) / statistics.median(clip.warm_ms)
    print(f"  through the bridge p50 = {ratio:.1f}x the kept-connection floor")
    print(f"  transport/volume calls to {CLIP_SPEAKER}: {clip.music_touched} (music left alone)")
    takeover = statistics.median(r.latency_ms for r in measured.warm["Kitchen"])
    soco = statistics.median(measured.floors["Kitchen"])
    print(
        "Side by side, p50 warm cache: "
        f"takeover publish -> fetch {takeover:.1f} ms (bare SoCo floor {soco:.1f} ms); "
        f"clip publish -> ACTIVE {statistics.median(clip.bridge_ms):.1f} ms "
        f"(clip client floor {statistics.median(clip.warm_ms):.1f} ms)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="Sonos bridge latency bench")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--clip-ms", type=float, default=63.0, help="how long the clip plays")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sonos-bench-") as workdir:
        report(run(options.rounds, options.clip_ms, Path(workdir)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
