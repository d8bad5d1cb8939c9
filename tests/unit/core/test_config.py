"""Settings from the environment: defaults, spellings people use, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from mqtt_service.config import MqttSettings, load_settings
from mqtt_service.errors import ConfigError


def test_defaults_match_the_documented_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MQTT_HOST", "MQTT_PORT", "MQTT_PROTOCOL", "STATE_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(MqttSettings)
    assert (settings.mqtt_host, settings.mqtt_port, settings.mqtt_protocol) == (
        "localhost",
        1883,
        5,
    )
    assert settings.mqtt_session_expiry == 86400
    assert str(settings.state_dir) == "/data"


@pytest.mark.parametrize(("given", "expected"), [("5", 5), ("v5", 5), ("3.1.1", 311), ("311", 311)])
def test_protocol_spellings(monkeypatch: pytest.MonkeyPatch, given: str, expected: int) -> None:
    monkeypatch.setenv("MQTT_PROTOCOL", given)
    assert load_settings(MqttSettings).mqtt_protocol == expected


def test_empty_variables_mean_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MQTT_PORT", "")
    monkeypatch.setenv("MQTT_USERNAME", "")
    settings = load_settings(MqttSettings)
    assert settings.mqtt_port == 1883
    assert settings.mqtt_username is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [("MQTT_PORT", "abc"), ("MQTT_PORT", "70000"), ("MQTT_PROTOCOL", "4"), ("LOG_LEVEL", "LOUD")],
)
def test_invalid_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        load_settings(MqttSettings)
    message = str(raised.value)
    assert variable in message
    assert value in message
    assert "\n" not in message


def test_passwords_never_appear_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MQTT_PORT", "nope")
    monkeypatch.setenv("MQTT_PASSWORD", "hunter2")
    with pytest.raises(ConfigError) as raised:
        load_settings(MqttSettings)
    assert "hunter2" not in str(raised.value)


def test_password_file_gives_the_password(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("generated-by-the-broker\n")
    monkeypatch.delenv("MQTT_PASSWORD", raising=False)
    monkeypatch.setenv("MQTT_PASSWORD_FILE", str(secret))
    password = load_settings(MqttSettings).mqtt_password
    assert password is not None
    assert password.get_secret_value() == "generated-by-the-broker"


def test_mqtt_password_wins_over_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MQTT_PASSWORD", "from-dot-env")
    monkeypatch.setenv("MQTT_PASSWORD_FILE", str(tmp_path / "not-there"))
    password = load_settings(MqttSettings).mqtt_password
    assert password is not None
    assert password.get_secret_value() == "from-dot-env"


@pytest.mark.parametrize("content", [None, "\n"])
def test_an_unreadable_or_empty_password_file_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: str | None
) -> None:
    secret = tmp_path / "password"
    if content is not None:
        secret.write_text(content)
    monkeypatch.delenv("MQTT_PASSWORD", raising=False)
    monkeypatch.setenv("MQTT_PASSWORD_FILE", str(secret))
    with pytest.raises(ConfigError) as raised:
        load_settings(MqttSettings)
    message = str(raised.value)
    assert message.startswith(f"invalid configuration: MQTT_PASSWORD_FILE={secret}: ")
    assert "Value error" not in message
