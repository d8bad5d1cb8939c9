"""A state file written by the compositor's idle daemon (hypridle, swayidle).

Wayland compositors such as Hyprland and sway only tell their own idle daemon about
input; its `on-timeout` / `on-resume` hooks write `idle` or `active` into a file
(`echo idle 300 > $XDG_RUNTIME_DIR/idle-state`). The daemon applies its own timeout and
honours idle inhibitors, so its word is the decision. The file is checked by mtime at
every poll: a stat() is cheaper than any notification machinery.

No file means no desktop session told us anything (none is running, or its hooks have not
fired yet): the source is then unavailable and the state `unknown`, never an assumed
`active`. A file that disappears (the runtime directory is emptied at logout) is a source
that stopped answering.

Format: the first word is `idle` or `active` (`timeout`/`resume` are accepted too); an
optional number after `idle` is the daemon's timeout, added to the idle seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from idle_reporter.errors import SourceReadError, SourceUnavailableError
from idle_reporter.sources.base import IdleSource, Reading

logger = logging.getLogger(__name__)

IDLE_WORDS = frozenset({"idle", "timeout"})
ACTIVE_WORDS = frozenset({"active", "resume", "resumed"})


def parse_state(text: str) -> tuple[bool, float] | None:
    """(is_idle, timeout offset) from the file's text, or None when it is not a state."""
    words = text.split()
    if not words:
        return None
    word = words[0].lower()
    if word in ACTIVE_WORDS:
        return False, 0.0
    if word not in IDLE_WORDS:
        return None
    offset = 0.0
    if len(words) > 1:
        try:
            offset = max(0.0, float(words[1]))
        except ValueError:
            offset = 0.0
    return True, offset


class FileSource(IdleSource):
    """Idle state from the last word the idle daemon's hooks wrote."""

    name = "file"

    def __init__(
        self,
        path: Path | None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self._clock = clock
        self._key: tuple[int, int, int] | None = None
        self._idle = False
        self._offset = 0.0
        self._since = clock()
        self._bad_text: str | None = None

    def open(self) -> None:
        if self.path is None:
            raise SourceUnavailableError(
                "IDLE_STATE_FILE is not set and XDG_RUNTIME_DIR is unknown"
            )
        if not self.path.parent.is_dir():
            raise SourceUnavailableError(
                f"{self.path.parent} does not exist (mount the directory the hooks write to)"
            )
        if not self.path.exists():
            raise SourceUnavailableError(
                f"no state file at {self.path} yet (no idle hook has written it; the state is "
                "unknown until one does)"
            )
        self.read()

    def read(self) -> Reading:
        assert self.path is not None
        try:
            info = self.path.stat()
        except OSError as exc:
            raise SourceReadError(f"file: cannot read {self.path}: {exc.strerror or exc}") from exc
        key = (info.st_mtime_ns, info.st_size, info.st_ino)
        if key != self._key:
            self._key = key
            self._load(info.st_mtime)
        idle_seconds = self._offset + max(0.0, self._clock() - self._since) if self._idle else 0.0
        return Reading(idle_seconds=idle_seconds, idle_hint=self._idle)

    def _load(self, mtime: float) -> None:
        assert self.path is not None
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return
        except OSError as exc:
            raise SourceReadError(f"file: cannot read {self.path}: {exc.strerror or exc}") from exc
        if not text.strip():
            # `echo idle > file` truncates before it writes: the next change brings the word.
            return
        state = parse_state(text)
        if state is None:
            if text != self._bad_text:
                self._bad_text = text
                logger.warning(
                    "%s says %r; expected 'idle' or 'active': keeping the last state",
                    self.path,
                    text.strip()[:40],
                )
            return
        self._bad_text = None
        self._idle, self._offset = state
        self._since = mtime
