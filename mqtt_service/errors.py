"""Typed exceptions of the MQTT core, so callers can tell a bad setting from a broken link."""


class MqttServiceError(Exception):
    """Base class for every error the MQTT core raises on purpose."""


class ConfigError(MqttServiceError):
    """A setting from the environment is missing or invalid; the service cannot start."""


class StateDirError(MqttServiceError):
    """The state directory cannot hold the client ID; a stable identity is impossible."""
