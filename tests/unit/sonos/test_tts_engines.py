"""The engine chain against a local Google endpoint and the real espeak-ng."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sonos_bridge.audio.clip_cache import ClipCache
from sonos_bridge.audio.info import mp3_duration
from sonos_bridge.audio.speech.engines import EspeakEngine, GttsEngine
from sonos_bridge.audio.speech.synthesizer import Synthesizer
from sonos_bridge.errors import EngineError, SpeechError, UnknownLanguageError
from testkit.fakes.google_tts import FakeGoogle


def cached_files(cache: ClipCache) -> list[str]:
    return sorted(p.name for p in cache.directory.iterdir())


def test_gtts_success_is_cached_and_served_from_cache(cache: ClipCache, google: FakeGoogle) -> None:
    synth = Synthesizer([GttsEngine(timeout=2)], cache)
    clip = synth.speak("Dinner is ready", "en")
    assert clip.path.read_bytes() == google.audio
    assert clip.duration > 0
    assert synth.speak("Dinner is ready", "en") == clip
    assert google.requests == 1


@pytest.mark.parametrize("mode", ["429", "500", "empty"])
def test_gtts_failure_falls_back_to_espeak_and_caches_nothing_empty(
    cache: ClipCache, google: FakeGoogle, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    google.mode = mode
    synth = Synthesizer([GttsEngine(timeout=2), EspeakEngine(timeout=5)], cache)
    with caplog.at_level(logging.WARNING):
        clip = synth.speak("Dinner is ready", "en")
        synth.speak("Second text", "en")
    assert clip.duration > 0
    assert all(name.endswith(".mp3") for name in cached_files(cache))
    assert len(cached_files(cache)) == 2  # two espeak clips, no gTTS file
    warnings = [r.getMessage() for r in caplog.records if "gtts failed" in r.getMessage()]
    assert len(warnings) == 1  # logged once; the engine rests afterwards
    assert google.requests == 1


def test_gtts_timeout_is_an_engine_error(cache: ClipCache, google: FakeGoogle) -> None:
    google.mode = "slow"
    engine = GttsEngine(timeout=0.3)
    with pytest.raises(EngineError, match="Google TTS failed"):
        cache.store("gtts", "en", "Hello", lambda target: engine.synthesize("Hello", "en", target))
    assert cached_files(cache) == []


def test_espeak_is_real_and_produces_mp3(cache: ClipCache) -> None:
    synth = Synthesizer([EspeakEngine(timeout=5)], cache)
    clip = synth.speak("Bonjour tout le monde", "fr")
    assert clip.size > 0 and clip.duration > 0.5


def test_espeak_reads_text_from_stdin_and_writes_a_whole_clip(tmp_path: Path) -> None:
    target = tmp_path / "clip.mp3"
    # A leading "-" would be an option on a command line; a long text fills any pipe.
    EspeakEngine(timeout=10).synthesize("-v fr " + "Dinner is ready. " * 60, "en", target)
    assert mp3_duration(target) > 20


@pytest.mark.parametrize(
    ("espeak", "lame", "voice", "reason"),
    [
        ("espeak-ng", "/nonexistent/lame", "en", "cannot run /nonexistent/lame"),
        ("/nonexistent/espeak-ng", "lame", "en", "cannot run /nonexistent/espeak-ng"),
        ("espeak-ng", "false", "en", "lame could not encode MP3"),
        ("espeak-ng", "lame", "zz-none", "espeak-ng failed: .*voice does not exist"),
    ],
)
def test_espeak_failures_name_the_tool_and_leave_no_file(
    tmp_path: Path, espeak: str, lame: str, voice: str, reason: str
) -> None:
    target = tmp_path / "clip.mp3"
    with pytest.raises(EngineError, match=reason):
        EspeakEngine(timeout=5, espeak=espeak, lame=lame).synthesize("Hello", voice, target)
    assert not target.exists()


def test_espeak_timeout_is_an_engine_error(tmp_path: Path) -> None:
    target = tmp_path / "clip.mp3"
    engine = EspeakEngine(timeout=5)
    engine.timeout = 0.05
    with pytest.raises(EngineError, match=r"espeak-ng/lame took longer than 0\.05 s"):
        engine.synthesize("Too long to say in time. " * 400, "en", target)
    assert not target.exists()


def test_every_engine_failing_names_each_reason(cache: ClipCache, google: FakeGoogle) -> None:
    google.mode = "429"
    espeak = EspeakEngine(timeout=5, lame="/nonexistent/lame")
    synth = Synthesizer([GttsEngine(timeout=2), espeak], cache)
    with pytest.raises(SpeechError) as failure:
        synth.speak("Hello", "en")
    assert "gtts:" in str(failure.value) and "espeak:" in str(failure.value)
    assert cached_files(cache) == []


def test_unknown_language(cache: ClipCache) -> None:
    synth = Synthesizer([EspeakEngine(timeout=5)], cache)
    with pytest.raises(UnknownLanguageError):
        synth.speak("Hello", "tlh")


def test_concurrent_requests_for_one_text_share_one_synthesis(
    cache: ClipCache, google: FakeGoogle
) -> None:
    synth = Synthesizer([GttsEngine(timeout=2)], cache)
    futures = [synth.submit("Shared", "en") for _ in range(5)]
    clips = {future.result(10) for future in futures}
    assert len(clips) == 1
    assert google.requests == 1
    synth.close()
