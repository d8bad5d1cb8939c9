"""Client IDs: stable across restarts, unique between live instances."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mqtt_service.client_id import resolve_client_id
from mqtt_service.errors import StateDirError


def test_generated_once_and_kept(tmp_path: Path) -> None:
    first = resolve_client_id("sonos_bridge", tmp_path, None)
    assert re.fullmatch(r"sonos_bridge-[0-9a-f]{8}", first.client_id)
    first.release()
    again = resolve_client_id("sonos_bridge", tmp_path, None)
    assert again.client_id == first.client_id


def test_a_live_instance_keeps_its_id_to_itself(tmp_path: Path) -> None:
    holder = resolve_client_id("idle_reporter", tmp_path, None)
    second = resolve_client_id("idle_reporter", tmp_path, None)
    assert second.client_id != holder.client_id
    second.release()
    # The second slot is stable too.
    assert resolve_client_id("idle_reporter", tmp_path, None).client_id == second.client_id


def test_configured_id_wins(tmp_path: Path) -> None:
    assert resolve_client_id("x", tmp_path, "kitchen-bridge").client_id == "kitchen-bridge"
    assert not list(tmp_path.iterdir())


def test_corrupt_file_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "x.client_id").write_text("not a valid id with spaces\n")
    assert re.fullmatch(r"x-[0-9a-f]{8}", resolve_client_id("x", tmp_path, None).client_id)


def test_unwritable_state_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StateDirError, match="STATE_DIR"):
        resolve_client_id("x", blocker / "state", None)
