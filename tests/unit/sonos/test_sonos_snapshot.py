"""Pure parts of playback: sources, snapshots on disk, how results combine."""

from __future__ import annotations

from pathlib import Path

import pytest

from sonos_bridge.ha_discovery import command_topic
from sonos_bridge.playback.jobs import Job, Outcome
from sonos_bridge.playback.takeover.snapshot import (
    UNRESTORABLE,
    GroupSnapshot,
    MemberLevel,
    Source,
    classify,
)
from sonos_bridge.playback.takeover.snapshot_store import SnapshotStore
from sonos_bridge.request.announcement import Announcement
from sonos_bridge.request.results import Result


@pytest.mark.parametrize(
    ("uri", "source"),
    [
        ("", Source.NOTHING),
        ("x-rincon-queue:RINCON_1#0", Source.QUEUE),
        ("x-rincon-queue:RINCON_1#6", Source.CLOUD_QUEUE),
        ("x-sonosapi-stream:s24896?sid=254", Source.STREAM),
        ("x-rincon-mp3radio:https://radio.example/stream", Source.STREAM),
        ("x-sonos-htastream:RINCON_1:spdif", Source.TV),
        ("x-rincon-stream:RINCON_1", Source.LINE_IN),
        ("x-sonos-vli:RINCON_1:2,airplay:abc", Source.VIRTUAL_LINE_IN),
        ("x-rincon:RINCON_2", Source.GROUP_MEMBER),
        ("x-file-cifs://nas/music/a.mp3", Source.TRACK),
        ("http://192.168.1.5:8095/tts/abc.mp3", Source.TRACK),
    ],
)
def test_sources(uri: str, source: Source) -> None:
    assert classify(uri) is source


def test_unrestorable_sources() -> None:
    assert {Source.CLOUD_QUEUE, Source.VIRTUAL_LINE_IN} <= UNRESTORABLE
    assert Source.STREAM not in UNRESTORABLE and Source.TV not in UNRESTORABLE


def combine(*outcomes: Outcome) -> Result:
    published: list[Result] = []
    announcement = Announcement(id="x", text="t", speakers=("all",))
    job = Job(announcement, ["A", "B"], len(outcomes), lambda r, _a: published.append(r))
    for outcome in outcomes:
        assert not published  # one answer, only after the last part
        job.finish_part(outcome)
    [result] = published
    return result


def test_job_answers_once_after_every_part() -> None:
    result = combine(
        Outcome(["A"], "played", latency_ms=10), Outcome(["B"], "played", latency_ms=30)
    )
    assert (result.status, result.error, result.latency_ms) == ("played", None, 30)


def test_any_failure_fails_the_request_and_names_the_speaker() -> None:
    result = combine(Outcome(["A"], "played"), Outcome(["B"], "failed", "B is off"))
    assert result.status == "failed"
    assert result.error == "B: B is off"


def test_all_expired_is_expired() -> None:
    result = combine(Outcome(["A"], "expired", "old"), Outcome(["B"], "expired", "old"))
    assert result.status == "expired"


def test_command_topic_uses_slug_only_when_the_name_cannot_be_a_topic_level() -> None:
    assert command_topic("sonos", "Living Room") == "sonos/tts/Living Room"
    assert command_topic("sonos", "Kids/Upstairs") == "sonos/tts/kids_upstairs"


def a_snapshot(uid: str = "RINCON_000E58000001400") -> GroupSnapshot:
    return GroupSnapshot(
        coordinator_uid=uid,
        coordinator_name="Living Room",
        coordinator_ip="192.168.1.20",
        uri="x-rincon-queue:RINCON_000E58000001400#0",
        metadata="<DIDL-Lite>…</DIDL-Lite>",
        transport_state="PLAYING",
        source=Source.QUEUE,
        members=(
            MemberLevel(uid, "Living Room", "192.168.1.20", 15, False),
            MemberLevel("RINCON_000E58000002400", "Kitchen", "192.168.1.21", 25, True),
        ),
        track=2,
        position="0:01:15",
    )


def test_a_snapshot_survives_json() -> None:
    snapshot = a_snapshot()
    assert GroupSnapshot.from_json(snapshot.to_json()) == snapshot


def test_a_saved_snapshot_is_found_by_the_next_start(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    make_durable = store.save(a_snapshot())
    make_durable()
    assert [p.name for p in tmp_path.iterdir()] == ["RINCON_000E58000001400.json"]
    assert SnapshotStore(tmp_path).leftovers() == [a_snapshot()]


def test_a_restored_group_leaves_nothing_behind(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    store.save(a_snapshot())
    store.remove("RINCON_000E58000001400")
    assert not store.has("RINCON_000E58000001400")
    assert list(tmp_path.iterdir()) == []


def test_a_half_written_or_foreign_file_is_dropped(tmp_path: Path) -> None:
    (tmp_path / "RINCON_000E58000001400.json").write_text('{"coordinator_uid": "RIN')
    (tmp_path / "RINCON_000E58000009400.json").write_text('{"what": "else"}')
    (tmp_path / "RINCON_000E58000008400.json").write_text('"a string"')
    (tmp_path / "RINCON_000E58000001400.tmp").write_text("{")  # a crash mid-save
    assert SnapshotStore(tmp_path).leftovers() == []
    assert list(tmp_path.iterdir()) == []
