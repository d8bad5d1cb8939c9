"""Is the broker the one we mean, and does it take our credentials? Checked once, up front.

paho reconnects with backoff whatever went wrong, so a broker certificate that does not
verify (wrong MQTT_CA_FILE, a MQTT_HOST the certificate was not made for, a plain port
given as the TLS one) would only show as an endless "cannot reach the broker". These checks
turn it into one line that says what to fix: at a service's start (the caller exits), in
`idle-reporter install-service` (nothing is installed) and, while paho retries, in the log.

A broker that cannot be reached at all is not an error here: it may be restarting, and
paho's reconnect handles that. Called from the main thread, or from paho's network thread
after a failed connect (a blocking handshake of at most `timeout` seconds, at backoff pace).
"""

from __future__ import annotations

import logging
import secrets
import socket
import ssl
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from mqtt_service.config import MqttSettings
from mqtt_service.errors import MqttServiceError

logger = logging.getLogger(__name__)

CHECK_TIMEOUT = 5.0
# OpenSSL's X509_V_ERR_* codes that have a cause the user can fix.
_UNKNOWN_ISSUER = {2, 18, 19, 20, 21}
_EXPIRED = 10
_NOT_YET_VALID = 9
_HOSTNAME_MISMATCH = 62


class BrokerCheckError(MqttServiceError):
    """The broker's certificate or its answer to our credentials rules out connecting."""


def tls_context(settings: MqttSettings) -> ssl.SSLContext:
    """Verifies the broker's certificate chain against MQTT_CA_FILE (else the system's CAs)
    and that it names MQTT_HOST. The paho client and the checks use this same context."""
    ca_file = str(settings.mqtt_ca_file) if settings.mqtt_ca_file else None
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise BrokerCheckError(
            f"MQTT_CA_FILE={settings.mqtt_ca_file}: not a readable PEM certificate ({exc})"
        ) from None


def _explain(exc: ssl.SSLCertVerificationError, settings: MqttSettings) -> str:
    where = f"{settings.mqtt_host}:{settings.mqtt_port}"
    code = exc.verify_code
    if code == _HOSTNAME_MISMATCH:
        return (
            f"the broker's TLS certificate at {where} is not valid for the name "
            f"{settings.mqtt_host!r}: set MQTT_HOST to a name or address it was made for "
            "(the stack's broker adds names with MQTT_TLS_NAMES and `make add-desktop`)"
        )
    if code in _UNKNOWN_ISSUER:
        trusted = (
            f"MQTT_CA_FILE={settings.mqtt_ca_file}"
            if settings.mqtt_ca_file
            else ("the system's certificate authorities (MQTT_CA_FILE is empty)")
        )
        return (
            f"the broker's TLS certificate at {where} is not signed by {trusted}: use the "
            "ca.crt of this broker (the desktop's bundle from `make add-desktop` has it)"
        )
    if code in {_EXPIRED, _NOT_YET_VALID}:
        return (
            f"the broker's TLS certificate at {where} is "
            f"{'expired' if code == _EXPIRED else 'not valid yet'} (check the clocks; the "
            "stack's broker renews its certificate at start)"
        )
    return f"the broker's TLS certificate at {where} was refused: {exc.verify_message}"


def verify_broker_certificate(settings: MqttSettings, timeout: float = CHECK_TIMEOUT) -> bool:
    """True when the TLS handshake verified; False when the broker could not be reached.

    Raises BrokerCheckError when the broker answered with a certificate we must not trust,
    or did not speak TLS at all.
    """
    context = tls_context(settings)
    address = (settings.mqtt_host, settings.mqtt_port)
    try:
        raw = socket.create_connection(address, timeout)
    except OSError:
        return False
    with raw:
        try:
            with context.wrap_socket(raw, server_hostname=settings.mqtt_host):
                return True
        except ssl.SSLCertVerificationError as exc:
            raise BrokerCheckError(_explain(exc, settings)) from None
        except ssl.SSLError as exc:
            raise BrokerCheckError(
                f"no TLS handshake with {address[0]}:{address[1]} ({exc.reason}): is "
                f"MQTT_PORT={address[1]} the broker's TLS port (the stack's: MQTT_TLS_PORT, "
                "8883)?"
            ) from None
        except OSError:
            return False  # the connection dropped: a restarting broker


def check_login(settings: MqttSettings, timeout: float = CHECK_TIMEOUT) -> ReasonCode | None:
    """Log in once with the service's credentials under a throw-away client ID.

    Returns the broker's CONNACK reason (`.is_failure` when refused), or None when the
    broker could not be reached within `timeout`.
    """
    answered = threading.Event()
    result: list[ReasonCode] = []

    def on_connect(_c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        result.append(reason)
        answered.set()

    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"check-{secrets.token_hex(4)}",
        protocol=MQTTProtocolVersion.MQTTv5
        if settings.mqtt_protocol == 5
        else MQTTProtocolVersion.MQTTv311,
    )
    if settings.mqtt_username:
        password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
        client.username_pw_set(settings.mqtt_username, password)
    if settings.mqtt_tls:
        client.tls_set_context(tls_context(settings))
    client.on_connect = on_connect
    try:
        client.connect(settings.mqtt_host, settings.mqtt_port, keepalive=10)
    except OSError:
        return None
    client.loop_start()
    try:
        answered.wait(timeout)
    finally:
        client.disconnect()
        client.loop_stop()
    return result[0] if result else None
