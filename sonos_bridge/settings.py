"""The bridge's settings: the MQTT core's plus speakers, speech, audio server and cache.

Everything is read once at start; a bad value stops the service with one line naming
the variable (through `load_settings_or_exit`), never later in the middle of a request.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator

from mqtt_service.config import MqttSettings

KNOWN_ENGINES = ("gtts", "espeak")


class SonosSettings(MqttSettings):
    """Environment variables of the Sonos bridge (documented in docs/sonos.md)."""

    sonos_base_topic: str = Field(default="sonos", min_length=1)
    # Comma-separated addresses; empty means SSDP discovery.
    sonos_hosts: str = ""
    sonos_discovery_interface: str | None = None
    sonos_default_speaker: str | None = None
    sonos_default_volume: int | None = Field(default=None, ge=0, le=100)
    sonos_refresh_interval: float = Field(default=300.0, ge=5, le=86400)
    sonos_timeout: float = Field(default=5.0, gt=0, le=120)
    # How long the clip may overrun its length before the bridge stops waiting.
    sonos_play_margin: float = Field(default=10.0, ge=0, le=600)
    # How often the end of a clip is polled (GetTransportInfo) while it plays.
    sonos_poll_interval: float = Field(default=0.25, ge=0.005, le=5)
    sonos_events: bool = Field(
        default=True,
        description="Subscribe to each speaker's UPnP transport events to notice the end of "
        "an announcement at once (the music comes back within tens of milliseconds); the "
        "speakers must be able to connect to the bridge on SONOS_EVENT_PORT. Without events "
        "the bridge polls every SONOS_POLL_INTERVAL.",
    )
    sonos_event_port: int = Field(
        default=1400,
        ge=1,
        le=65535,
        description="TCP port on which the bridge receives the speakers' events (the next "
        "free port up to 100 higher if it is taken); open it to the speakers in a firewall. "
        "The bridge listens on ADVERTISE_HOST, or on the address that routes to the speakers.",
    )
    tts_engines: str = "gtts,espeak"
    tts_lang: str = Field(default="en", min_length=1)
    tts_timeout: float = Field(default=10.0, gt=0, le=120)
    tts_max_chars: int = Field(default=1000, ge=1, le=100_000)
    http_port: int = Field(default=8095, ge=0, le=65535)
    http_bind: str = "0.0.0.0"
    advertise_host: str | None = None
    cache_dir: Path | None = None
    cache_max_mb: float = Field(default=200.0, gt=0)

    @field_validator("tts_engines")
    @classmethod
    def _known_engines(cls, value: str) -> str:
        names = [name.strip().lower() for name in value.split(",") if name.strip()]
        if not names:
            raise ValueError("name at least one engine (gtts, espeak)")
        unknown = [name for name in names if name not in KNOWN_ENGINES]
        if unknown:
            raise ValueError(f"unknown engine {unknown[0]!r}; choose from gtts, espeak")
        return ",".join(names)

    @field_validator("sonos_base_topic")
    @classmethod
    def _plain_topic(cls, value: str) -> str:
        if any(char in value for char in "#+") or value.endswith("/"):
            raise ValueError("must be a plain topic without wildcards or trailing slash")
        return value

    @model_validator(mode="after")
    def _default_cache_dir(self) -> SonosSettings:
        if self.cache_dir is None:
            self.cache_dir = self.state_dir / "tts-cache"
        return self

    @property
    def engine_names(self) -> list[str]:
        return self.tts_engines.split(",")

    @property
    def hosts(self) -> list[str]:
        return [host.strip() for host in self.sonos_hosts.split(",") if host.strip()]

    @property
    def cache_path(self) -> Path:
        return self.cache_dir if self.cache_dir is not None else self.state_dir / "tts-cache"

    @property
    def cache_max_bytes(self) -> int:
        return int(self.cache_max_mb * 1024 * 1024)
