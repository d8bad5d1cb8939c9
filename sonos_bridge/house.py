"""The house rules in the running bridge: the do-not-disturb topics, the gate, the checks.

Builds the rules from the settings once, owns the switches (`request.dnd`) and the gate
every request passes (`playback.gate`), subscribes to `<base>/dnd` and `<base>/dnd/+`,
and checks the per-room settings against the speakers: at start a room no speaker has
stops the bridge (StartupError, one line naming the setting); later, when the speaker list
changes, it is only logged (a speaker unplugged must not stop the house speaking).

Threads: `_on_switch` runs on paho's network thread; `start`, `stop` on the main thread;
`speakers_changed` on the speaker-refresh thread. The gate's held thread ("held") is
started and stopped here.
"""

from __future__ import annotations

import logging

import paho.mqtt.client as mqtt

from mqtt_service.acks import Receipt
from mqtt_service.connection import MqttConnection
from sonos_bridge.errors import StartupError
from sonos_bridge.playback.gate import Enqueue, InStepRule, Resolve, RulesGate
from sonos_bridge.request.dnd import DndPayloadError, DndSwitches, parse_switch
from sonos_bridge.request.house_rules import unknown_rooms
from sonos_bridge.settings import SonosSettings

logger = logging.getLogger(__name__)


class HouseRulesRuntime:
    """The rules, switches and gate of one bridge."""

    def __init__(
        self,
        settings: SonosSettings,
        *,
        enqueue: Enqueue,
        resolve: Resolve,
        in_step: InStepRule,
    ) -> None:
        self.settings = settings
        self.base_topic = settings.sonos_base_topic
        self.rules = settings.house_rules()
        self.switches = DndSwitches(settings.state_dir / "dnd.json")
        self.gate = RulesGate(
            self.rules, self.switches, enqueue=enqueue, resolve=resolve, in_step=in_step
        )

    def route(self, connection: MqttConnection) -> None:
        """The switches' retained states arrive at every (re)connect."""
        connection.subscribe_deferred(f"{self.base_topic}/dnd", self._on_switch)
        connection.subscribe_deferred(f"{self.base_topic}/dnd/+", self._on_switch)

    def start(self, speakers: list[str]) -> None:
        """Check the per-room settings against the speakers found, then start holding."""
        problems = unknown_rooms(self.settings.rule_rooms, speakers) if speakers else []
        if problems:
            raise StartupError(problems[0])
        for line in self.rules.describe():
            logger.info("House rule: %s", line)
        self.gate.held.start()

    def stop(self) -> None:
        """What is still held stays unanswered: the broker delivers it again."""
        left = self.gate.held.stop()
        if left:
            logger.info(
                "%d held request(s) left unanswered; the broker delivers them again after "
                "the restart",
                len(left),
            )

    def speakers_changed(self, speakers: list[str]) -> None:
        for problem in unknown_rooms(self.settings.rule_rooms, speakers):
            logger.warning("House rules: %s", problem)

    def _on_switch(self, message: mqtt.MQTTMessage, receipt: Receipt) -> None:
        prefix = f"{self.base_topic}/dnd/"
        room = message.topic[len(prefix) :] if message.topic.startswith(prefix) else None
        try:
            on = parse_switch(message.payload)
        except DndPayloadError as exc:
            logger.warning("Ignoring %s: %s (send ON or OFF, retained)", message.topic, exc)
        else:
            if self.switches.set(room, on):
                self.gate.held.recheck()
        receipt.settle()
