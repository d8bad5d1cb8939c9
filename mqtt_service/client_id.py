"""Client IDs that are unique per running instance and stable across restarts.

A persistent session is keyed by client ID: a fresh random ID at every start orphans
the session (queued messages are never delivered), and two live instances sharing one
ID knock each other off the broker in an endless takeover loop. So the ID is generated
once, kept in the state directory, and guarded by an exclusive lock: a second instance
that shares the directory takes the next slot (with its own stable ID) instead.
"""

from __future__ import annotations

import fcntl
import logging
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mqtt_service.errors import StateDirError
from mqtt_service.state_files import write_atomically

logger = logging.getLogger(__name__)

_MAX_SLOTS = 64
_VALID_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


@dataclass
class ClientIdentity:
    """A client ID plus the lock that keeps other local instances from reusing it."""

    client_id: str
    lock_handle: IO[str] | None = None

    def release(self) -> None:
        if self.lock_handle is not None:
            self.lock_handle.close()
            self.lock_handle = None


def _slot_paths(state_dir: Path, service: str, slot: int) -> tuple[Path, Path]:
    suffix = "" if slot == 0 else f".{slot}"
    return (
        state_dir / f"{service}.client_id{suffix}",
        state_dir / f"{service}.client_id{suffix}.lock",
    )


def _try_lock(lock_path: Path) -> IO[str] | None:
    handle = lock_path.open("a", encoding="utf-8")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _read_or_create(id_path: Path, service: str) -> str:
    if id_path.exists():
        stored = id_path.read_text(encoding="utf-8").strip()
        if _VALID_ID.match(stored):
            return stored
        logger.warning("Ignoring unreadable client ID in %s; generating a new one", id_path)
    client_id = f"{service}-{secrets.token_hex(4)}"
    write_atomically(id_path, client_id + "\n")
    logger.info("Generated client ID %s (kept in %s)", client_id, id_path)
    return client_id


def resolve_client_id(service: str, state_dir: Path, configured: str | None) -> ClientIdentity:
    """Return the configured ID, else this instance's persisted `<service>-<8 hex>` ID."""
    if configured:
        return ClientIdentity(configured)
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        for slot in range(_MAX_SLOTS):
            id_path, lock_path = _slot_paths(state_dir, service, slot)
            handle = _try_lock(lock_path)
            if handle is None:
                continue
            if slot:
                logger.warning(
                    "Another %s instance uses STATE_DIR=%s; this one takes slot %d. "
                    "Give each instance its own STATE_DIR for clarity.",
                    service,
                    state_dir,
                    slot,
                )
            return ClientIdentity(_read_or_create(id_path, service), handle)
    except OSError as exc:
        raise StateDirError(
            f"STATE_DIR={state_dir}: cannot keep the client ID there ({exc.strerror or exc}); "
            "mount a writable volume or set MQTT_CLIENT_ID"
        ) from exc
    raise StateDirError(f"STATE_DIR={state_dir}: more than {_MAX_SLOTS} instances share it")
