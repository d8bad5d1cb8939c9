"""Commands on `idle/<host>/command`: `report` and `lock`.

Parsing happens on paho's network thread and must not block, so it only turns the
payload into a Command; the service's worker thread carries it out.
"""

from __future__ import annotations

import logging
from enum import StrEnum

logger = logging.getLogger(__name__)


class Command(StrEnum):
    REPORT = "report"
    LOCK = "lock"


def parse_command(payload: bytes, topic: str) -> Command | None:
    """The command in `payload`, or None (logged as an error) when there is none."""
    text = payload.decode("utf-8", errors="replace").strip()
    try:
        return Command(text.lower())
    except ValueError:
        choices = ", ".join(command.value for command in Command)
        logger.error(
            "Ignoring unknown command %r on %s; expected one of: %s", text[:64], topic, choices
        )
        return None
