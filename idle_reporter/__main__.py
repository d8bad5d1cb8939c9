"""`idle-reporter`: report whether the desk is in use, for Home Assistant automations.

`idle-reporter install-service` installs it as a systemd user service instead (install.py).
"""

from __future__ import annotations

import sys

from idle_reporter.service import IdleReporter
from idle_reporter.settings import IdleSettings
from mqtt_service.bootstrap import StateDirError, fail_start, load_settings_or_exit
from mqtt_service.broker_check import BrokerCheckError, verify_broker_certificate
from mqtt_service.connection import MqttConnection
from mqtt_service.runner import ServiceRunner

PROGRAM = "idle-reporter"


def main() -> int:
    if sys.argv[1:2] == ["install-service"]:
        from idle_reporter.install import main as install_service

        return install_service(sys.argv[2:])
    settings = load_settings_or_exit(PROGRAM, IdleSettings)
    if settings.mqtt_tls:
        # A certificate we must not trust is one line and exit 2, not a retry loop.
        try:
            verify_broker_certificate(settings)
        except BrokerCheckError as exc:
            fail_start(PROGRAM, exc)
    try:
        connection = MqttConnection(
            settings, service_name="idle_reporter", base_topic=settings.topic_prefix
        )
    except StateDirError as exc:
        fail_start(PROGRAM, exc)
    reporter = IdleReporter(settings, connection)
    runner = ServiceRunner(connection, on_shutdown=reporter.stop, is_healthy=reporter.healthy)
    reporter.start()
    return runner.run()


if __name__ == "__main__":
    sys.exit(main())
