"""Settings shared by every service, read from the environment with pydantic-settings.

An invalid value must stop the service at start with one line that names the variable:
a typo in `.env` should never surface later as a confusing connection failure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mqtt_service.errors import ConfigError
from mqtt_service.health import DEFAULT_INTERVAL

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def read_password_file(path: Path) -> str:
    """The first line of `path`; a missing, unreadable or empty file is a ValueError."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValueError(f"MQTT_PASSWORD_FILE={path}: cannot read it ({reason})") from None
    if not lines or not lines[0]:
        raise ValueError(f"MQTT_PASSWORD_FILE={path}: the file is empty")
    return lines[0]


class MqttSettings(BaseSettings):
    """Connection, identity and Home Assistant settings common to all services."""

    # Empty variables (as Compose passes `${VAR:-}`) mean "use the default".
    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore")

    mqtt_host: str = Field(
        default="localhost",
        description="Host name or address of the MQTT broker.",
    )
    mqtt_port: int = Field(
        default=1883,
        ge=1,
        le=65535,
        description="Port of the MQTT broker (8883 is usual with TLS).",
    )
    mqtt_username: str | None = Field(
        default=None, description="The service's user on the broker; empty: connect anonymously."
    )
    mqtt_password: SecretStr | None = Field(
        default=None,
        description="The service's password on the broker. Wins over MQTT_PASSWORD_FILE.",
    )
    mqtt_password_file: Path | None = Field(
        default=None,
        description=(
            "A file holding the password (one line), read at start when MQTT_PASSWORD is "
            "empty. Compose mounts the one the broker generated for this service here."
        ),
    )
    mqtt_tls: bool = Field(
        default=False,
        description="Connect with TLS, checking the broker's certificate against MQTT_CA_FILE.",
    )
    mqtt_ca_file: Path | None = Field(
        default=None,
        description=(
            "CA certificate bundle (PEM) for MQTT_TLS; empty: the system's certificate authorities."
        ),
    )
    mqtt_client_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description=(
            "Fixed MQTT client ID. Leave it empty: `<service>-<8 hex>` is generated once and "
            "kept in STATE_DIR, so the persistent session survives restarts."
        ),
    )
    mqtt_keepalive: int = Field(
        default=60, ge=5, le=65535, description="Seconds between keep-alive pings."
    )
    mqtt_session_expiry: int = Field(
        default=86400,
        ge=0,
        le=0xFFFFFFFF,
        description=(
            "Seconds the broker keeps the service's session, and queues its requests, while "
            "the service is away."
        ),
    )
    mqtt_protocol: Literal[5, 311] = Field(
        default=5, description="MQTT version: 5, or 311 (3.1.1) for old brokers."
    )
    mqtt_reconnect_min_delay: int = Field(
        default=1, ge=1, le=3600, description="Shortest wait before reconnecting, seconds."
    )
    mqtt_reconnect_max_delay: int = Field(
        default=60,
        ge=1,
        le=3600,
        description="Longest wait between reconnect attempts, seconds (the wait doubles up to it).",
    )
    state_dir: Path = Field(
        default=Path("/data"),
        description="Where the client ID, heartbeat and caches are kept (a volume in Compose).",
    )
    log_level: LogLevel = Field(
        default="INFO", description="DEBUG, INFO, WARNING, ERROR or CRITICAL."
    )
    ha_discovery: bool = Field(
        default=True,
        description="Announce the service's entities to Home Assistant (MQTT discovery).",
    )
    ha_discovery_prefix: str = Field(
        default="homeassistant",
        min_length=1,
        description="Home Assistant's discovery prefix (as set in its MQTT integration).",
    )
    ha_birth_topic: str = Field(
        default="homeassistant/status",
        min_length=1,
        pattern=r"^[^+#]+$",
        description=(
            "Topic of Home Assistant's birth message (its MQTT integration's \"Birth message\" "
            "option): on `online` there, discovery and states are sent again. Independent of "
            "HA_DISCOVERY_PREFIX, as in Home Assistant; with the stack's broker, change the "
            "services' `homeassistant/status` lines in mosquitto/config/acl too."
        ),
    )
    health_interval: float = Field(
        default=DEFAULT_INTERVAL,
        gt=0,
        le=3600,
        description=(
            "Seconds between heartbeats; the service counts as unhealthy after three missed beats."
        ),
    )
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

    @model_validator(mode="after")
    def _password_from_file(self) -> MqttSettings:
        """MQTT_PASSWORD wins; otherwise the file, so no secret has to sit in `.env`."""
        if self.mqtt_password is None and self.mqtt_password_file is not None:
            self.mqtt_password = SecretStr(read_password_file(self.mqtt_password_file))
        return self

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
    if not location:  # a model validator's own message names its variable
        context = error.get("ctx")
        if isinstance(context, dict) and "error" in context:
            return str(context["error"])
        return str(error.get("msg", "invalid value"))
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
