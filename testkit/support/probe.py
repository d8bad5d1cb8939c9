"""A plain paho client that tests use to publish and to await what arrives.

Waiting is on a condition variable signalled by paho's network thread, never on sleeps.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from testkit.support.broker import MosquittoBroker, password_for
from testkit.waits import wait_on

DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    qos: int
    properties: Properties | None

    @property
    def text(self) -> str:
        return self.payload.decode("utf-8")


class Probe:
    """Connects as one broker user, records every message it receives."""

    def __init__(
        self,
        broker: MosquittoBroker,
        user: str | None = "homeassistant",
        *,
        password: str | None = None,
        client_id: str = "",
    ) -> None:
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if user is not None:
            self.client.username_pw_set(user, password or password_for(user))
        self.messages: list[Received] = []
        self._condition = threading.Condition()
        self._connect_result: ReasonCode | None = None
        self._suback: dict[int, list[ReasonCode]] = {}
        self.client.on_message = self._on_message
        self.client.on_connect = self._on_connect
        # Like the services: without TCP_NODELAY a publish right after a receive can wait
        # ~40 ms for a delayed ACK, which would distort every latency figure.
        self.client.on_socket_open = self._on_socket_open
        self.client.on_subscribe = self._on_subscribe
        self.client.connect(broker.host, broker.port, keepalive=30)
        self.client.loop_start()

    # callbacks run on paho's thread
    @staticmethod
    def _on_socket_open(_c: mqtt.Client, _u: Any, sock: Any) -> None:
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _on_connect(self, _c: mqtt.Client, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        with self._condition:
            self._connect_result = rc
            self._condition.notify_all()

    def _on_subscribe(
        self, _c: mqtt.Client, _u: Any, mid: int, rcs: list[ReasonCode], _p: Any
    ) -> None:
        with self._condition:
            self._suback[mid] = rcs
            self._condition.notify_all()

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self._condition:
            self.messages.append(
                Received(
                    message.topic,
                    message.payload,
                    bool(message.retain),
                    message.qos,
                    message.properties,
                )
            )
            self._condition.notify_all()

    def wait_until(
        self, predicate: Callable[[], bool], timeout: float = DEFAULT_TIMEOUT, what: str = ""
    ) -> None:
        wait_on(self._condition, predicate, timeout, what)

    def connect_result(self, timeout: float = DEFAULT_TIMEOUT) -> ReasonCode:
        self.wait_until(lambda: self._connect_result is not None, timeout, "CONNACK")
        assert self._connect_result is not None
        return self._connect_result

    def subscribe(self, topic: str, qos: int = 1) -> None:
        assert not self.connect_result().is_failure, f"probe refused: {self.connect_result()}"
        _rc, mid = self.client.subscribe(topic, qos)
        assert mid is not None
        self.wait_until(lambda: mid in self._suback, what=f"SUBACK for {topic}")
        assert not self._suback[mid][0].is_failure, f"subscribe {topic}: {self._suback[mid][0]}"

    def publish(
        self,
        topic: str,
        payload: str | bytes,
        qos: int = 1,
        retain: bool = False,
        properties: Properties | None = None,
    ) -> None:
        info = self.client.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        info.wait_for_publish(DEFAULT_TIMEOUT)

    def on_topic(self, topic: str) -> list[Received]:
        with self._condition:
            return [m for m in self.messages if m.topic == topic]

    def wait_for(
        self,
        topic: str,
        count: int = 1,
        timeout: float = DEFAULT_TIMEOUT,
        payload: bytes | None = None,
    ) -> list[Received]:
        def matching() -> list[Received]:
            return [
                m
                for m in self.messages
                if m.topic == topic and (payload is None or m.payload == payload)
            ]

        self.wait_until(lambda: len(matching()) >= count, timeout, f"{count} message(s) on {topic}")
        with self._condition:
            return matching()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
