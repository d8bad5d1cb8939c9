"""Settings of audio clips, chimes and sounds: defaults and one readable line per bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from mqtt_service.config import load_settings
from mqtt_service.errors import ConfigError
from sonos_bridge.settings import SonosSettings


def test_defaults_use_clips_where_they_work_and_deny_the_play1_and_play3() -> None:
    settings = load_settings(SonosSettings)
    assert settings.sonos_clip_mode == "auto"
    assert settings.clip_deny_models == ("Play:1", "Play:3")
    assert settings.sounds_dir is None and settings.chime_sound is None
    assert settings.sound_max_bytes == 10 * 1024 * 1024
    assert settings.sound_fetch_timeout == 10.0


def test_values_are_read_and_normalised(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SONOS_CLIP_MODE", "never")
    monkeypatch.setenv("SONOS_CLIP_DENY_MODELS", " Play:1 , Play:3,, ")
    monkeypatch.setenv("SOUNDS_DIR", str(tmp_path))
    monkeypatch.setenv("CHIME_SOUND", "ding-dong")
    settings = load_settings(SonosSettings)
    assert settings.sonos_clip_mode == "never"
    assert settings.clip_deny_models == ("Play:1", "Play:3")
    assert (settings.sounds_dir, settings.chime_sound) == (tmp_path, "ding-dong")


def test_none_allows_every_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SONOS_CLIP_DENY_MODELS", "none")
    assert load_settings(SonosSettings).clip_deny_models == ()


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"SONOS_CLIP_MODE": "sometimes"}, "SONOS_CLIP_MODE='sometimes'"),
        ({"CHIME_SOUND": "bell"}, "CHIME_SOUND='bell': Value error, names a sound in SOUNDS_DIR"),
        ({"CHIME_SOUND": "../bell", "SOUNDS_DIR": "/tmp"}, "CHIME_SOUND='../bell'"),
        ({"SOUND_MAX_MB": "0"}, "SOUND_MAX_MB='0'"),
        ({"SOUND_FETCH_TIMEOUT": "-1"}, "SOUND_FETCH_TIMEOUT='-1'"),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], message: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="invalid configuration") as refused:
        load_settings(SonosSettings)
    assert message in str(refused.value)


def test_every_new_setting_is_described() -> None:
    fields = SonosSettings.model_fields
    for name in ("sonos_clip_mode", "sonos_clip_deny_models", "sounds_dir", "chime_sound",
                 "sound_max_mb", "sound_fetch_timeout"):  # fmt: skip
        assert fields[name].description, name
