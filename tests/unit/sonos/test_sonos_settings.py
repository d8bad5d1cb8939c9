"""Settings: defaults, derived values, and one readable line for a bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from mqtt_service.config import load_settings
from mqtt_service.errors import ConfigError
from sonos_bridge.settings import SonosSettings


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STATE_DIR", str(tmp_path))
    settings = load_settings(SonosSettings)
    assert settings.sonos_base_topic == "sonos"
    assert settings.engine_names == ["piper", "gtts", "espeak"]
    assert settings.http_port == 8095
    assert settings.cache_path == tmp_path / "tts-cache"
    assert settings.hosts == []


def test_hosts_and_engines_are_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SONOS_HOSTS", " 192.168.1.20, 192.168.1.21 ,")
    monkeypatch.setenv("TTS_ENGINES", "ESPEAK , gtts")
    settings = load_settings(SonosSettings)
    assert settings.hosts == ["192.168.1.20", "192.168.1.21"]
    assert settings.engine_names == ["espeak", "gtts"]


def test_piper_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTS_ENGINES", "Piper,espeak")
    monkeypatch.setenv("PIPER_VOICE", " en_US-joe-medium.onnx ")
    monkeypatch.setenv("PIPER_VOICES_DIR", "/voices")
    settings = load_settings(SonosSettings)
    assert settings.engine_names == ["piper", "espeak"]
    assert settings.piper_voice == "en_US-joe-medium"
    assert settings.piper_voices_dir == Path("/voices")
    assert settings.tts_online_deadline == 1.5


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TTS_ENGINES", "polly"),
        ("SONOS_DEFAULT_VOLUME", "150"),
        ("HTTP_PORT", "70000"),
        ("CACHE_MAX_MB", "0"),
        ("SONOS_BASE_TOPIC", "sonos/#"),
        ("TTS_MAX_CHARS", "0"),
        ("TTS_ONLINE_DEADLINE", "-1"),
        ("PIPER_VOICE", "/voices/en_US-joe-medium.onnx"),
    ],
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        load_settings(SonosSettings)
