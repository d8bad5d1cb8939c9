"""Sounds as announcements: named files, fetched URLs, the chime, chime + speech joined.

Real files, real lame, a real local HTTP server for sound_url; the cache is the bridge's.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sonos_bridge.audio.clip_cache import ClipCache
from sonos_bridge.audio.info import audio_info
from sonos_bridge.audio.sounds.errors import (
    SoundTooLargeError,
    SoundUnreachableError,
    UndecodableSoundError,
    UnknownSoundError,
)
from sonos_bridge.audio.sounds.library import SoundLibrary
from testkit.support.audio import write_mp3
from testkit.support.sound_server import SoundServer

LIMIT = 200_000


@pytest.fixture
def library(tmp_path: Path, sounds_dir: Path) -> SoundLibrary:
    cache = ClipCache(tmp_path / "cache", 50 * 1024 * 1024)
    return SoundLibrary(cache, sounds_dir, max_bytes=LIMIT, fetch_timeout=1.0)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SoundServer]:
    with SoundServer(tmp_path, LIMIT) as instance:
        yield instance


# ----------------------------------------------------------------- named sounds
def test_a_named_mp3_is_stored_as_it_is(library: SoundLibrary, sounds_dir: Path) -> None:
    clip = library.named("doorbell")
    assert clip.path.read_bytes() == (sounds_dir / "doorbell.mp3").read_bytes()
    assert library.named("Doorbell.MP3".lower()) == clip  # the suffix may be given


def test_a_named_wav_is_encoded_as_mp3(library: SoundLibrary) -> None:
    clip = library.named("gong")
    info = audio_info(clip.path)
    assert info.kind == "mp3" and abs(info.duration - 0.4) < 0.1
    assert clip.path.name.endswith(".mp3")


def test_an_edited_sound_is_read_again(library: SoundLibrary, sounds_dir: Path) -> None:
    first = library.named("doorbell")
    write_mp3(sounds_dir / "doorbell.mp3", 1.0)
    os.utime(sounds_dir / "doorbell.mp3", ns=(1, 10**18))
    second = library.named("doorbell")
    assert second.key != first.key and second.duration > first.duration


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("ghost", "no sound 'ghost' in SOUNDS_DIR (found: doorbell, gong)"),
        ("../doorbell", "'../doorbell' is not a sound name"),
        ("/etc/passwd", "is not a sound name"),
        ("doorbell.ogg", "is not a sound name"),
        ("escape", "no sound 'escape' in SOUNDS_DIR"),
    ],
)
def test_unknown_or_tricky_names_are_refused(
    library: SoundLibrary, sounds_dir: Path, tmp_path: Path, name: str, message: str
) -> None:
    outside = write_mp3(tmp_path / "secret.mp3", 0.2)
    (sounds_dir / "escape.mp3").symlink_to(outside)  # a link out of the folder is not a sound
    with pytest.raises(UnknownSoundError) as refused:
        library.named(name)
    assert message in str(refused.value)


def test_named_sounds_need_sounds_dir(tmp_path: Path) -> None:
    library = SoundLibrary(ClipCache(tmp_path, 10**7), None, max_bytes=LIMIT, fetch_timeout=1)
    with pytest.raises(UnknownSoundError, match="SOUNDS_DIR is not set"):
        library.named("doorbell")


def test_oversized_and_undecodable_files_are_refused(
    library: SoundLibrary, sounds_dir: Path
) -> None:
    (sounds_dir / "huge.mp3").write_bytes(b"\0" * (LIMIT + 1))
    with pytest.raises(
        SoundTooLargeError, match=r"sound .huge. is larger than 0.191 MB \(SOUND_MAX_MB\)"
    ):
        library.named("huge")
    (sounds_dir / "text.mp3").write_text("just text")
    with pytest.raises(UndecodableSoundError, match="not MP3 or WAV audio"):
        library.named("text")
    (sounds_dir / "float.wav").write_bytes(b"RIFF\x24\0\0\0WAVEfmt \x10\0\0\0\x03\0" + b"\0" * 40)
    with pytest.raises(UndecodableSoundError, match="not a PCM WAV file"):
        library.named("float")
    assert len(library.cache) == 0  # nothing unplayable was kept


# ----------------------------------------------------------------- sound_url
def test_a_sound_url_is_fetched_once_and_then_served_from_the_cache(
    library: SoundLibrary, server: SoundServer
) -> None:
    first = library.from_url(server.url("bell.mp3"))
    again = library.from_url(server.url("bell.mp3"))
    assert first == again and server.requests == ["bell.mp3"]
    wav = library.from_url(server.url("bell.wav"))
    assert audio_info(wav.path).kind == "mp3"


@pytest.mark.parametrize(
    ("path", "error", "message"),
    [
        ("missing.mp3", SoundUnreachableError, "sound_url answered HTTP 404"),
        ("page.html", UndecodableSoundError, "not MP3 or WAV audio"),
        ("declared-huge", SoundTooLargeError, "sound_url is larger than 0.191 MB (SOUND_MAX_MB)"),
        ("endless", SoundTooLargeError, "larger than"),
        ("slow", SoundUnreachableError, "took longer than 1 s (SOUND_FETCH_TIMEOUT)"),
    ],
)
def test_bad_sound_urls_are_refused_with_the_reason(
    library: SoundLibrary, server: SoundServer, path: str, error: type[Exception], message: str
) -> None:
    started = time.monotonic()
    with pytest.raises(error) as refused:
        library.from_url(server.url(path))
    assert message in str(refused.value)
    assert time.monotonic() - started < 5  # the trickling server would hold it for 10 s
    assert len(library.cache) == 0
    assert not list(library.cache.directory.iterdir())  # no temporary left behind


def test_an_unreachable_sound_url_names_the_host(library: SoundLibrary) -> None:
    with pytest.raises(
        SoundUnreachableError, match=r"cannot fetch from 127\.0\.0\.1 \(connection refused\)"
    ):
        library.from_url("http://127.0.0.1:9/bell.mp3")


# ----------------------------------------------------------------- chimes
def test_the_default_chime_is_made_once_and_decodes(library: SoundLibrary) -> None:
    chime = library.chime()
    info = audio_info(chime.path)
    assert info.kind == "mp3" and 0.8 < info.duration < 1.4
    assert library.chime() == chime


def test_chime_sound_or_a_requested_name_replaces_the_default(
    library: SoundLibrary, sounds_dir: Path
) -> None:
    assert library.chime("gong") == library.named("gong")
    library.chime_sound = "doorbell"
    assert library.chime() == library.named("doorbell")


@pytest.mark.parametrize(
    "chime_name",
    [None, "gong"],  # the default (same rate as the speech); 44.1 kHz stereo (resampled)
)
def test_chime_and_speech_join_into_one_clip_without_a_gap(
    library: SoundLibrary, chime_name: str | None
) -> None:
    speech = library.cache.store(
        "test", "en", "speech", lambda target: write_mp3(target, 2.0, rate=22050)
    )
    chime = library.chime(chime_name)
    joined = library.joined([chime, speech])
    info = audio_info(joined.path)
    assert (info.sample_rate, info.channels) == (22050, 1)
    # Within one MP3 frame or two of the sum: nothing inserted between the parts.
    assert abs(info.duration - (chime.duration + speech.duration)) < 0.11
    assert library.joined([chime, speech]) == joined


def test_a_chime_a_sound_and_speech_join_in_that_order(library: SoundLibrary) -> None:
    speech = library.cache.store("test", "en", "speech", lambda target: write_mp3(target, 1.0))
    parts = [library.chime(), library.named("gong"), speech]  # gong: 44.1 kHz stereo
    joined = library.joined(parts)
    info = audio_info(joined.path)
    assert (info.sample_rate, info.channels) == (22050, 1)  # the speech's format
    assert abs(info.duration - sum(part.duration for part in parts)) < 0.15
    assert library.joined(list(reversed(parts))) != joined
