"""Sounds as cached clips: by name from SOUNDS_DIR, fetched from a URL, the chime, joins.

Everything ends up as an MP3 in the clip cache (WAV is encoded with lame on the way in),
so the audio server serves sounds exactly like speech and takeover mode can join a chime
to speech. Cache keys: a named file by name, modification time and size (an edited file
is read again); a URL by the URL itself (to change the sound, change the URL); clips
joined into one (a chime or sound, then speech) by their keys.

Threads: `named`, `from_url` and `chime` run on the preparer's "sounds" workers
(`prepared.AudioPreparer`), `joined` on a coordinator worker (takeover mode); every method
blocks for at most the fetch timeout plus lame's runs and may be called from several
threads at once (the cache is thread-safe; a sound made twice at the
same moment is simply stored twice under one key).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from sonos_bridge.audio.clip_cache import Clip, ClipCache
from sonos_bridge.audio.info import NotAudioError, audio_info
from sonos_bridge.audio.lame import wav_to_mp3
from sonos_bridge.audio.sounds.chime import VERSION, join_clips, write_default_chime
from sonos_bridge.audio.sounds.errors import (
    SoundTooLargeError,
    UndecodableSoundError,
    UnknownSoundError,
)
from sonos_bridge.audio.sounds.fetch import fetch_sound
from sonos_bridge.request.sound_names import file_names

logger = logging.getLogger(__name__)

ENCODE_TIMEOUT = 30.0
LISTED = 10  # sound names a "no such sound" error lists


class SoundLibrary:
    """Turns a request's sound, sound_url and chime into clips the speakers can fetch."""

    def __init__(
        self,
        cache: ClipCache,
        sounds_dir: Path | None,
        *,
        max_bytes: int,
        fetch_timeout: float,
        chime_sound: str | None = None,
    ) -> None:
        self.cache = cache
        self.sounds_dir = sounds_dir
        self.max_bytes = max_bytes
        self.fetch_timeout = fetch_timeout
        self.chime_sound = chime_sound

    def named(self, name: str) -> Clip:
        """The sound called `name` in SOUNDS_DIR (doorbell -> doorbell.mp3 or doorbell.wav)."""
        path = self._find(name)
        stat = path.stat()
        if stat.st_size > self.max_bytes:
            raise SoundTooLargeError(f"sound {name!r}", self.max_bytes)
        identity = f"{path.name}\0{stat.st_mtime_ns}\0{stat.st_size}"
        return self._cached("sound", "file", identity, lambda target: _import(path, target))

    def from_url(self, url: str) -> Clip:
        """The sound at `url`, fetched once and checked to decode as MP3 or WAV."""

        def produce(target: Path) -> None:
            download = target.with_name(target.name + ".download")
            try:
                fetch_sound(url, download, self.max_bytes, self.fetch_timeout)
                _import(download, target)
            finally:
                download.unlink(missing_ok=True)

        return self._cached("sound", "url", url, produce)

    def chime(self, name: str | None = None) -> Clip:
        """The request's named chime, else CHIME_SOUND, else the bridge's own chime."""
        name = name or self.chime_sound
        if name:
            return self.named(name)
        return self._cached(
            "chime", "default", VERSION, lambda target: write_default_chime(target, ENCODE_TIMEOUT)
        )

    def joined(self, clips: Sequence[Clip]) -> Clip:
        """One clip that plays `clips` one after the other with no pause (takeover mode)."""

        def produce(target: Path) -> None:
            join_clips([clip.path for clip in clips], target, ENCODE_TIMEOUT)

        return self._cached("joined", "", "\0".join(clip.key for clip in clips), produce)

    def _cached(
        self, kind: str, origin: str, identity: str, produce: Callable[[Path], object]
    ) -> Clip:
        clip = self.cache.get(kind, origin, identity)
        return clip if clip is not None else self.cache.store(kind, origin, identity, produce)

    def _find(self, name: str) -> Path:
        candidates = file_names(name)
        if not candidates:
            raise UnknownSoundError(
                f"{name!r} is not a sound name: use a file name from SOUNDS_DIR without "
                "folders, such as doorbell or doorbell.mp3"
            )
        if self.sounds_dir is None:
            raise UnknownSoundError(f"no sound {name!r}: SOUNDS_DIR is not set")
        found = self._sound_files()
        for candidate in candidates:
            if candidate in found:
                return found[candidate]
        names = sorted({Path(file_name).stem for file_name in found})
        listing = ", ".join(names[:LISTED]) + (", ..." if len(names) > LISTED else "")
        raise UnknownSoundError(
            f"no sound {name!r} in SOUNDS_DIR (found: {listing or 'no .mp3 or .wav files'})"
        )

    def _sound_files(self) -> dict[str, Path]:
        """The playable files directly in SOUNDS_DIR; links that lead out of it do not count."""
        assert self.sounds_dir is not None
        root = self.sounds_dir.resolve()
        try:
            paths = list(root.iterdir())
        except OSError as exc:
            raise UnknownSoundError(f"cannot read SOUNDS_DIR: {exc.strerror}") from None
        return {
            path.name: path
            for path in paths
            if path.suffix.lower() in (".mp3", ".wav")
            and path.is_file()
            and path.resolve().parent == root
        }


def _import(source: Path, target: Path) -> None:
    """Copy an MP3, or encode a WAV as MP3, after checking that it decodes."""
    try:
        info = audio_info(source)
    except NotAudioError as exc:
        raise UndecodableSoundError(str(exc)) from None
    if info.kind == "mp3":
        shutil.copyfile(source, target)
    else:
        wav_to_mp3(source, target, info.channels, ENCODE_TIMEOUT)
