"""The one atomic write every state file goes through."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from mqtt_service.state_files import write_atomically


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0o002)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.parametrize("durable", [True, False])
def test_replaces_the_file_and_leaves_nothing_beside_it(tmp_path: Path, durable: bool) -> None:
    target = tmp_path / "record.json"
    target.write_text("old\n", encoding="utf-8")
    write_atomically(target, "new ünïcode\n", durable=durable)
    assert target.read_text(encoding="utf-8") == "new ünïcode\n"
    assert [path.name for path in tmp_path.iterdir()] == ["record.json"]


def test_a_private_file_is_never_readable_by_others(tmp_path: Path, permissive_umask: None) -> None:
    target = tmp_path / "secret.env"
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o644)
    write_atomically(target, "MQTT_PASSWORD=x\n", mode=0o600)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_mode_wider_than_the_umask_is_kept_exactly(tmp_path: Path) -> None:
    previous = os.umask(0o077)
    try:
        write_atomically(tmp_path / "unit.service", "[Unit]\n", mode=0o644)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "unit.service").stat().st_mode) == 0o644


def test_a_refusing_disk_raises_oserror(tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "client_id"
    with pytest.raises(OSError):
        write_atomically(target, "x\n")
    assert not target.exists()
