"""Clip-mode latency: the bridge's clip client asks, the speaker reports ACTIVE.

Measures, against a fake S2 speaker in its own process (TLS WebSocket on port 1443,
fetching and decoding the clip from the bridge's real audio server):
- first clip: a new connection (TLS, household id, getGroups, subscribe) then the clip;
- warm clip: the kept connection, loadAudioClip -> ACTIVE.
`clip_latency()` is the piece `bench/sonos_bench.py` will call next to the takeover and
bare-SoCo numbers once clip mode is wired into playback.

    python bench/clip_bench.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.sonos_bench import describe  # noqa: E402
from sonos_bridge.audio_server import AudioServer  # noqa: E402
from sonos_bridge.clip.player import ClipOptions, ClipPlayer, ClipRequest  # noqa: E402
from sonos_bridge.tts.cache import ClipCache  # noqa: E402
from tests.support.audio import write_mp3  # noqa: E402


@dataclass(frozen=True, slots=True)
class ClipLatency:
    first_ms: list[float]  # new connection + probe + clip, to ACTIVE
    warm_ms: list[float]  # kept connection, to ACTIVE


def clip_latency(ip: str, url: str, duration: float, rounds: int) -> ClipLatency:
    """Request -> ACTIVE against the S2 endpoint at `ip` playing `url`."""
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
    return ClipLatency(first, warm)


def start_fake(workdir: Path, speed: float) -> tuple[subprocess.Popen[str], str]:
    fake = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.s2", "--cert-dir", str(workdir), "--speed", str(speed)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert fake.stdout is not None
    line = fake.stdout.readline()
    if not line:
        raise SystemExit("the fake S2 speaker did not start")
    return fake, str(json.loads(line)["ip"])


def main() -> int:
    parser = argparse.ArgumentParser(description="Clip-mode latency bench")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--speed", type=float, default=0.02, help="fake playback time factor")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clip-bench-") as workdir:
        work = Path(workdir)
        cache = ClipCache(work / "cache", 10**8)
        clip = cache.store("bench", "en", "tone", lambda target: write_mp3(target, 1.0))
        server = AudioServer(cache, "127.0.0.1", 0, None)
        server.start()
        fake, ip = start_fake(work, options.speed)
        try:
            latency = clip_latency(ip, server.url_for(clip, ip), clip.duration, options.rounds)
        finally:
            fake.terminate()
            fake.wait(15)
            server.stop()
    print("Clip mode: request -> ACTIVE (real TLS WebSocket, fake S2 speaker fetching the clip)")
    print(describe("first clip (connect+probe)", latency.first_ms))
    print(describe("warm clip (kept connection)", latency.warm_ms))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
