"""Command line: run the service, or `say` something and wait for the result.

`say` talks to the broker like any client (its own random client ID and a clean session,
so it never takes over the service's persistent session), subscribes to the result topic
before publishing, and exits 0 only when the announcement was played.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from mqtt_service.bootstrap import StateDirError, fail_start, load_settings_or_exit
from mqtt_service.runner import ServiceRunner
from sonos_bridge.errors import StartupError
from sonos_bridge.request.announcement import new_request_id
from sonos_bridge.settings import SonosSettings
from sonos_bridge.speakers import use_soco_timeout

PROGRAM = "sonos-bridge"
EXIT_PLAYED = 0
EXIT_NOT_PLAYED = 1
EXIT_NO_ANSWER = 3


def run_service() -> int:
    from sonos_bridge.service import BridgeService

    settings = load_settings_or_exit(PROGRAM, SonosSettings)
    use_soco_timeout(settings.sonos_timeout)
    try:
        service = BridgeService(settings)
        service.start_components()
    except (StartupError, StateDirError) as exc:
        fail_start(PROGRAM, exc)
    runner = ServiceRunner(
        service.connection, on_shutdown=service.shutdown, is_healthy=service.healthy
    )
    return runner.run()


class ResultWaiter:
    """A throwaway MQTT client that publishes one request and waits for its result."""

    def __init__(self, settings: SonosSettings, request_id: str) -> None:
        self.settings = settings
        self.request_id = request_id
        self.result: dict[str, Any] | None = None
        self.error: str | None = None
        self._subscribed = threading.Event()
        self._done = threading.Event()
        self.result_topic = f"{settings.sonos_base_topic}/result"
        protocol = (
            MQTTProtocolVersion.MQTTv5
            if settings.mqtt_protocol == 5
            else MQTTProtocolVersion.MQTTv311
        )
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"sonos-say-{secrets.token_hex(4)}",
            protocol=protocol,
        )
        if settings.mqtt_username:
            password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
            self.client.username_pw_set(settings.mqtt_username, password)
        if settings.mqtt_tls:
            self.client.tls_set(
                ca_certs=str(settings.mqtt_ca_file) if settings.mqtt_ca_file else None
            )
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        if rc.is_failure:
            self.error = f"the broker refused the connection: {rc}"
            self._subscribed.set()
            self._done.set()
            return
        client.subscribe(self.result_topic, qos=1)

    def _on_subscribe(
        self, _c: mqtt.Client, _u: Any, _mid: int, rcs: list[ReasonCode], _p: Any
    ) -> None:
        if rcs and rcs[0].is_failure:
            self.error = f"not allowed to read {self.result_topic}: {rcs[0]}"
            self._done.set()
        self._subscribed.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        try:
            body = json.loads(message.payload)
        except ValueError:
            return
        if isinstance(body, dict) and body.get("id") == self.request_id:
            self.result = body
            self._done.set()

    def run(self, request: dict[str, Any], timeout: float) -> None:
        settings = self.settings
        try:
            self.client.connect(settings.mqtt_host, settings.mqtt_port, keepalive=30)
        except OSError as exc:
            self.error = (
                f"cannot reach the broker at {settings.mqtt_host}:{settings.mqtt_port}: {exc}"
            )
            return
        self.client.loop_start()
        try:
            if not self._subscribed.wait(timeout) or self.error:
                self.error = self.error or "no answer from the broker"
                return
            self.client.publish(f"{settings.sonos_base_topic}/tts", json.dumps(request), qos=1)
            if not self._done.wait(timeout):
                self.error = f"no result within {timeout:g} s; is sonos-bridge running?"
        finally:
            self.client.disconnect()
            self.client.loop_stop()


def say(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=f"{PROGRAM} say", description="Speak a text on Sonos")
    parser.add_argument("text", help="what to say")
    parser.add_argument(
        "--speaker", "-s", action="append", help="speaker name (repeatable), or 'all'"
    )
    parser.add_argument("--volume", "-v", type=int, help="announcement volume 0-100")
    parser.add_argument("--lang", "-l", help="language code, e.g. en, de, fr")
    parser.add_argument("--id", help="request id (default: random)")
    parser.add_argument("--max-age", type=float, help="give up if not spoken within seconds")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait (60)")
    options = parser.parse_args(argv)
    settings = load_settings_or_exit(PROGRAM, SonosSettings)
    request: dict[str, Any] = {"text": options.text, "id": options.id or new_request_id()}
    if options.speaker:
        request["speaker"] = options.speaker[0] if len(options.speaker) == 1 else options.speaker
    for key in ("volume", "lang", "max_age"):
        value = getattr(options, key)
        if value is not None:
            request[key] = value
    waiter = ResultWaiter(settings, request["id"])
    waiter.run(request, options.timeout)
    if waiter.result is None:
        print(f"{PROGRAM}: {waiter.error}", file=sys.stderr)
        return EXIT_NO_ANSWER
    print(json.dumps(waiter.result, ensure_ascii=False))
    return EXIT_PLAYED if waiter.result.get("status") == "played" else EXIT_NOT_PLAYED


def doctor() -> int:
    from sonos_bridge.doctor import run_doctor

    return run_doctor(load_settings_or_exit(PROGRAM, SonosSettings))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "say":
        return say(args[1:])
    if args and args[0] == "doctor":
        return doctor()
    if args and args[0] in ("-h", "--help"):
        print(f"usage: {PROGRAM}            run the bridge (settings from the environment)")
        print(f"       {PROGRAM} say TEXT [--speaker NAME] [--volume N] [--lang xx]")
        print(f"       {PROGRAM} doctor     check the speakers and the clip URL, then exit")
        return 0
    if args and args[0] != "run":
        print(f"{PROGRAM}: unknown command {args[0]!r}; try --help", file=sys.stderr)
        return 2
    return run_service()
