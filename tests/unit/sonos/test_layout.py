"""The bridge's folders follow the request's journey, and imports only point backwards.

`STAGES` is the one place that says the order: a module may import its own stage and the
stages before it, never a later one (`request` knows nothing of audio or playback, `audio`
nothing of playback). `clip` and `takeover` are peers behind `playback.method`: neither
imports the other, nor the chooser, factory or workers that drive them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = "sonos_bridge"

# The journey's order. Every top-level module or folder of sonos_bridge is listed, so a
# new one has to be given its place.
STAGES: dict[str, int] = {
    # shared by every stage
    "errors": 0,
    "speakers": 0,
    # the journey
    "request": 1,
    "audio": 2,
    "playback": 3,
    # wiring: builds the stages and may import all of them
    "settings": 4,
    "service": 4,
    "cli": 4,
    "doctor": 4,
    "ha_discovery": 4,
    "__main__": 4,
    "__init__": 4,
}
PEERS = ("sonos_bridge.playback.clip", "sonos_bridge.playback.takeover")
ABOVE_THE_PEERS = (
    "sonos_bridge.playback.chooser",
    "sonos_bridge.playback.factory",
    "sonos_bridge.playback.workers",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(source: str, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, module) for every import of a sonos_bridge module, wherever it is made."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing package
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base
            yield from ((node.lineno, f"{base}.{alias.name}") for alias in node.names)


def stage_of(module: str) -> int | None:
    """The stage of a sonos_bridge module; None for anything outside the package."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    return STAGES["__init__" if len(parts) == 1 else parts[1]]


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def wrong_arrows(module: str, source: str, is_package: bool) -> list[str]:
    """Every import in `source` that points to a later stage or across the peers."""
    own = stage_of(module)
    assert own is not None
    found = []
    for line, target in imported(source, module, is_package):
        if not target.startswith(PACKAGE) or not is_module(target):
            continue  # outside the package, or a name imported from a module
        target_stage = stage_of(target)
        assert target_stage is not None
        if target_stage > own:
            found.append(f"{module}:{line} imports {target} (a later stage)")
        peer = next((p for p in PEERS if module.startswith(p)), None)
        if peer is not None:
            others = [p for p in PEERS if p != peer] + list(ABOVE_THE_PEERS)
            if any(target == o or target.startswith(f"{o}.") for o in others):
                found.append(f"{module}:{line} imports {target} (a peer or what drives it)")
    return found


def bridge_modules() -> list[Path]:
    return sorted((ROOT / PACKAGE).rglob("*.py"))


def test_every_top_level_module_has_a_stage() -> None:
    top = {p.stem if p.is_file() else p.name for p in (ROOT / PACKAGE).iterdir()}
    unplaced = {n for n in top if is_module(f"{PACKAGE}.{n}")} - set(STAGES)
    assert not unplaced, f"give these a stage in STAGES: {sorted(unplaced)}"


def test_imports_only_point_to_earlier_stages() -> None:
    wrong = []
    for path in bridge_modules():
        source = path.read_text(encoding="utf-8")
        wrong += wrong_arrows(module_name(path), source, path.name == "__init__.py")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("sonos_bridge.request.options", "from sonos_bridge.playback.jobs import Job\n"),
        ("sonos_bridge.audio.prepared", "def f():\n    import sonos_bridge.playback.workers\n"),
        ("sonos_bridge.request.results", "from sonos_bridge import service\n"),
        ("sonos_bridge.playback.clip.method", "from ..takeover import method\n"),
        ("sonos_bridge.playback.takeover.method", "from sonos_bridge.playback.chooser import X\n"),
    ],
)
def test_the_check_sees_an_arrow_the_wrong_way(module: str, source: str) -> None:
    assert wrong_arrows(module, source, is_package=False)


def test_the_check_allows_arrows_backwards() -> None:
    source = (
        "from sonos_bridge.request.announcement import Announcement\n"
        "from sonos_bridge.audio.clip_cache import Clip\n"
        "from sonos_bridge.playback.method import Group\n"
        "from sonos_bridge.speakers import Speaker\n"
    )
    assert wrong_arrows("sonos_bridge.playback.clip.method", source, is_package=False) == []
