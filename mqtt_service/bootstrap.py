"""Start-up helpers: settings or one clear line and exit code 2, then logging."""

from __future__ import annotations

import sys
from typing import NoReturn

from mqtt_service.config import SettingsT, load_settings
from mqtt_service.errors import ConfigError, StateDirError
from mqtt_service.logging_setup import configure_logging


def fail_start(program: str, error: Exception) -> NoReturn:
    print(f"{program}: {error}", file=sys.stderr)
    sys.exit(2)


def load_settings_or_exit(program: str, settings_type: type[SettingsT]) -> SettingsT:
    """Settings from the environment; on a bad value one line naming it, exit code 2."""
    try:
        settings = load_settings(settings_type)
    except ConfigError as exc:
        fail_start(program, exc)
    configure_logging(str(getattr(settings, "log_level", "INFO")))
    return settings


__all__ = ["ConfigError", "StateDirError", "fail_start", "load_settings_or_exit"]
