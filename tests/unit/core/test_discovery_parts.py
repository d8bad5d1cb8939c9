"""The discovery payload parts both services share."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import metadata

import pytest

from mqtt_service import discovery
from mqtt_service.config import MqttSettings, load_settings
from mqtt_service.errors import ConfigError


@pytest.fixture
def uninstalled(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Running from a source tree where the distribution is not installed."""

    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    discovery.package_version.cache_clear()
    yield
    discovery.package_version.cache_clear()


def test_origin_and_device_carry_the_installed_version() -> None:
    version = metadata.version("mqtt-home-voice")
    assert discovery.origin("sonos_bridge") == {
        "name": "mqtt-home-voice sonos_bridge",
        "sw_version": version,
    }
    assert discovery.device("id", "Kitchen", "Sonos speaker")["sw_version"] == version


@pytest.mark.usefixtures("uninstalled")
def test_an_unknown_version_is_left_out_not_made_up() -> None:
    assert discovery.origin("idle_reporter") == {"name": "mqtt-home-voice idle_reporter"}
    assert "sw_version" not in discovery.device("id", "desk", "Idle reporter")


def test_birth_topic_defaults_to_home_assistants_whatever_the_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HA_DISCOVERY_PREFIX", "custom")
    monkeypatch.delenv("HA_BIRTH_TOPIC", raising=False)
    assert load_settings(MqttSettings).ha_birth_topic == "homeassistant/status"


def test_a_birth_topic_with_wildcards_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HA_BIRTH_TOPIC", "homeassistant/#")
    with pytest.raises(ConfigError, match="HA_BIRTH_TOPIC"):
        load_settings(MqttSettings)
