"""Settings shared by every service, read from the environment with pydantic-settings.

An invalid value must stop the service at start with one line that names the variable:
a typo in `.env` should never surface later as a confusing connection failure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mqtt_service.errors import ConfigError

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class MqttSettings(BaseSettings):
    """Connection, identity and Home Assistant settings common to all services."""

    # Empty variables (as Compose passes `${VAR:-}`) mean "use the default".
    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore")

    mqtt_host: str = "localhost"
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    mqtt_tls: bool = False
    mqtt_ca_file: Path | None = None
    mqtt_client_id: str | None = Field(default=None, min_length=1, max_length=128)
    mqtt_keepalive: int = Field(default=60, ge=5, le=65535)
    mqtt_session_expiry: int = Field(default=86400, ge=0, le=0xFFFFFFFF)
    mqtt_protocol: Literal[5, 311] = 5
    mqtt_reconnect_min_delay: int = Field(default=1, ge=1, le=3600)
    mqtt_reconnect_max_delay: int = Field(default=60, ge=1, le=3600)
    state_dir: Path = Path("/data")
    log_level: LogLevel = "INFO"
    ha_discovery: bool = True
    ha_discovery_prefix: str = Field(default="homeassistant", min_length=1)
    health_interval: float = Field(default=10.0, gt=0, le=3600)
    health_restart_after: int = Field(
        default=6,
        ge=0,
        le=10_000,
        description="Consecutive failed health checks (one every HEALTH_INTERVAL seconds) "
        "after which a service that reports itself unhealthy (a stuck speaker queue, a dead "
        "worker) exits with status 3, so Docker's restart policy starts it afresh; 0 never "
        "exits. A lost broker connection does not count: paho reconnects by itself.",
    )
    mqtt_receive_maximum: int = Field(
        default=1000,
        ge=1,
        le=65535,
        description="MQTT v5 Receive Maximum: how many received QoS 1 messages may wait "
        "unacknowledged. A request is acknowledged only once it is answered, in arrival "
        "order, so a long announcement holds back the acknowledgements of requests that "
        "came after it; this must exceed what can arrive meanwhile, or the broker stops "
        "delivering (on MQTT 3.1.1 the broker's max_inflight_messages decides).",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("mqtt_protocol", mode="before")
    @classmethod
    def _protocol_aliases(cls, value: object) -> object:
        """Accept the spellings people actually write (`5`, `v5`, `3.1.1`, `311`)."""
        if isinstance(value, str):
            normalised = value.strip().lower().removeprefix("v").replace(".", "")
            if normalised in {"5", "50"}:
                return 5
            if normalised == "311":
                return 311
        return value


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def _describe_error(error: dict[str, object]) -> str:
    location = error.get("loc") or ()
    field_name = str(location[0]) if isinstance(location, tuple) and location else "?"
    variable = field_name.upper()
    message = str(error.get("msg", "invalid value"))
    given = error.get("input")
    if isinstance(given, str | int | float) and "password" not in field_name:
        return f"{variable}={given!r}: {message}"
    return f"{variable}: {message}"


def load_settings(settings_type: type[SettingsT]) -> SettingsT:
    """Read `settings_type` from the environment or raise one readable ConfigError."""
    try:
        return settings_type()
    except ValidationError as exc:
        problems = "; ".join(_describe_error(dict(error)) for error in exc.errors())
        raise ConfigError(f"invalid configuration: {problems}") from None
