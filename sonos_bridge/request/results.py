"""The one answer every request gets, on `<base>/result` and on its v5 response topic.

Callers (automations, the `say` command) correlate by `id`, so exactly one result is
published per request, whatever happened to it.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Literal

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from mqtt_service.connection import MqttConnection
from mqtt_service.delivery import DeliveryTicket
from sonos_bridge.request.announcement import ReplyTo

logger = logging.getLogger(__name__)

Status = Literal["played", "failed", "expired"]


@dataclass(frozen=True, slots=True)
class Result:
    """What happened to one request.

    Frozen because it crosses threads: made on a coordinator worker (or paho's thread for
    a refusal) and published from there while the service may still read it.
    """

    id: str
    status: Status
    speakers: tuple[str, ...]
    error: str | None = None
    latency_ms: int | None = None
    warnings: tuple[str, ...] = ()

    def to_json(self) -> str:
        body: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "speakers": list(self.speakers),
            "error": self.error,
            "latency_ms": self.latency_ms,
        }
        if self.warnings:
            body["warnings"] = list(self.warnings)
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def elapsed_ms(since: float) -> int:
    return round((time.monotonic() - since) * 1000)


class ResultPublisher:
    """Publishes results (QoS 1, not retained) and mirrors them to response topics."""

    def __init__(self, connection: MqttConnection, topic: str) -> None:
        self._connection = connection
        self.topic = topic

    def publish(self, result: Result, reply_to: ReplyTo | None = None) -> list[DeliveryTicket]:
        """Tickets of every copy published, complete once the broker has each."""
        payload = result.to_json()
        log = logger.info if result.status == "played" else logger.warning
        log(
            "Request %s %s on %s%s",
            result.id,
            result.status,
            ", ".join(result.speakers) or "no speaker",
            f": {result.error}" if result.error else "",
        )
        tickets = [self._connection.publish(self.topic, payload, qos=1)]
        if reply_to is not None:
            properties = None
            if reply_to.correlation is not None:
                properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
                properties.CorrelationData = reply_to.correlation
            tickets.append(
                self._connection.publish(reply_to.topic, payload, qos=1, properties=properties)
            )
        return tickets
