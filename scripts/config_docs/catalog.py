"""What there is to document: every setting, where Compose passes it, and the sections.

`Catalog` is the whole input of the generator. The default one is built from the real
settings classes; tests build others (a new field, a missing description) to see the
generator and the drift check react.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from idle_reporter.settings import IdleSettings
from mqtt_service.config import MqttSettings
from scripts.config_docs import stack
from sonos_bridge.settings import SonosSettings

ROOT = Path(__file__).resolve().parents[2]
SERVICES_FILE = "docker-compose.services.yml"
STACK_FILE = "docker-compose.yml"
OWN_BROKER_FILE = "docker-compose.own-broker.yml"
COMPOSE_FILES = (STACK_FILE, OWN_BROKER_FILE, SERVICES_FILE)
# The settings tables (one per service, the common ones, Compose's own), between markers.
SETTINGS_DOC = "docs/configuration.md"


class DocsError(Exception):
    """The settings and the Compose files disagree in a way generation cannot fix."""


@dataclass(frozen=True, slots=True)
class Variable:
    """One environment variable as documented: name, default as shown, description."""

    name: str
    default: str | None  # None: no fixed default (the description says what happens)
    description: str


def shown_default(info: FieldInfo) -> str | None:
    """A field's default as a user would type it; None when it has no fixed one."""
    value = info.default
    if value is PydanticUndefined or value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def variables_of(
    model: type[BaseModel], *, exclude: type[BaseModel] | None = None
) -> list[Variable]:
    """The fields of `model` (less those of `exclude`), in definition order."""
    inherited = set(exclude.model_fields) if exclude else set()
    variables = []
    for name, info in model.model_fields.items():
        if name in inherited:
            continue
        if not info.description:
            raise DocsError(
                f"{model.__name__}.{name} has no description: give it "
                f'Field(..., description="...") (the one definition of {name.upper()})'
            )
        variables.append(Variable(name.upper(), shown_default(info), info.description))
    return variables


class Placement(Enum):
    """Where a setting of a service is given a value in Compose, if not passed through."""

    BY_BROKER_FILES = "set by docker-compose.yml and docker-compose.own-broker.yml"
    BY_STACK_FILE = "set by docker-compose.yml only"
    BY_OWN_BROKER_FILE = "set by docker-compose.own-broker.yml only"
    NOT_PASSED = "not passed to the container"


# How each file that starts the services must name them (checked, never generated).
PLACEMENT_FILES = {
    Placement.BY_BROKER_FILES: (STACK_FILE, OWN_BROKER_FILE),
    Placement.BY_STACK_FILE: (STACK_FILE,),
    Placement.BY_OWN_BROKER_FILE: (OWN_BROKER_FILE,),
    Placement.NOT_PASSED: (),
}

# Where the broker is and how to log in differs between the two files that start the
# services; TLS only makes sense against your own broker (the stack's speaks plain MQTT on
# this host); the rest is the same for both.
COMMON_VALUES: dict[str, str | Placement] = {
    "MQTT_HOST": Placement.BY_BROKER_FILES,
    "MQTT_PORT": Placement.BY_BROKER_FILES,
    "MQTT_USERNAME": Placement.BY_BROKER_FILES,
    "MQTT_PASSWORD": Placement.BY_BROKER_FILES,
    "MQTT_PASSWORD_FILE": Placement.BY_STACK_FILE,
    "MQTT_TLS": Placement.BY_OWN_BROKER_FILE,
    "MQTT_CA_FILE": Placement.BY_OWN_BROKER_FILE,
    # The data volume's mount point.
    "STATE_DIR": "/data",
}

SERVICE_VALUES: dict[str, dict[str, str | Placement]] = {
    "sonos_bridge": {
        "MQTT_CLIENT_ID": "${SONOS_MQTT_CLIENT_ID:-}",
        # Inside the data volume, under STATE_DIR.
        "CACHE_DIR": Placement.NOT_PASSED,
        # The mount point of PIPER_VOICES_HOST_DIR.
        "PIPER_VOICES_DIR": "/voices",
        # The mount point of SOUNDS_HOST_DIR.
        "SOUNDS_DIR": "/sounds",
    },
    "idle_reporter": {
        "MQTT_CLIENT_ID": "${IDLE_MQTT_CLIENT_ID:-}",
        "IDLE_HOST_NAME": "${IDLE_HOST_NAME:-desktop}",
        "IDLE_SOURCE": "${IDLE_SOURCE:-file}",
        "IDLE_STATE_FILE": "/idle-state/${IDLE_STATE_FILE_NAME:-idle-state}",
        # The host's variables of these names describe the shell that runs Compose, not
        # what the container sees: .env names them IDLE_*.
        "DISPLAY": "${IDLE_DISPLAY:-}",
        "WAYLAND_DISPLAY": "${IDLE_WAYLAND_DISPLAY:-}",
        "DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/run/dbus/system_bus_socket",
        "DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/${IDLE_UID:-1000}/bus",
        # No runtime directory is mounted; DBUS_SESSION_BUS_ADDRESS names the bus.
        "XDG_RUNTIME_DIR": Placement.NOT_PASSED,
    },
}

# Variables a service's libraries read that are not settings of ours.
EXTRA_ENVIRONMENT: dict[str, dict[str, str]] = {
    "idle_reporter": {"XAUTHORITY": "${IDLE_XAUTHORITY:-}"},
}


@dataclass(frozen=True, slots=True)
class Section:
    """A part of `.env.example`: its settings, Compose-only variables, pulled settings.

    A variable appears once, in the first section that lists it: the Compose-only
    MQTT_PORT (the published port) comes before the service setting of the same name.
    """

    title: str
    intro: str
    own: tuple[Variable, ...] = ()
    settings: tuple[Variable, ...] = ()
    pulled: tuple[str, ...] = ()  # settings of another section shown here instead


@dataclass(frozen=True, slots=True)
class Catalog:
    """Everything the generator documents."""

    common: list[Variable]
    services: dict[str, list[Variable]]  # each service's own settings
    sections: list[Section]
    compose_values: dict[str, dict[str, str | Placement]] = field(default_factory=dict)

    def settings_of(self, service: str) -> list[Variable]:
        return self.common + self.services[service]

    def value_in_compose(self, service: str, name: str) -> str | Placement:
        return self.compose_values.get(service, {}).get(name, f"${{{name}:-}}")


def _intro(model: type[BaseModel]) -> str:
    return " ".join((model.__doc__ or "").split())


def _stack_section(model: type[BaseModel], pulled: tuple[str, ...] = ()) -> Section:
    """A section of Compose-only variables, titled by the first sentence of its docstring."""
    intro = _intro(model)
    title, _, rest = intro.partition(". ")
    return Section(title.rstrip("."), rest, tuple(variables_of(model)), pulled=pulled)


def build_catalog(
    sonos: type[BaseModel] = SonosSettings, idle: type[BaseModel] = IdleSettings
) -> Catalog:
    common = variables_of(MqttSettings)
    services = {
        "sonos_bridge": variables_of(sonos, exclude=MqttSettings),
        "idle_reporter": variables_of(idle, exclude=MqttSettings),
    }
    sections = [
        _stack_section(stack.Passwords),
        _stack_section(stack.StackBroker),
        _stack_section(stack.OwnBroker, pulled=("MQTT_TLS", "MQTT_CA_FILE")),
        Section(
            "Both services",
            "",
            own=tuple(variables_of(stack.ClientIds)),
            settings=tuple(common),
        ),
        Section(
            "Sonos bridge",
            "Speaks text published to sonos/tts/<speaker> on your Sonos speakers.",
            own=tuple(variables_of(stack.SonosContainer)),
            settings=tuple(services["sonos_bridge"]),
        ),
        Section(
            "Idle reporter",
            "Tells Home Assistant whether someone is using this computer.",
            own=tuple(variables_of(stack.IdleContainer)),
            settings=tuple(services["idle_reporter"]),
        ),
        _stack_section(stack.Build),
    ]
    values = {service: {**COMMON_VALUES, **SERVICE_VALUES[service]} for service in SERVICE_VALUES}
    return Catalog(common, services, sections, values)
