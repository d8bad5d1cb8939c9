"""The clip cache: atomic writes, validation, LRU eviction, recovery after a restart."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sonos_bridge.audio.clip_cache import ClipCache, clip_key
from sonos_bridge.errors import EngineError


def test_empty_or_broken_output_is_never_cached(cache: ClipCache) -> None:
    with pytest.raises(EngineError, match="no usable audio"):
        cache.store("gtts", "en", "a", lambda target: target.write_bytes(b""))
    with pytest.raises(EngineError, match="no usable audio"):
        cache.store("gtts", "en", "b", lambda target: target.write_bytes(b"<html>429</html>"))
    assert list(cache.directory.iterdir()) == []
    assert cache.get("gtts", "en", "a") is None


def test_a_crashing_engine_leaves_no_temporary_file(cache: ClipCache) -> None:
    def crash(target: Path) -> None:
        target.write_bytes(b"half")
        raise EngineError("connection reset")

    with pytest.raises(EngineError):
        cache.store("gtts", "en", "a", crash)
    assert list(cache.directory.iterdir()) == []


def test_key_depends_on_engine_language_and_text() -> None:
    keys = {clip_key("gtts", "en", "a"), clip_key("espeak", "en", "a"), clip_key("gtts", "de", "a")}
    assert len(keys | {clip_key("gtts", "en", "b")}) == 4


def test_least_recently_used_clips_are_evicted(tmp_path: Path, mp3_bytes: bytes) -> None:
    cache = ClipCache(tmp_path / "c", max_bytes=len(mp3_bytes) * 2 + 10)
    write = lambda target: target.write_bytes(mp3_bytes)  # noqa: E731
    first = cache.store("e", "en", "one", write)
    cache.store("e", "en", "two", write)
    assert cache.get("e", "en", "one") == first  # "one" is now the most recent
    cache.store("e", "en", "three", write)
    assert cache.get("e", "en", "two") is None
    assert cache.get("e", "en", "one") is not None
    assert cache.total_bytes <= cache.max_bytes
    assert len(list(cache.directory.glob("*.mp3"))) == 2


def test_restart_keeps_good_clips_and_drops_broken_ones(tmp_path: Path, mp3_bytes: bytes) -> None:
    directory = tmp_path / "c"
    cache = ClipCache(directory, 10**7)
    good = cache.store("e", "en", "good", lambda target: target.write_bytes(mp3_bytes))
    (directory / f"{clip_key('e', 'en', 'bad')}.mp3").write_bytes(b"")
    (directory / ".leftover.tmp").write_bytes(b"x")
    os.utime(good.path, (1, 1))
    again = ClipCache(directory, 10**7)
    assert again.get("e", "en", "good") is not None
    assert sorted(p.name for p in directory.iterdir()) == [good.path.name]


def test_pinned_clips_are_kept_until_released(tmp_path: Path, mp3_bytes: bytes) -> None:
    """A queued or playing clip must still be there when the speaker fetches it."""
    cache = ClipCache(tmp_path / "c", max_bytes=len(mp3_bytes) * 2 + 10)
    write = lambda target: target.write_bytes(mp3_bytes)  # noqa: E731
    playing = cache.store("e", "en", "playing", write)
    queued = cache.store("e", "en", "queued", write)
    cache.pin(playing.key)
    cache.pin(queued.key)
    for text in ("two", "three"):
        cache.store("e", "en", text, write)
    assert playing.path.is_file() and queued.path.is_file()
    assert cache.get("e", "en", "two") is None  # the unpinned one made room instead
    cache.unpin(playing.key)  # played: it may go now, the cache is over its limit
    assert not playing.path.exists()
    assert queued.path.is_file()
    assert cache.total_bytes <= cache.max_bytes
