"""Wires source, detector, publisher, discovery and commands to the MQTT connection.

Everything that touches the source runs on one worker thread: paho's network thread and
an event-driven source's listener thread only queue actions (they must not block), and a
source is never read from two threads. The worker reads a polled source every
IDLE_POLL_INTERVAL; an event-driven source wakes it on every change instead, and its timer
then only refreshes the idle seconds every IDLE_REPORT_INTERVAL (back to the poll interval
while the source does not answer, so `unknown` and reconnects stay prompt). It also wakes
for a command, a (re)connect or Home Assistant's birth message.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from enum import Enum
from typing import TYPE_CHECKING

import paho.mqtt.client as mqtt

from idle_reporter.commands import Command, parse_command
from idle_reporter.detector import Decision, Detector
from idle_reporter.discovery import entities
from idle_reporter.errors import CommandError, SourceReadError
from idle_reporter.publisher import StatePublisher, Topics
from idle_reporter.settings import IdleSettings
from idle_reporter.sleepwatch import SleepWatch
from idle_reporter.sources.auto import SourceFactory, build_source, select_source
from idle_reporter.sources.base import IdleSource
from mqtt_service import discovery as ha
from mqtt_service.connection import MqttConnection

if TYPE_CHECKING:
    from idle_reporter.sources.logind import SessionLocker

logger = logging.getLogger(__name__)


# The worker is unhealthy when one action has taken longer than this (a call that hangs).
STALL_LIMIT = 60.0


class Action(Enum):
    POLL = "poll"
    CHANGED = "changed"  # an event-driven source heard of a change
    CONNECTED = "connected"
    HA_ONLINE = "ha_online"
    REPORT = "report"
    LOCK = "lock"
    STOP = "stop"


class IdleReporter:
    """The reporter's worker: one thread, one source, one detector."""

    def __init__(
        self,
        settings: IdleSettings,
        connection: MqttConnection,
        *,
        source_factory: SourceFactory = build_source,
        stall_limit: float = STALL_LIMIT,
    ) -> None:
        self.settings = settings
        self.connection = connection
        self.topics = Topics(settings.topic_prefix)
        self.detector = Detector(settings.idle_threshold, settings.unknown_after)
        self.publisher = StatePublisher(connection, self.topics, settings.idle_report_interval)
        self.source: IdleSource | None = None
        self._source_factory = source_factory
        self._locker: SessionLocker | None = None  # created on the first `lock`
        self._sleep_watch = SleepWatch()
        self._actions: queue.Queue[Action] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="idle-reporter", daemon=True)
        self._timers: list[threading.Timer] = []
        self._last_selection = ""
        self._next_selection = 0.0
        self.last_decision: Decision | None = None
        # Polls publish only after the first connect's full report went out, so the
        # state is not sent twice at start-up.
        self._announced = False
        self._stall_limit = stall_limit
        self._busy_since: float | None = None
        self._stuck_noted = False
        connection.on_connected(lambda: self._actions.put(Action.CONNECTED))
        connection.on_home_assistant_online(self._on_ha_online)
        connection.subscribe(self.topics.command, self._on_command)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._actions.put(Action.STOP)
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        if self.source is not None:
            self.source.close()
        if self._locker is not None:
            self._locker.close()

    def healthy(self) -> bool:
        """The worker runs and is not stuck in one action (a source call that hangs): the
        heartbeat stops then, and the service is restarted rather than reporting a frozen
        state. Called from the heartbeat's thread."""
        busy_since = self._busy_since
        stuck = busy_since is not None and time.monotonic() - busy_since > self._stall_limit
        if stuck and not self._stuck_noted:
            logger.error("The idle worker has been stuck for over %g s", self._stall_limit)
        self._stuck_noted = stuck
        if not self._thread.is_alive():
            logger.error("The idle worker thread is not running")
            return False
        return not stuck

    # ------------------------------------------- paho's thread: queue only
    def _on_command(self, message: mqtt.MQTTMessage) -> None:
        command = parse_command(message.payload, message.topic)
        if command is Command.REPORT:
            self._actions.put(Action.REPORT)
        elif command is Command.LOCK:
            self._actions.put(Action.LOCK)

    def _on_ha_online(self) -> None:
        delay = random.uniform(0, self.settings.idle_ha_birth_delay)
        timer = threading.Timer(delay, self._actions.put, args=(Action.HA_ONLINE,))
        timer.daemon = True
        self._timers = [t for t in self._timers if t.is_alive()] + [timer]
        timer.start()

    # ------------------------------------------------------- worker thread
    def _run(self) -> None:
        self._choose_source()
        next_poll = time.monotonic()
        while True:
            try:
                action = self._actions.get(timeout=max(0.0, next_poll - time.monotonic()))
            except queue.Empty:
                action = Action.POLL
            if action is Action.STOP:
                return
            self._busy_since = time.monotonic()
            try:
                self._handle(action)
            except Exception:
                logger.exception("Handling %s failed", action.value)
            finally:
                self._busy_since = None
            if action in (Action.POLL, Action.CHANGED):
                next_poll = time.monotonic() + self._timer_interval()

    def _timer_interval(self) -> float:
        """Event-driven sources need the timer only to refresh the idle seconds."""
        source = self.source
        if source is not None and source.event_driven and self.detector.answering:
            return self.settings.idle_report_interval
        return self.settings.idle_poll_interval

    def _handle(self, action: Action) -> None:
        if action in (Action.POLL, Action.CHANGED):
            resumed = self._sleep_watch.resumed()
            decision = self._poll()
            if self.source is not None:
                resumed = self.source.take_resumed() or resumed
            self._publish(decision, force=resumed)
        elif action in (Action.CONNECTED, Action.HA_ONLINE):
            self._publish_discovery()
            self._announced = True
            self._publish(self._poll(), force=True)
        elif action is Action.REPORT:
            logger.info("Command report: publishing the current state")
            self._publish(self._poll(), force=True)
        elif action is Action.LOCK:
            self._lock()
            self._publish(self._poll())

    def _choose_source(self) -> None:
        self._next_selection = time.monotonic() + self.settings.idle_source_retry
        selection = select_source(self.settings, self._source_factory)
        summary = selection.describe()
        if selection.source is not None:
            logger.info("Using %s", summary)
        elif summary != self._last_selection:
            logger.error(
                "No idle source works here yet; trying again every %.0f s. %s",
                self.settings.idle_source_retry,
                summary,
            )
        else:
            logger.debug("Still no idle source: %s", summary)
        self._last_selection = summary
        self.source = selection.source
        if self.source is not None:
            self.source.on_change(lambda: self._actions.put(Action.CHANGED))
        if self.source is not None and self._announced and self.connection.connected:
            self._publish_discovery()  # the locked entity depends on the source

    def _poll(self) -> Decision:
        if self.source is None and time.monotonic() >= self._next_selection:
            self._choose_source()
        if self.source is None:
            decision = self.detector.reset()
        else:
            try:
                decision = self.detector.update(self.source.read())
            except SourceReadError as exc:
                decision = self.detector.failure(exc)
        self.last_decision = decision
        return decision

    def _publish(self, decision: Decision, *, force: bool = False) -> None:
        # While disconnected nothing is sent: the reconnect publishes everything anyway.
        if self._announced and self.connection.connected:
            self.publisher.publish(decision, force=force)

    def _publish_discovery(self) -> None:
        settings = self.settings
        configs = entities(
            self.topics,
            settings.idle_host_name,
            settings.ha_discovery_prefix,
            knows_locked=self.source is not None and self.source.knows_locked,
            enabled=settings.ha_discovery,
        )
        for topic, config in configs.items():
            ha.publish_config(self.connection, topic, config)
        logger.info(
            "Home Assistant discovery %s for %s",
            "published" if settings.ha_discovery else "removed (HA_DISCOVERY is off)",
            settings.idle_host_name,
        )

    def _lock(self) -> None:
        from idle_reporter.sources.logind import LogindSource, SessionLocker

        try:
            if isinstance(self.source, LogindSource):
                self.source.lock()
            else:
                if self._locker is None:
                    self._locker = SessionLocker(self.settings.dbus_system_bus_address)
                self._locker.lock()
        except CommandError as exc:
            logger.error("Command lock failed: %s", exc)
            return
        logger.info("Command lock: asked logind to lock the session")
