"""The acknowledgement ledger on disk, so a restarted service knows what it already did.

After a crash the broker resends every message the service had not acknowledged. Two
things about them are known only to the dead process: which ones it had already
answered (their acknowledgement was waiting for an earlier message: answering them again
would replay an announcement), and when each first arrived (a request's `max_age` counts
from then, not from the redelivery). This journal keeps both in `STATE_DIR`.

It is an append-only log of short lines (`R` received, `S` settled, `D` done), rewritten
compactly once it grows well past what is still pending, so each message costs two small
appends and no rewrite of everything pending. No fsync: the page cache survives a killed
process; after a power cut the journal may be behind, and the cost is a replay, never a
loss. Runs under the ledger's lock, on whichever thread received or settled a message.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from mqtt_service.state_files import write_atomically

logger = logging.getLogger(__name__)

# Rewrite the log when it holds this many more lines than there are pending messages.
COMPACT_AFTER = 1000


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One unacknowledged message as the journal remembers it."""

    mid: int
    qos: int
    digest: str
    first_seen: float  # wall-clock seconds: meaningful across restarts
    settled: bool = False


class AckJournal:
    """Append-only record of the pending acknowledgements of one client ID."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: TextIO | None = None
        self._lines = 0
        self._failing = False  # warn once, not at every message

    @classmethod
    def for_client(cls, state_dir: Path, client_id: str) -> AckJournal:
        safe_id = re.sub(r"[^A-Za-z0-9_.-]", "_", client_id)
        return cls(state_dir / f"acks-{safe_id}.log")

    def load(self) -> list[JournalEntry]:
        """What was pending when the previous process stopped, in arrival order."""
        entries: dict[int, JournalEntry] = {}
        try:
            text = self.path.read_text(encoding="ascii", errors="replace")
        except FileNotFoundError:
            return []
        except OSError as exc:
            logger.warning("Cannot read %s (%s); starting without it", self.path, exc)
            return []
        for line in text.splitlines():
            self._replay(entries, line.split())
        return list(entries.values())

    @staticmethod
    def _replay(entries: dict[int, JournalEntry], fields: list[str]) -> None:
        try:
            if fields[0] == "R" and len(fields) == 5:
                mid = int(fields[1])
                entries[mid] = JournalEntry(mid, int(fields[2]), fields[3], float(fields[4]))
            elif fields[0] == "S" and int(fields[1]) in entries:
                mid = int(fields[1])
                entries[mid] = replace(entries[mid], settled=True)
            elif fields[0] == "D":
                entries.pop(int(fields[1]), None)
        except (IndexError, ValueError):
            pass  # a line cut short by a crash: the broker resends that message anyway

    @staticmethod
    def _lines_of(entry: JournalEntry) -> str:
        received = f"R {entry.mid} {entry.qos} {entry.digest} {entry.first_seen:.3f}\n"
        return received + (f"S {entry.mid}\n" if entry.settled else "")

    def received(self, entry: JournalEntry) -> None:
        self._append(self._lines_of(entry))

    def settled(self, mid: int) -> None:
        self._append(f"S {mid}\n")

    def done(self, mids: list[int]) -> None:
        self._append("".join(f"D {mid}\n" for mid in mids))

    def compact_if_large(self, pending: list[JournalEntry]) -> None:
        if self._lines > len(pending) + COMPACT_AFTER:
            self.rewrite(pending)

    def rewrite(self, pending: list[JournalEntry]) -> None:
        """Replace the log with just the pending entries (atomically)."""
        self.close()
        text = "".join(self._lines_of(entry) for entry in pending)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.path, text, durable=False)  # no fsync: see above
        except OSError as exc:
            logger.warning("Cannot write %s: %s", self.path, exc)
        self._lines = text.count("\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _append(self, text: str) -> None:
        try:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("a", encoding="ascii")
            self._file.write(text)
            self._file.flush()
        except OSError as exc:
            if not self._failing:
                logger.warning(
                    "Cannot write %s (%s): after a crash, answered requests may be replayed",
                    self.path,
                    exc,
                )
            self._failing = True
            return
        self._failing = False
        self._lines += text.count("\n")
