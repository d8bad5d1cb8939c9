"""Variables of `.env` that only Compose reads, described where they are defined.

The services' own settings are described on their pydantic fields (mqtt_service/config.py,
sonos_bridge/settings.py, idle_reporter/settings.py). These models hold the variables the
Compose files interpolate for themselves (passwords, ports, image names, mounts), so every
line of `.env.example` and of docs/configuration.md's tables has exactly one definition.
Nothing reads them at run time; each class is one section of `.env.example`, its docstring
the intro.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class Passwords(BaseModel):
    """Passwords of the broker's users. Leave them empty: on its first start the broker
    generates a strong one per user and keeps it in its data volume (`make ha-password`
    prints Home Assistant's). A password set here wins over the generated one from the next
    `docker compose up -d` on."""

    mqtt_sonos_password: str = Field(
        default="", description="Password of the `sonos_bridge` user (the Sonos bridge)."
    )
    mqtt_idle_password: str = Field(
        default="",
        description="Password of the `idle_reporter` user (every idle reporter shares it).",
    )
    mqtt_ha_password: str = Field(
        default="",
        description=(
            "Password of the `homeassistant` user, which reads everything and writes "
            "commands: enter it in Home Assistant's MQTT integration."
        ),
    )
    mqtt_healthcheck_password: str = Field(
        default="",
        description="Password of the `healthcheck` user Docker's health check uses ($SYS only).",
    )


class StackBroker(BaseModel):
    """The stack's own broker (docker-compose.yml)."""

    mqtt_port: str = Field(
        default="1883",
        description=(
            "Port the broker is published on, on this computer; Home Assistant connects to "
            "it. Another broker already uses 1883? Choose another, e.g. 1884. With "
            "docker-compose.own-broker.yml: your broker's port."
        ),
    )
    mqtt_bind: str = Field(
        default="0.0.0.0",
        description=(
            "Address the broker's port is published on: 0.0.0.0 = every network interface "
            "(Home Assistant on another machine can connect); 127.0.0.1 = this computer only."
        ),
    )
    mosquitto_image: str = Field(default="eclipse-mosquitto:2", description="The broker image.")


class OwnBroker(BaseModel):
    """Your own broker instead of the stack's (docker-compose.own-broker.yml). The two
    services alone, against a Mosquitto you already run; docs/configuration.md, "Your own
    broker", lists the users and ACL lines to add there. MQTT_PORT above is then your
    broker's port."""

    compose_file: str = Field(
        default="docker-compose.yml",
        description=(
            "Compose's own variable: docker-compose.own-broker.yml makes a plain "
            "`docker compose up -d` start the two services against your broker."
        ),
    )
    mqtt_host: str = Field(
        default="",
        description=(
            "Your broker's address as the containers reach it: its LAN address or name, "
            "not localhost (the idle reporter has its own network)."
        ),
    )


class ClientIds(BaseModel):
    """Fixed MQTT client IDs, one per service (MQTT_CLIENT_ID of each)."""

    sonos_mqtt_client_id: str = Field(
        default="",
        description=(
            "The bridge's MQTT_CLIENT_ID. Normally empty: each service makes one up at its "
            "first start and keeps it in its data volume."
        ),
    )
    idle_mqtt_client_id: str = Field(default="", description="The idle reporter's MQTT_CLIENT_ID.")


class SonosContainer(BaseModel):
    """What the bridge's container mounts."""

    piper_voices_host_dir: str = Field(
        default="./piper-voices",
        description=(
            "Folder on this computer with extra Piper voices (NAME.onnx + NAME.onnx.json, "
            "e.g. from huggingface.co/rhasspy/piper-voices), mounted read-only at "
            "PIPER_VOICES_DIR; read when the bridge starts."
        ),
    )
    sounds_host_dir: str = Field(
        default="./sounds",
        description=(
            "Folder on this computer with sound files (NAME.mp3 or NAME.wav) that requests "
            'play with {"sound": "NAME"} or as their chime; mounted read-only at SOUNDS_DIR.'
        ),
    )


class IdleContainer(BaseModel):
    """How the idle reporter's container reaches the desktop."""

    idle_state_dir: str = Field(
        default="./idle-state",
        description=(
            "Directory on this computer holding the state file (IDLE_SOURCE=file); mounted "
            "read-only."
        ),
    )
    idle_state_file_name: str = Field(
        default="idle-state", description="Name of the state file in IDLE_STATE_DIR."
    )
    idle_uid: str = Field(
        default="1000",
        description=(
            "Your desktop user's id (`id -u`): the reporter's image is built to run as this "
            "user, which the gnome and kde sources need. Rebuild after changing it "
            "(`docker compose build idle_reporter`)."
        ),
    )
    idle_gid: str = Field(default="1000", description="Your desktop user's group id (`id -g`).")
    idle_wayland_display: str = Field(
        default="", description="WAYLAND_DISPLAY of your desktop session, for IDLE_SOURCE=auto."
    )
    idle_display: str = Field(
        default="",
        description="DISPLAY for IDLE_SOURCE=x11 (mount /tmp/.X11-unix and the Xauthority file).",
    )
    idle_xauthority: str = Field(
        default="",
        description=(
            "XAUTHORITY for IDLE_SOURCE=x11, as the container sees it "
            "(e.g. /run/user/1000/gdm/Xauthority)."
        ),
    )


class Build(BaseModel):
    """Building the images (`docker compose build`)."""

    python_base_image: str = Field(
        default="python:3.12-slim",
        description="Python base image of both services (Debian-based, Python 3.11 or newer).",
    )
    wheelhouse: str = Field(
        default="",
        description=(
            "For a build without internet access: a directory in this folder holding wheels "
            "of the project and all its dependencies (`pip wheel -w wheelhouse "
            "'.[sonos,piper,idle]'` with the base image's Python version)."
        ),
    )
    sonos_bridge_variant: str = Field(
        default="auto",
        description=(
            "Which bridge image to build: piper (with Piper's natural voice and "
            "en_US-joe-medium, ~440 MB), slim (gTTS and espeak-ng only, 176 MB: small "
            "machines), auto (piper on x86_64 and arm64, slim elsewhere, e.g. 32-bit ARM)."
        ),
    )
    sonos_bridge_image: str = Field(
        default="mqtt-home-voice/sonos-bridge:latest", description="Name of the bridge's image."
    )
    idle_reporter_image: str = Field(
        default="mqtt-home-voice/idle-reporter:latest",
        description="Name of the idle reporter's image.",
    )


# Variables Compose itself reads: documented without being interpolated anywhere.
READ_BY_COMPOSE = frozenset({"COMPOSE_FILE"})
