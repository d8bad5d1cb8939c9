"""Do-not-disturb switches: `<base>/dnd` for the whole house, `<base>/dnd/<room>` per room.

Each is a retained MQTT topic with payload `ON` or `OFF` (any case; an empty retained
message, which clears the switch, counts as `OFF`). Home Assistant's `switch` entities use
the same topic as command and state topic with `retain: true`, so the broker holds every
switch's state and sends it to the bridge (and to HA) whenever they (re)connect.

The bridge also keeps the switches in `STATE_DIR/dnd.json`: requests the broker
redelivers after a restart arrive before the retained switches do, and must be judged
by the switches as they were. A room is named as in its topic level: its Sonos name, or
the slug of a name that cannot be a topic level (as for `<base>/tts/<room>`); both match
a speaker case-insensitively.

Threads: `set` runs on paho's network thread; `is_on` on paho's thread (dispatch) and
on the held-requests thread. Both take the lock; the file is written under it.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from mqtt_service.discovery import slugify
from mqtt_service.state_files import write_atomically

logger = logging.getLogger(__name__)

ON, OFF = "ON", "OFF"
HOUSE = "*"  # the key of the whole-house switch in the state file


class DndPayloadError(ValueError):
    """A switch payload other than ON, OFF or empty."""


def parse_switch(payload: bytes) -> bool:
    """`ON` -> True, `OFF` or empty -> False; anything else raises DndPayloadError."""
    text = payload.decode("utf-8", "replace").strip().upper()
    if text in (ON, OFF, ""):
        return text == ON
    shown = payload[:40].decode("utf-8", "replace")
    raise DndPayloadError(f"payload {shown!r} is not ON or OFF")


def room_key(name: str) -> str:
    return name.strip().casefold()


class DndSwitches:
    """The switches' states, saved in STATE_DIR whenever one changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._on: set[str] = self._load()

    def _load(self) -> set[str]:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
            return {room_key(str(name)) for name in document.get("on", [])}
        except FileNotFoundError:
            return set()
        except (OSError, ValueError, AttributeError) as exc:
            logger.warning(
                "Ignoring %s (%s): every do-not-disturb switch starts off", self.path, exc
            )
            return set()

    def set(self, room: str | None, on: bool) -> bool:
        """Switch `room` (None: the house); True when that changed anything."""
        key = HOUSE if room is None else room_key(room)
        with self._lock:
            if (key in self._on) == on:
                return False
            if on:
                self._on.add(key)
            else:
                self._on.discard(key)
            self._save()
        logger.info(
            "Do-not-disturb %s for %s", "on" if on else "off", "the house" if room is None else room
        )
        return True

    def _save(self) -> None:
        try:
            write_atomically(self.path, json.dumps({"on": sorted(self._on)}) + "\n")
        except OSError as exc:
            logger.error("Could not save the do-not-disturb switches to %s: %s", self.path, exc)

    def is_on(self, room: str) -> bool:
        """Whether do-not-disturb holds for `room` (its own switch or the house's)."""
        keys = {HOUSE, room_key(room), slugify(room)}
        with self._lock:
            return not keys.isdisjoint(self._on)

    @property
    def house(self) -> bool:
        with self._lock:
            return HOUSE in self._on

    def rooms_on(self) -> list[str]:
        with self._lock:
            return sorted(self._on - {HOUSE})
