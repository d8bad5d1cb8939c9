"""House-rule settings: read once at start, and one line naming the variable when bad."""

from __future__ import annotations

import pytest

from mqtt_service.config import load_settings
from mqtt_service.errors import ConfigError
from sonos_bridge.request.quiet_hours import TimeRange
from sonos_bridge.settings import SonosSettings


def test_defaults_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TZ", raising=False)
    settings = load_settings(SonosSettings)
    rules = settings.house_rules()
    assert settings.sonos_quiet_hours == ()
    assert rules.quiet_hours is not None and not rules.quiet_hours.ranges
    assert rules.max_volume is None and not rules.room_max_volume and not rules.room_volume
    assert rules.quiet_policy == "cap" and rules.dnd_policy == "hold"


def test_rules_are_read_and_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", ":Europe/Berlin")
    monkeypatch.setenv("SONOS_QUIET_HOURS", "22:00-07:00,13:00-14:30")
    monkeypatch.setenv("SONOS_QUIET_VOLUME", "15")
    monkeypatch.setenv("SONOS_QUIET_POLICY", "hold")
    monkeypatch.setenv("SONOS_MAX_VOLUME", "70")
    monkeypatch.setenv("SONOS_MAX_VOLUME_PER_ROOM", "Kitchen=60,Bedroom=30")
    monkeypatch.setenv("SONOS_DEFAULT_VOLUME_PER_ROOM", "Bedroom=12")
    monkeypatch.setenv("SONOS_DND_POLICY", "drop")
    settings = load_settings(SonosSettings)
    assert settings.sonos_quiet_hours == (TimeRange(1320, 420), TimeRange(780, 870))
    assert settings.sonos_max_volume_per_room == {"Kitchen": 60, "Bedroom": 30}
    assert settings.rule_rooms == {
        "SONOS_MAX_VOLUME_PER_ROOM": ["Kitchen", "Bedroom"],
        "SONOS_DEFAULT_VOLUME_PER_ROOM": ["Bedroom"],
    }
    rules = settings.house_rules()
    assert str(rules.quiet_hours) == "22:00-07:00,13:00-14:30"
    assert str(settings.zone) == "Europe/Berlin"
    assert (rules.quiet_volume, rules.quiet_policy, rules.dnd_policy) == (15, "hold", "drop")
    assert rules.room_volume == {"Bedroom": 12} and rules.max_volume == 70


def test_tz_names_the_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    assert str(load_settings(SonosSettings).zone) == "UTC"


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("SONOS_QUIET_HOURS", "22:00", "range like 22:00-07:00"),
        ("SONOS_QUIET_HOURS", "22:00-31:00", "time of day"),
        ("SONOS_QUIET_VOLUME", "101", "less than or equal to 100"),
        ("SONOS_MAX_VOLUME", "150", "less than or equal to 100"),
        ("SONOS_MAX_VOLUME_PER_ROOM", "Kitchen=120", "0 to 100"),
        ("SONOS_DEFAULT_VOLUME_PER_ROOM", "Kitchen:40", "ROOM=VOLUME"),
        ("SONOS_QUIET_POLICY", "mute", "cap"),
        ("SONOS_DND_POLICY", "cap", "hold"),
        ("TZ", "Mars/Olympus_Mons", "time zone"),
    ],
)
def test_bad_rule_stops_the_bridge_with_one_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, says: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=f"{variable}=.*{says}") as caught:
        load_settings(SonosSettings)
    assert "\n" not in str(caught.value)
