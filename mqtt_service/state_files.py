"""Small files that a crash must never leave half-written: the one way to write them.

A file is written next to its final name and renamed over it: a reader sees the old
content or the new one, never a truncated mix. That alone survives a killed process (the
kernel keeps what was written). To survive a power cut as well, the file's data and then
its directory entry must reach the disk (fsync), which costs milliseconds, far more on an
SD card: `durable=False` leaves that out for writers on a hot path or that flush later
themselves (`flush_to_disk`).

Used for the client ID, the discovery record, the acknowledgement journal's compaction,
the group snapshots and the idle reporter's user-service files; the clip cache has its own
rename step because its files are produced by the engines, not written from text.

Threads: any. The temporary file's name is fixed per target, so each caller serialises
its writes to one path (a lock, or one thread per file): the discovery record and the
journal are written under their locks, on paho's network thread among others (hence
`durable=False` for the journal, whose fsync would stall it), each snapshot by its
coordinator's worker.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(
    path: Path, text: str, *, durable: bool = True, mode: int | None = None
) -> None:
    """Replace `path` with `text` in one step; raises OSError when the disk refuses.

    `mode` sets the file's permissions from its creation on (a file holding a password
    is never readable by others, not even for a moment); None keeps the umask's default.
    """
    temporary = path.with_name(f".{path.name}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    descriptor = os.open(temporary, flags, 0o666 if mode is None else mode)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        if mode is not None:
            os.fchmod(handle.fileno(), mode)  # exactly `mode`, whatever the umask
        handle.write(text)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(temporary, path)
    if durable:
        flush_to_disk(path.parent)


def flush_to_disk(path: Path) -> None:
    """fsync a file's data, or a directory's entries (a rename is durable only then)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
