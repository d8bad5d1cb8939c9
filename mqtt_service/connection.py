"""The MQTT connection every service stands on.

It owns the things the old scripts got wrong: a persistent session that really resumes
(stable client ID, `clean_start=False` with a session expiry on *every* connect), paho's
own reconnect with backoff (no hand-written loop fighting it), QoS 1 with delivery
tracked through `on_publish`, received QoS 1 messages acknowledged only once handled
(in arrival order, see `acks`), a retained availability topic with a last will, and
Home Assistant's birth message.

Threads: handlers, hooks and paho's callbacks run on paho's network thread; handlers
must hand slow work to a queue of their own. A deferred handler's receipt may be
settled from any thread. `publish` may be called from any thread.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from mqtt_service.ack_journal import AckJournal
from mqtt_service.acks import AckLedger, Receipt
from mqtt_service.broker_check import BrokerCheckError, tls_context, verify_broker_certificate
from mqtt_service.client_id import ClientIdentity, resolve_client_id
from mqtt_service.config import MqttSettings
from mqtt_service.delivery import DeliveryTicket, DeliveryTracker

logger = logging.getLogger(__name__)

MessageHandler = Callable[[mqtt.MQTTMessage], None]
DeferredHandler = Callable[[mqtt.MQTTMessage, Receipt], None]
Hook = Callable[[], object]
Payload = str | bytes | bytearray | int | float | None

ONLINE = "online"
OFFLINE = "offline"

# Reason codes whose cause is the user's configuration, not the network: say what to fix.
_CONNECT_HINTS = {
    134: "check MQTT_USERNAME and MQTT_PASSWORD against the broker's password file",
    135: "the broker refused these credentials or this user; check MQTT_USERNAME, "
    "MQTT_PASSWORD and the broker's ACL",
    133: "the broker rejected the client ID; check MQTT_CLIENT_ID",
    132: "the broker does not speak this MQTT version; try MQTT_PROTOCOL=311",
    5: "the broker refused these credentials; check MQTT_USERNAME and MQTT_PASSWORD",
    4: "bad user name or password; check MQTT_USERNAME and MQTT_PASSWORD",
}


@dataclass(frozen=True, slots=True)
class Subscription:
    topic_filter: str
    handler: DeferredHandler
    qos: int = 1


class MqttConnection:
    """A long-lived, self-healing MQTT session for one service instance."""

    def __init__(self, settings: MqttSettings, service_name: str, base_topic: str) -> None:
        self.settings = settings
        self.service_name = service_name
        self.availability_topic = f"{base_topic}/status"
        self.ha_status_topic = settings.ha_birth_topic
        self._identity: ClientIdentity = resolve_client_id(
            service_name, settings.state_dir, settings.mqtt_client_id
        )
        self._subscriptions: list[Subscription] = []
        self._on_connected: list[Hook] = []
        self._on_ha_online: list[Hook] = []
        self._tracker = DeliveryTracker()
        self._ledger = AckLedger(
            self._send_ack, AckJournal.for_client(settings.state_dir, self.client_id)
        )
        self._dispatch_lock = threading.Lock()
        self._holding = False
        self._connected = threading.Event()
        self._ready = threading.Event()
        self._awaited_suback: int | None = None
        self._ever_connected = False
        self._stopping = False
        self.last_connect_error: str | None = None
        self.connect_count = 0
        self.session_present = False
        self._client = self._build_client()

    # ----------------------------------------------------------------- setup
    @property
    def client_id(self) -> str:
        return self._identity.client_id

    @property
    def is_v5(self) -> bool:
        return self.settings.mqtt_protocol == 5

    def _build_client(self) -> mqtt.Client:
        settings = self.settings
        protocol = MQTTProtocolVersion.MQTTv5 if self.is_v5 else MQTTProtocolVersion.MQTTv311
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=None if self.is_v5 else False,
            protocol=protocol,
            manual_ack=True,
        )
        if settings.mqtt_username:
            password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
            client.username_pw_set(settings.mqtt_username, password)
        if settings.mqtt_tls:
            client.tls_set_context(tls_context(settings))
        client.will_set(self.availability_topic, OFFLINE, qos=1, retain=True)
        client.reconnect_delay_set(
            min_delay=settings.mqtt_reconnect_min_delay,
            max_delay=settings.mqtt_reconnect_max_delay,
        )
        client.on_connect = self._handle_connect
        client.on_connect_fail = self._handle_connect_fail
        client.on_disconnect = self._handle_disconnect
        client.on_publish = self._handle_publish
        client.on_subscribe = self._handle_subscribe
        client.on_socket_open = self._handle_socket_open
        client.on_message = self._handle_message
        return client

    def subscribe(self, topic_filter: str, handler: MessageHandler, qos: int = 1) -> None:
        """Route messages on `topic_filter` to `handler`; call before `start()`.

        Each message is acknowledged once `handler` has returned.
        """

        def settle_on_return(message: mqtt.MQTTMessage, receipt: Receipt) -> None:
            handler(message)
            receipt.settle()

        self.subscribe_deferred(topic_filter, settle_on_return, qos)

    def subscribe_deferred(self, topic_filter: str, handler: DeferredHandler, qos: int = 1) -> None:
        """Like `subscribe`, for work that ends after the handler returns: each message
        is acknowledged once its receipt is settled (when it has been answered).

        Until then the broker keeps the message and delivers it again to the next
        process if this one dies. Settle every receipt, even for a refused message,
        or the acknowledgements of all later messages wait for it.
        """
        self._subscriptions.append(Subscription(topic_filter, handler, qos))
        if self._connected.is_set():
            self._client.subscribe(topic_filter, qos)

    def hold_deliveries(self) -> None:
        """Stop handing messages to handlers (the service is stopping).

        Messages that arrive from now on stay unacknowledged, so the broker delivers
        them again after the restart; returns once no handler is running.
        """
        with self._dispatch_lock:
            self._holding = True

    def on_connected(self, hook: Hook) -> None:
        """Run `hook` after every successful (re)connect, once `online` is published."""
        self._on_connected.append(hook)

    def on_home_assistant_online(self, hook: Hook) -> None:
        """Run `hook` when Home Assistant announces it (re)started: re-send discovery."""
        if not self._on_ha_online:
            self.subscribe(self.ha_status_topic, self._handle_ha_status)
        self._on_ha_online.append(hook)

    # ------------------------------------------------------------- lifecycle
    def start(self) -> None:
        """Connect in the background; paho retries with backoff until it succeeds."""
        properties = None
        if self.is_v5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = self.settings.mqtt_session_expiry
            properties.ReceiveMaximum = self.settings.mqtt_receive_maximum
        logger.info(
            "Connecting to %s:%d as %s (client ID %s, MQTT %s, persistent session, "
            "messages acknowledged once handled)",
            self.settings.mqtt_host,
            self.settings.mqtt_port,
            self.settings.mqtt_username or "anonymous",
            self.client_id,
            "5" if self.is_v5 else "3.1.1",
        )
        self._client.connect_async(
            self.settings.mqtt_host,
            self.settings.mqtt_port,
            keepalive=self.settings.mqtt_keepalive,
            clean_start=False,
            properties=properties,
        )
        self._client.loop_start()

    def wait_connected(self, timeout: float | None = None) -> bool:
        return self._connected.wait(timeout)

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Connected and every subscription confirmed by the broker."""
        return self._ready.wait(timeout)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def stop(self, timeout: float = 5.0) -> None:
        """Say `offline` ourselves, wait for the broker's ack, then disconnect cleanly.

        A clean DISCONNECT discards the last will, so the retained `offline` must be
        published explicitly before it.
        """
        self._stopping = True
        if self._connected.is_set():
            ticket = self.publish(self.availability_topic, OFFLINE, retain=True)
            if not ticket.wait(timeout):
                logger.warning("Broker did not acknowledge 'offline' within %.0f s", timeout)
            self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()
        self._ready.clear()
        self._ledger.close()
        self._identity.release()
        logger.info("Disconnected from the broker")

    # ------------------------------------------------------------ publishing
    def publish(
        self,
        topic: str,
        payload: Payload,
        *,
        qos: int = 1,
        retain: bool = False,
        properties: Properties | None = None,
    ) -> DeliveryTicket:
        """Queue a message; paho resends QoS 1 messages after a reconnect.

        The ticket completes when the broker acknowledged it (QoS 0: when it was sent).
        """
        info = self._client.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
            return self._tracker.register(info.mid)
        if info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN and qos > 0:
            logger.debug("Not connected: %s queued until the broker is back", topic)
            return self._tracker.register(info.mid)
        # Dropped by paho (its queue is full, or QoS 0 while disconnected): no PUBACK
        # will ever complete a ticket, so none is kept.
        logger.error("Publishing to %s failed: %s", topic, mqtt.error_string(info.rc))
        return DeliveryTicket.refused(info.mid)

    @property
    def pending_deliveries(self) -> int:
        return self._tracker.pending_count

    # ------------------------------------------------------------- callbacks
    def _send_ack(self, mid: int, qos: int) -> None:
        self._client.ack(mid, qos)

    def _handle_message(
        self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage
    ) -> None:
        receipt = self._ledger.receive(message)
        if receipt is None:
            return  # a resend of a message handled already
        with self._dispatch_lock:
            if self._holding:
                logger.info(
                    "Leaving message %d on %s unacknowledged: the service is stopping; the "
                    "broker delivers it again when the service is back",
                    message.mid,
                    message.topic,
                )
                return
            self._dispatch(message, receipt)

    def _dispatch(self, message: mqtt.MQTTMessage, receipt: Receipt) -> None:
        """An exception in a handler must not kill paho's network thread, nor hold back
        the acknowledgement of every later message."""
        topic = message.topic
        handler = next(
            (
                s.handler
                for s in self._subscriptions
                if mqtt.topic_matches_sub(s.topic_filter, topic)
            ),
            None,
        )
        if handler is None:
            logger.debug("Ignoring message on %s: no handler", topic)
            receipt.settle()
            return
        try:
            handler(message, receipt)
        except Exception:
            logger.exception("Handler for %s failed", topic)
            receipt.settle()

    def _handle_socket_open(self, _client: mqtt.Client, _userdata: Any, sock: Any) -> None:
        if isinstance(sock, socket.socket):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError as exc:
                logger.debug("Could not set TCP_NODELAY: %s", exc)

    def _handle_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            hint = _CONNECT_HINTS.get(reason_code.value, "")
            message = f"Broker refused the connection: {reason_code}"
            self.last_connect_error = f"{message} ({hint})" if hint else message
            logger.error("%s; retrying with backoff", self.last_connect_error)
            return
        self.connect_count += 1
        self.session_present = flags.session_present
        self._ledger.connected(flags.session_present)
        self.last_connect_error = None
        logger.info(
            "Connected to %s:%d (%s)",
            self.settings.mqtt_host,
            self.settings.mqtt_port,
            "session resumed" if flags.session_present else "new session",
        )
        # A resumed session keeps our subscriptions; re-subscribing would replay retained
        # messages. Subscribe on a new session, and once per process in case the
        # subscriptions changed since the session was created.
        if self._subscriptions and (not flags.session_present or not self._ever_connected):
            _rc, mid = client.subscribe(
                [(entry.topic_filter, entry.qos) for entry in self._subscriptions]
            )
            self._awaited_suback = mid
        else:
            self._mark_ready("session resumed with its subscriptions")
        self._ever_connected = True
        self.publish(self.availability_topic, ONLINE, retain=True)
        self._connected.set()
        for hook in self._on_connected:
            self._run_hook(hook)

    def _handle_subscribe(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        _properties: Properties | None,
    ) -> None:
        if mid != self._awaited_suback:
            return
        for subscription, reason_code in zip(self._subscriptions, reason_codes, strict=False):
            if reason_code.is_failure:
                logger.error(
                    "Broker refused the subscription to %s: %s (check the broker's ACL)",
                    subscription.topic_filter,
                    reason_code,
                )
        topics = ", ".join(entry.topic_filter for entry in self._subscriptions)
        self._mark_ready(f"subscribed to {topics}")

    def _mark_ready(self, how: str) -> None:
        logger.info("Ready: %s", how)
        self._ready.set()

    def _handle_connect_fail(self, _client: mqtt.Client, _userdata: Any) -> None:
        if self.settings.mqtt_tls:
            # paho says nothing of why; a certificate we must not trust is worth one
            # clear line per attempt rather than "cannot reach" forever.
            try:
                verify_broker_certificate(self.settings)
            except BrokerCheckError as exc:
                self.last_connect_error = str(exc)
                logger.error("%s; retrying with backoff", exc)
                return
        logger.warning(
            "Cannot reach the broker at %s:%d; retrying with backoff (up to %d s)",
            self.settings.mqtt_host,
            self.settings.mqtt_port,
            self.settings.mqtt_reconnect_max_delay,
        )

    def _handle_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        self._ready.clear()
        self._ledger.disconnected()
        if self._stopping:
            return
        if reason_code.value == 142:  # Session taken over
            logger.error(
                "Another client connected with our client ID %s and took the session over; "
                "give every instance its own STATE_DIR or MQTT_CLIENT_ID",
                self.client_id,
            )
        elif was_connected:
            cause = (
                "the connection closed without a reason: broker restart or network"
                if reason_code.value == 128  # paho's code for a socket closed under it
                else str(reason_code)
            )
            logger.warning(
                "Lost the broker connection (%s); reconnecting with backoff, unacknowledged "
                "messages will be resent",
                cause,
            )

    def _handle_publish(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            logger.error("Broker rejected message %d: %s", mid, reason_code)
        self._tracker.acknowledge(mid, accepted=not reason_code.is_failure)

    def _handle_ha_status(self, message: mqtt.MQTTMessage) -> None:
        if message.payload.strip().lower() != ONLINE.encode():
            return
        logger.info("Home Assistant came online; re-sending discovery and state")
        for hook in self._on_ha_online:
            self._run_hook(hook)

    @staticmethod
    def _run_hook(hook: Hook) -> None:
        try:
            hook()
        except Exception:
            logger.exception("Hook %s failed", getattr(hook, "__name__", hook))
