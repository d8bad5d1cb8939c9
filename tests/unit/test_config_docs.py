"""The configuration's documentation follows the settings' descriptions (`make docs`)."""

from __future__ import annotations

import re

import pytest
from pydantic import Field

from scripts.config_docs import ROOT, DocsError, build_catalog, generate, out_of_date
from scripts.config_docs.catalog import (
    COMPOSE_FILES,
    OWN_BROKER_FILE,
    SERVICES_FILE,
    SETTINGS_DOC,
)
from scripts.config_docs.generate import FIX
from scripts.config_docs.render import check_placements, compose_defaults, environment_keys
from scripts.config_docs.stack import READ_BY_COMPOSE
from sonos_bridge.settings import SonosSettings

GENERATED = [SERVICES_FILE, ".env.example", SETTINGS_DOC]


def compose_texts() -> dict[str, str]:
    return {name: (ROOT / name).read_text(encoding="utf-8") for name in COMPOSE_FILES}


def test_the_generated_files_match_the_settings() -> None:
    stale = out_of_date(ROOT, build_catalog())
    assert stale == [], f"out of date: {', '.join(stale)}: {FIX}"


def test_a_setting_added_without_make_docs_is_caught_everywhere() -> None:
    class WithPitch(SonosSettings):
        tts_pitch: str = Field(default="", description="The pitch to speak with.")

    catalog = build_catalog(sonos=WithPitch)
    assert out_of_date(ROOT, catalog) == GENERATED
    files = generate(ROOT, catalog)
    assert "      TTS_PITCH: ${TTS_PITCH:-}\n" in files[SERVICES_FILE]
    assert "# The pitch to speak with.\n#TTS_PITCH=\n" in files[".env.example"]
    assert "| `TTS_PITCH` | empty | The pitch to speak with. |" in files[SETTINGS_DOC]


def test_a_setting_without_a_description_is_refused() -> None:
    class Undescribed(SonosSettings):
        piper_voice: str = ""

    with pytest.raises(DocsError, match=r"piper_voice has no description"):
        build_catalog(sonos=Undescribed)


def test_every_documented_variable_is_read_by_a_compose_file() -> None:
    documented = re.findall(r"^#([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M)
    read = set(compose_defaults(compose_texts().values())) | READ_BY_COMPOSE
    assert documented, "no variable found in .env.example"
    assert sorted(set(documented) - read) == []
    assert sorted(read - set(documented)) == []
    assert len(documented) == len(set(documented)), "a variable is documented twice"


def test_settings_that_were_documented_but_ignored_now_reach_the_services() -> None:
    texts = compose_texts()
    for service in ("sonos_bridge", "idle_reporter"):
        assert "HEALTH_INTERVAL" in environment_keys(texts[SERVICES_FILE], service)
        own_broker = environment_keys(texts[OWN_BROKER_FILE], service)
        assert {"MQTT_TLS", "MQTT_CA_FILE"} <= own_broker


def test_a_variable_no_setting_reads_is_reported() -> None:
    texts = compose_texts()
    texts[OWN_BROKER_FILE] = texts[OWN_BROKER_FILE].replace(
        "      MQTT_TLS: ${MQTT_TLS:-}\n", "      MQTT_TLS_ENABLED: ${MQTT_TLS:-}\n", 1
    )
    problems = check_placements(build_catalog(), texts)
    assert any("gets MQTT_TLS_ENABLED, which none of its settings read" in p for p in problems)
    assert any("sonos_bridge must set MQTT_TLS" in p for p in problems)
