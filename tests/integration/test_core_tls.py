"""The MQTT core over the broker's TLS listener (issue 18): it verifies the certificate,
and a certificate it must not trust is named in the log on every retry, not hidden behind
"cannot reach the broker"."""

from __future__ import annotations

import logging
import subprocess
import threading
from pathlib import Path

from pydantic import SecretStr

from mqtt_service.config import MqttSettings
from mqtt_service.connection import MqttConnection
from testkit.support.broker import PROJECT_CONF, MosquittoBroker, password_for, run_tls_script

TLS_SCRIPT_CONFIG = ["sh", str(PROJECT_CONF.parents[1] / "tls.sh"), "config", str(PROJECT_CONF)]


def tls_connection(broker: MosquittoBroker, state_dir: Path, ca_file: Path) -> MqttConnection:
    settings = MqttSettings(
        mqtt_host="localhost",
        mqtt_port=broker.tls_port,
        mqtt_tls=True,
        mqtt_ca_file=ca_file,
        mqtt_username="sonos_bridge",
        mqtt_password=SecretStr(password_for("sonos_bridge")),
        state_dir=state_dir,
        ha_discovery=False,
    )
    return MqttConnection(settings, service_name="echo", base_topic="sonos")


class _Seen(logging.Handler):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.event = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.event.set()


def test_the_core_connects_over_tls_with_the_brokers_ca(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    connection = tls_connection(broker, tmp_path / "state", broker.tls_dir / "ca.crt")
    connection.start()
    try:
        assert connection.wait_connected(10)
    finally:
        connection.stop()


def test_a_refused_certificate_is_logged_as_such_while_retrying(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    run_tls_script(tmp_path / "foreign")
    seen = _Seen("is not signed by MQTT_CA_FILE=")
    logging.getLogger("mqtt_service.connection").addHandler(seen)
    connection = tls_connection(broker, tmp_path / "state", tmp_path / "foreign" / "tls" / "ca.crt")
    connection.start()
    try:
        assert seen.event.wait(10)
        assert not connection.connected
        assert "not signed by" in (connection.last_connect_error or "")
    finally:
        logging.getLogger("mqtt_service.connection").removeHandler(seen)
        connection.stop()


def test_plaintext_false_keeps_the_plain_listener_inside_the_container(tmp_path: Path) -> None:
    def config(plaintext: str) -> str:
        result = subprocess.run(
            TLS_SCRIPT_CONFIG,
            env={
                "PATH": "/usr/bin:/bin",
                "MOSQUITTO_DATA_DIR": str(tmp_path),
                "MQTT_PLAINTEXT": plaintext,
            },
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout.strip()

    assert config("true") == str(PROJECT_CONF)
    derived = Path(config("false")).read_text().splitlines()
    original = PROJECT_CONF.read_text().splitlines()
    changed = [(a, b) for a, b in zip(original, derived, strict=True) if a != b]
    assert changed == [("listener 1883", "listener 1883 127.0.0.1")]
