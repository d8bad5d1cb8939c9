"""A disk cache of every clip a speaker may fetch (speech, sounds, chimes), bounded in size.

A clip is keyed by what made it (`maker`: a speech engine's name, or a sound's kind), a
`variant` (the language, or where a sound came from) and its `content` (the text, or the
sound's identity), so the same words or sound are made once and then served from disk.

Clips are written to a temporary file and renamed into place only after they decode as
MP3, so a crash, a timeout or an engine that writes nothing never leaves a file that a
speaker would be handed. Least recently used clips are evicted beyond the size limit;
use is recorded in the file's mtime so the order survives restarts. A clip that is queued
or playing is pinned and never evicted (the speaker has yet to fetch it), nor is the
newest clip (it is being handed to a request that has not pinned it yet); the cache may
exceed its limit while pinned clips alone fill it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sonos_bridge.audio.info import NotAudioError, mp3_duration
from sonos_bridge.errors import EngineError, StartupError

logger = logging.getLogger(__name__)

CLIP_NAME = re.compile(r"^([0-9a-f]{32})\.mp3$")


@dataclass(frozen=True, slots=True)
class Clip:
    """A playable MP3 in the cache."""

    key: str
    path: Path
    size: int
    duration: float

    @property
    def file_name(self) -> str:
        return f"{self.key}.mp3"


def clip_key(maker: str, variant: str, content: str) -> str:
    digest = hashlib.sha256(f"{maker}\0{variant.casefold()}\0{content}".encode())
    return digest.hexdigest()[:32]


class ClipCache:
    """Thread-safe index of the clips on disk, in least-recently-used order."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._clips: OrderedDict[str, Clip] = OrderedDict()
        self._pins: Counter[str] = Counter()
        self._total = 0
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._load()
        except OSError as exc:
            raise StartupError(
                f"CACHE_DIR={directory}: cannot keep clips there ({exc.strerror or exc}); "
                "mount a writable volume"
            ) from None

    def _load(self) -> None:
        """Index what a previous run left, dropping temporaries and broken files."""
        found: list[tuple[float, Clip]] = []
        for path in self.directory.iterdir():
            match = CLIP_NAME.match(path.name)
            if match is None:
                if path.name.endswith(".tmp"):
                    path.unlink(missing_ok=True)
                continue
            try:
                duration = mp3_duration(path)
                stat = path.stat()
            except (NotAudioError, OSError) as exc:
                logger.warning("Removing unusable cached clip %s: %s", path.name, exc)
                path.unlink(missing_ok=True)
                continue
            found.append((stat.st_mtime, Clip(match.group(1), path, stat.st_size, duration)))
        for _mtime, clip in sorted(found, key=lambda item: item[0]):
            self._clips[clip.key] = clip
            self._total += clip.size
        if found:
            logger.info(
                "Cache %s holds %d clips (%.1f MB)", self.directory, len(found), self._total / 1e6
            )
        self._evict()

    @property
    def total_bytes(self) -> int:
        with self._lock:
            return self._total

    def __len__(self) -> int:
        with self._lock:
            return len(self._clips)

    def by_key(self, key: str) -> Clip | None:
        """The clip for a URL's key, without touching the LRU order (the server's view)."""
        with self._lock:
            return self._clips.get(key)

    def get(self, maker: str, variant: str, content: str) -> Clip | None:
        key = clip_key(maker, variant, content)
        with self._lock:
            clip = self._clips.get(key)
            if clip is None:
                return None
            self._clips.move_to_end(key)
        if not clip.path.exists():
            logger.warning("Cached clip %s vanished from disk; it will be made again", key)
            self._forget(key)
            return None
        with contextlib.suppress(OSError):
            os.utime(clip.path)
        return clip

    def store(
        self, maker: str, variant: str, content: str, produce: Callable[[Path], object]
    ) -> Clip:
        """Run `produce(temporary_path)`, check the result, then rename it into place."""
        key = clip_key(maker, variant, content)
        temporary = self.directory / f".{key}.{secrets.token_hex(4)}.tmp"
        try:
            produce(temporary)
            try:
                duration = mp3_duration(temporary)
            except NotAudioError as exc:
                raise EngineError(f"{maker} produced no usable audio: {exc}") from None
            final = self.directory / f"{key}.mp3"
            os.replace(temporary, final)
        finally:
            temporary.unlink(missing_ok=True)
        clip = Clip(key, final, final.stat().st_size, duration)
        with self._lock:
            previous = self._clips.pop(key, None)
            if previous is not None:
                self._total -= previous.size
            self._clips[key] = clip
            self._total += clip.size
        self._evict()
        return clip

    def pin(self, key: str) -> None:
        """Keep `key` on disk until as many `unpin` calls (a request holds it)."""
        with self._lock:
            self._pins[key] += 1

    def unpin(self, key: str) -> None:
        with self._lock:
            self._pins[key] -= 1
            if self._pins[key] <= 0:
                del self._pins[key]
        self._evict()  # what the pin kept beyond the limit goes now

    def _forget(self, key: str) -> None:
        with self._lock:
            clip = self._clips.pop(key, None)
            if clip is not None:
                self._total -= clip.size

    def _evict(self) -> None:
        removed: list[Clip] = []
        with self._lock:
            newest = next(reversed(self._clips), None)
            for key in list(self._clips):  # least recently used first
                if self._total <= self.max_bytes:
                    break
                if key == newest or key in self._pins:
                    continue
                clip = self._clips.pop(key)
                self._total -= clip.size
                removed.append(clip)
        for clip in removed:
            clip.path.unlink(missing_ok=True)
        if removed:
            logger.info(
                "Evicted %d least recently used clips to stay under %.1f MB",
                len(removed),
                self.max_bytes / 1e6,
            )
