"""Publishes a service's discovery configs and removes those it no longer stands behind.

What was published is kept in STATE_DIR (one file per client ID, written atomically), so
a config whose entity went away while the service was down (a speaker unplugged, a host
renamed) is still removed at the next start. Left retained, such a config keeps a dead
entity in Home Assistant, which also refuses any later config with its `unique_id`.

A removal stays in the record until the broker has acknowledged it: a crash in between
is repaired at the next start (clearing a topic that is already empty is harmless).

Threads: `publish` runs on paho's network thread (connect and birth hooks) and on the
services' own workers; a lock serialises it. It never waits for the network, and writes
its small file only when the set of topics changed.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from pathlib import Path

from mqtt_service.connection import MqttConnection
from mqtt_service.delivery import DeliveryTicket
from mqtt_service.discovery import EntityConfig, publish_config
from mqtt_service.state_files import write_atomically

logger = logging.getLogger(__name__)

Configs = Mapping[str, EntityConfig | None]


def record_path(connection: MqttConnection) -> Path:
    """One record per instance: instances may share a STATE_DIR, never a client ID."""
    return connection.settings.state_dir / f"{connection.client_id}.ha-discovery.json"


class DiscoveryPublisher:
    """Keeps Home Assistant's entities in line with what the service offers now."""

    def __init__(self, connection: MqttConnection) -> None:
        self._connection = connection
        self._path = record_path(connection)
        self._lock = threading.Lock()
        self._recorded = self._load()
        self.had_record = self._path.exists()
        self._removals: dict[str, DeliveryTicket] = {}

    def publish(self, configs: Configs) -> None:
        """Publish every config; remove topics set to None and those recorded but gone."""
        with self._lock:
            wanted = {topic for topic, config in configs.items() if config is not None}
            unwanted = {topic for topic, config in configs.items() if config is None}
            stale = self._recorded - wanted - unwanted - self._acknowledged_removals()
            # Recorded before publishing: a crash from here on is repaired at the next start.
            self._save(wanted | stale)
            for topic in sorted(unwanted | stale):
                ticket = publish_config(self._connection, topic, None)
                if topic in stale and topic not in self._removals:
                    logger.info("Removing the Home Assistant entity at %s", topic)
                    self._removals[topic] = ticket
            for topic in sorted(wanted):
                publish_config(self._connection, topic, configs[topic])

    def _acknowledged_removals(self) -> set[str]:
        done = {topic for topic, ticket in self._removals.items() if ticket.delivered}
        for topic in done:
            del self._removals[topic]
        return done

    def _load(self) -> set[str]:
        try:
            topics = json.loads(self._path.read_text(encoding="utf-8"))["topics"]
        except FileNotFoundError:
            return set()
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("Ignoring the unreadable discovery record %s: %s", self._path, exc)
            return set()
        return {topic for topic in topics if isinstance(topic, str)}

    def _save(self, topics: set[str]) -> None:
        if topics == self._recorded and self._path.exists():
            return
        try:
            write_atomically(self._path, json.dumps({"topics": sorted(topics)}, indent=1) + "\n")
        except OSError as exc:
            logger.warning(
                "Cannot write %s (%s): entities removed while the service is down will "
                "stay in Home Assistant",
                self._path,
                exc,
            )
        self._recorded = topics
