"""Speech engines: cold latency of Piper and espeak-ng, their memory, and the online hedge.

For each engine, a fresh process (so its memory is its own) synthesizes a short and a long
sentence into an empty cache: the first call pays what a bridge pays after a start (for
Piper, importing onnxruntime and loading the voice); the next calls are uncached texts
with the engine ready, the cost of every new announcement (and its real-time factor:
seconds of work per second of audio). RSS is read before and after.

Then the hedge: Google's endpoint is a local fake that accepts the connection and never
answers; the time until an announcement has a clip is measured for the first request
(waits TTS_ONLINE_DEADLINE, then espeak-ng speaks) and for the next ones (Google is
overdue: not waited for). Without the hedge each would wait TTS_TIMEOUT.

    python bench/tts_bench.py [--rounds 5]
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

import pytest

from sonos_bridge.audio.clip_cache import ClipCache
from sonos_bridge.audio.speech.engines import Engine, EspeakEngine, GttsEngine, build_engines
from sonos_bridge.audio.speech.synthesizer import Synthesizer
from testkit.fakes.google_tts import running_google

ROOT = Path(__file__).resolve().parents[1]

SHORT = "Dinner is ready"
LONG = (
    "The washing machine has finished and the laundry is ready to be hung up, "
    "so please take it out before you go to bed."
)

TTS_TIMEOUT = 10.0
DEADLINE = 1.5


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure_engine(name: str, rounds: int) -> dict[str, object]:
    """In this (fresh) process: first and warm uncached latency of `name`, and RSS."""
    before = rss_mb()
    engines = build_engines([name], TTS_TIMEOUT)
    with tempfile.TemporaryDirectory() as directory:
        synth = Synthesizer(engines, ClipCache(Path(directory), 10**9))
        report: dict[str, object] = {"engine": name, "rss_start": before}
        started = time.monotonic()
        synth.speak("Ready", "en")  # what the first announcement after a start pays
        report["first_ms"] = (time.monotonic() - started) * 1000
        for label, text in (("short", SHORT), ("long", LONG)):
            spent, audio = [], 0.0
            for number in range(rounds):
                started = time.monotonic()
                audio = synth.speak(f"{text} {number}", "en").duration
                spent.append((time.monotonic() - started) * 1000)
            report[f"{label}_ms"] = statistics.median(spent)
            report[f"{label}_rtf"] = statistics.median(spent) / 1000 / audio
        report["rss_end"] = rss_mb()
        synth.close()
    return report


def measure_hedge(rounds: int) -> list[float]:
    """Milliseconds until each announcement had a clip while Google hangs."""
    recorded = Path(tempfile.mkdtemp()) / "google.mp3"
    EspeakEngine(TTS_TIMEOUT).synthesize(SHORT, "en", recorded)
    with (
        pytest.MonkeyPatch.context() as patch,
        running_google(patch, recorded.read_bytes()) as google,
        tempfile.TemporaryDirectory() as directory,
    ):
        google.mode = "hang"
        engines: list[Engine] = [GttsEngine(TTS_TIMEOUT), EspeakEngine(TTS_TIMEOUT)]
        synth = Synthesizer(engines, ClipCache(Path(directory), 10**9), online_deadline=DEADLINE)
        times = []
        for number in range(rounds):
            started = time.monotonic()
            synth.speak(f"Hedged announcement {number}", "en")
            times.append((time.monotonic() - started) * 1000)
        google.answer_held()
        synth.close(wait=True)
    return times


def child(engine: str, rounds: int) -> dict[str, object]:
    output = subprocess.run(
        [sys.executable, __file__, "--child", engine, "--rounds", str(rounds)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    result: dict[str, object] = json.loads(output.splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure_engine(args.child, args.rounds)))
        return
    print("== latency per engine to a cached MP3 (uncached texts, median), fresh process each")
    print("engine  first call   short (rtf)        long (rtf)        RSS start -> end")
    for engine in ("espeak", "piper"):
        r = child(engine, args.rounds)
        print(
            f"{engine:7} {r['first_ms']:7.0f} ms  {r['short_ms']:6.0f} ms ({r['short_rtf']:.2f})"
            f"  {r['long_ms']:6.0f} ms ({r['long_rtf']:.2f})"
            f"  {r['rss_start']:6.1f} -> {r['rss_end']:.1f} MB"
        )
    times = measure_hedge(args.rounds)
    print(f"== Google hanging (TTS_TIMEOUT={TTS_TIMEOUT:g} s, TTS_ONLINE_DEADLINE={DEADLINE:g} s)")
    print(f"first announcement: {times[0]:.0f} ms to a clip (espeak-ng after the deadline)")
    later = statistics.median(times[1:])
    print(f"next {len(times) - 1}: median {later:.0f} ms (Google overdue: not waited for)")
    print(f"without the hedge each would have waited {TTS_TIMEOUT * 1000:.0f} ms first")


if __name__ == "__main__":
    main()
