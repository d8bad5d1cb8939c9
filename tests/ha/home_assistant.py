"""A real Home Assistant for the tests: a pre-made configuration, its process, its APIs.

Home Assistant lives in its own virtual environment (Python 3.13), which
tests/ha/run.sh prepares and names in HA_VENV. Its configuration directory is written
before the first start, so it comes up configured in a few seconds:
- configuration.yaml: HTTP on 127.0.0.1 and a free port, the REST API,
  mqtt_statestream (every state is mirrored to MQTT, where a probe awaits it) and one
  automation. No `default_config`: nothing that talks to the Internet (cloud, update
  checks); analytics is never onboarded, so it reports nothing;
- .storage/core.config_entries: the MQTT integration on the test broker as the
  `homeassistant` user, the way the UI would have stored it;
- .storage/auth: an owner with a long-lived access token for the REST and WebSocket APIs.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import requests
from websockets.sync.client import ClientConnection, connect

from testkit.support.broker import MosquittoBroker, free_port, password_for
from testkit.support.probe import Probe

BIRTH_TOPIC = "homeassistant/status"
STATESTREAM = "hastate"
START_TIMEOUT = 120.0
API_TIMEOUT = 15.0
EVENT_TIMEOUT = 20.0
CREATED = "2025-01-01T00:00:00+00:00"

EntityEvent = Literal["available", "removed"]


class HomeAssistantError(RuntimeError):
    """Home Assistant did not start, or refused an API call."""


def state_topic(entity_id: str, attribute: str = "state") -> str:
    """Where mqtt_statestream mirrors an entity's state (or one of its attributes)."""
    return f"{STATESTREAM}/{entity_id.replace('.', '/')}/{attribute}"


def storage(key: str, data: dict[str, Any], minor_version: int = 1) -> str:
    return json.dumps({"version": 1, "minor_version": minor_version, "key": key, "data": data})


def configuration_yaml(http_port: int, automation: str) -> str:
    return textwrap.dedent(f"""\
        homeassistant:
          name: mqtt-home-voice tests
          latitude: 0
          longitude: 0
          elevation: 0
          unit_system: metric
          time_zone: UTC
          country: CH
          currency: CHF
          language: en
        http:
          server_host: 127.0.0.1
          server_port: {http_port}
        api:
        logger:
          default: info
        mqtt_statestream:
          base_topic: {STATESTREAM}
          publish_attributes: true
        automation:
        """) + textwrap.indent(automation, "  ")


def mqtt_entry(broker: MosquittoBroker) -> dict[str, Any]:
    return {
        "created_at": CREATED,
        "modified_at": CREATED,
        "data": {
            "broker": broker.host,
            "port": broker.port,
            "username": "homeassistant",
            "password": password_for("homeassistant"),
        },
        "options": {"discovery": True, "discovery_prefix": "homeassistant"},
        "discovery_keys": {},
        "disabled_by": None,
        "domain": "mqtt",
        "entry_id": "mqtthomevoicetestsmqttentry",
        "minor_version": 2,
        "version": 1,
        "pref_disable_new_entities": False,
        "pref_disable_polling": False,
        "source": "user",
        "subentries": [],
        "title": broker.host,
        "unique_id": None,
    }


@dataclass(frozen=True, slots=True)
class LongLivedToken:
    """A refresh token of type long-lived, and the access token (JWT) signed with it."""

    token_id: str
    jwt_key: str
    access_token: str

    @classmethod
    def mint(cls, python: Path) -> LongLivedToken:
        """Signed by Home Assistant's own PyJWT, exactly as its auth module signs."""
        token_id, jwt_key = secrets.token_hex(16), secrets.token_hex(64)
        signer = (
            "import jwt, sys; print(jwt.encode({'iss': sys.argv[1], 'iat': 0, "
            "'exp': 4102444800}, sys.argv[2], algorithm='HS256'))"
        )
        signed = subprocess.run(
            [str(python), "-c", signer, token_id, jwt_key],
            check=True,
            capture_output=True,
            text=True,
        )
        return cls(token_id, jwt_key, signed.stdout.strip())


def auth_store(token: LongLivedToken) -> dict[str, Any]:
    user_id = secrets.token_hex(16)
    return {
        "users": [
            {
                "id": user_id,
                "group_ids": ["system-admin"],
                "is_owner": True,
                "is_active": True,
                "name": "tests",
                "system_generated": False,
                "local_only": False,
            }
        ],
        "groups": [],
        "credentials": [],
        "refresh_tokens": [
            {
                "id": token.token_id,
                "user_id": user_id,
                "client_id": None,
                "client_name": "mqtt-home-voice tests",
                "client_icon": None,
                "token_type": "long_lived_access_token",
                "created_at": CREATED,
                "access_token_expiration": 315360000.0,
                "token": secrets.token_hex(64),
                "jwt_key": token.jwt_key,
                "last_used_at": None,
                "last_used_ip": None,
                "expire_at": None,
                "credential_id": None,
                "version": None,
            }
        ],
    }


@dataclass
class HomeAssistant:
    """One Home Assistant process on a configuration directory that outlives restarts."""

    venv: Path
    config_dir: Path
    broker: MosquittoBroker
    automation: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.token = LongLivedToken.mint(self.venv / "bin" / "python")
        store = self.config_dir / ".storage"
        store.mkdir(parents=True)
        (self.config_dir / "configuration.yaml").write_text(
            configuration_yaml(self.port, self.automation), encoding="utf-8"
        )
        (store / "core.config_entries").write_text(
            storage("core.config_entries", {"entries": [mqtt_entry(self.broker)]}, 5)
        )
        (store / "auth").write_text(storage("auth", auth_store(self.token)))
        self.output = self.config_dir.parent / "home-assistant.out"

    # ------------------------------------------------------------ lifecycle
    def start(self, watcher: Probe) -> None:
        """Start; return once its birth message arrived, which it sends when fully up.

        `watcher` must be subscribed to the birth topic.
        """
        births = len(watcher.on_topic(BIRTH_TOPIC))
        with self.output.open("ab") as output:
            self.process = subprocess.Popen(
                [str(self.venv / "bin" / "hass"), "--config", str(self.config_dir), "--skip-pip"],
                stdout=output,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        process = self.process
        watcher.wait_until(
            lambda: (
                process.poll() is not None
                or any(m.payload == b"online" for m in watcher.on_topic(BIRTH_TOPIC)[births:])
            ),
            START_TIMEOUT,
            "Home Assistant's birth message",
        )
        if process.poll() is not None:
            raise HomeAssistantError(f"Home Assistant exited: {self.log()[-3000:]}")

    def stop(self) -> None:
        """Like the supervisor does: SIGTERM, and Home Assistant saves its storage."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        self.process = None

    def log(self) -> str:
        path = self.config_dir / "home-assistant.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # ----------------------------------------------------------------- APIs
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token.access_token}"}

    def call_service(self, domain: str, service: str, data: dict[str, Any]) -> None:
        url = f"http://127.0.0.1:{self.port}/api/services/{domain}/{service}"
        reply = requests.post(url, json=data, headers=self._headers(), timeout=API_TIMEOUT)
        if reply.status_code != 200:
            raise HomeAssistantError(f"{domain}.{service}: {reply.status_code} {reply.text}")

    @contextmanager
    def _websocket(self) -> Iterator[ClientConnection]:
        with connect(f"ws://127.0.0.1:{self.port}/api/websocket", open_timeout=API_TIMEOUT) as ws:
            ws.recv(timeout=API_TIMEOUT)  # auth_required
            ws.send(json.dumps({"type": "auth", "access_token": self.token.access_token}))
            if json.loads(ws.recv(timeout=API_TIMEOUT))["type"] != "auth_ok":
                raise HomeAssistantError("the long-lived access token was refused")
            yield ws

    @staticmethod
    def _command(ws: ClientConnection, command: dict[str, Any]) -> Any:
        ws.send(json.dumps({"id": 1, **command}))
        reply = json.loads(ws.recv(timeout=API_TIMEOUT))
        if not reply["success"]:
            raise HomeAssistantError(f"{command['type']}: {reply['error']}")
        return reply["result"]

    def websocket(self, command: dict[str, Any]) -> Any:
        """Send one WebSocket API command (e.g. the entity registry's) and return its result."""
        with self._websocket() as ws:
            return self._command(ws, command)

    @contextmanager
    def entity_events(self, entity_id: str) -> Iterator[Callable[[EntityEvent], None]]:
        """Await an entity becoming available, or being removed, in Home Assistant.

        Yields `wait(event)`, which returns at the entity's next such state change, in the
        order Home Assistant's bus carries them. A new entity is first `unavailable` until
        its availability topic arrives, and Home Assistant skips unavailable entities in
        service calls: "available" is when it can be used.
        """
        with self._websocket() as ws:
            self._command(ws, {"type": "subscribe_events", "event_type": "state_changed"})

            def wait(event: EntityEvent) -> None:
                deadline = time.monotonic() + EVENT_TIMEOUT
                while True:
                    try:
                        message = ws.recv(timeout=max(0.0, deadline - time.monotonic()))
                    except TimeoutError:
                        raise HomeAssistantError(f"{entity_id} not {event} in time") from None
                    data = json.loads(message)["event"]["data"]
                    if data["entity_id"] != entity_id:
                        continue
                    new = data["new_state"]
                    if (event == "removed" and new is None) or (
                        event == "available" and new is not None and new["state"] != "unavailable"
                    ):
                        return

            yield wait
