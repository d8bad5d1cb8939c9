"""Group snapshots on disk, so that a crash in the middle of an announcement is repaired.

One file per group coordinator in `STATE_DIR/snapshots`, written before the first clip
plays and removed once the group is restored. A file that is still there when the bridge
starts means the bridge died (SIGKILL, OOM, power cut) while that group played an
announcement: its music is restored before the group plays anything new.

A save writes a temporary file and renames it over the old one before the speaker is
touched: from then on a killed process (SIGKILL, OOM) loses nothing, since the kernel
keeps what was written. Flushing the file and its directory entry to the disk (fsync, so
that a power cut loses nothing either) costs 0.3-3 ms here and far more on an SD card, so
`save` returns that step for the caller to run next to its first speaker calls and to
finish before the clip plays. A power cut in between leaves the old file, the new one, or
an unreadable one that the next start drops.

Methods are called from the coordinator workers' threads and their executors; each worker
only touches its own coordinator's file, and the in-memory index has its own lock.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path

from mqtt_service.state_files import flush_to_disk, write_atomically
from sonos_bridge.errors import StartupError
from sonos_bridge.playback.takeover.snapshot import GroupSnapshot

logger = logging.getLogger(__name__)

_SAFE_UID = re.compile(r"[^A-Za-z0-9_.-]")


class SnapshotStore:
    """The snapshots of groups that an announcement has disturbed and not yet restored."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        try:
            directory.mkdir(parents=True, exist_ok=True)
            names = {path.stem for path in directory.glob("*.json")}
            for stray in directory.glob("*.tmp"):
                stray.unlink()
        except OSError as exc:
            raise StartupError(
                f"STATE_DIR: cannot keep snapshots in {directory} ({exc.strerror or exc}); "
                "mount a writable volume"
            ) from None
        self._saved: set[str] = names

    def _path(self, uid: str) -> Path:
        return self.directory / f"{_SAFE_UID.sub('_', uid)}.json"

    def save(self, snapshot: GroupSnapshot) -> Callable[[], None]:
        """Put the coordinator's file in place; returns what makes it durable (fsync).

        Raises OSError when the disk refuses; the returned step logs its own failure.
        """
        path = self._path(snapshot.coordinator_uid)
        write_atomically(path, snapshot.to_json(), durable=False)
        with self._lock:
            self._saved.add(path.stem)
        return partial(self._make_durable, path)

    def _make_durable(self, path: Path) -> None:
        try:
            flush_to_disk(path)
            flush_to_disk(self.directory)
        except OSError as exc:  # it is in place; only a power cut could lose it now
            logger.warning("Could not flush the snapshot %s to disk: %s", path, exc)

    def remove(self, uid: str) -> None:
        path = self._path(uid)
        with self._lock:
            self._saved.discard(path.stem)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:  # the next start restores it once more: harmless
            logger.warning("Could not remove the snapshot %s: %s", path, exc)

    def has(self, uid: str) -> bool:
        """Whether a snapshot waits for `uid` (in memory: asked before every batch)."""
        with self._lock:
            return self._path(uid).stem in self._saved

    def load(self, uid: str) -> GroupSnapshot | None:
        """The snapshot left for `uid`; an unreadable one is logged and dropped."""
        if not self.has(uid):
            return None
        path = self._path(uid)
        try:
            return GroupSnapshot.from_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            logger.warning("Dropping the unreadable snapshot %s: %s", path, exc)
            self.remove(uid)
            return None

    def leftovers(self) -> list[GroupSnapshot]:
        """Every readable snapshot a previous run left (at start)."""
        with self._lock:
            stems = sorted(self._saved)
        found = []
        for stem in stems:
            snapshot = self.load(stem)
            if snapshot is not None:
                found.append(snapshot)
        return found
