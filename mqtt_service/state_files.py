"""Small files in STATE_DIR that a crash must never leave half-written.

A file is written next to its final name, flushed to disk, then renamed over it: a
reader sees the old content or the new one, never a truncated mix, even after a power
cut.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step; raises OSError when the disk refuses."""
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
