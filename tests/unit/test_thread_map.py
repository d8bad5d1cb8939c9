"""docs/architecture.md's thread map lists every thread the bridge and the MQTT core name.

The code is read with `ast`: `threading.Thread(name=...)`, `ThreadPoolExecutor(
thread_name_prefix=...)` (whose threads are `<prefix>_<n>`) and `<thread>.name = ...`.
An f-string's formatted parts become `<...>`, as the map writes them. A thread started
without a name fails too: the map could not list it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAP = ROOT / "docs" / "architecture.md"
PACKAGES = ("sonos_bridge", "mqtt_service")
THREAD_CALLS = {"Thread", "Timer"}


def _called(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _shape(value: ast.expr) -> str | None:
    """A name as the map writes it: constant text, `<...>` for what is formatted in."""
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value.value
    if isinstance(value, ast.JoinedStr):
        return "".join(
            str(part.value) if isinstance(part, ast.Constant) else "<...>" for part in value.values
        )
    return None


def _named_later(tree: ast.AST, call: ast.Call) -> str | None:
    """The name given by `x.name = "..."` to the thread `x = Timer(...)` made."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and node.value is call and len(node.targets) == 1:
            target = node.targets[0]
            if not isinstance(target, ast.Name):
                return None
            for other in ast.walk(tree):
                if (
                    isinstance(other, ast.Assign)
                    and isinstance(other.targets[0], ast.Attribute)
                    and other.targets[0].attr == "name"
                    and isinstance(other.targets[0].value, ast.Name)
                    and other.targets[0].value.id == target.id
                ):
                    return _shape(other.value)
    return None


def threads_in(source: str, where: str) -> tuple[set[tuple[str, str]], list[str]]:
    """({(name, file)}, [unnamed thread calls]) for one module's source."""
    tree = ast.parse(source)
    named: set[tuple[str, str]] = set()
    unnamed: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        keywords = {k.arg: k.value for k in node.keywords}
        if _called(node) == "ThreadPoolExecutor":
            prefix = keywords.get("thread_name_prefix")
            shape = _shape(prefix) if prefix is not None else None
            if shape is None:
                unnamed.append(f"{where}:{node.lineno} ThreadPoolExecutor without a prefix")
            else:
                named.add((f"{shape}_<n>", where))
        elif _called(node) in THREAD_CALLS:
            given = keywords.get("name")
            shape = _shape(given) if given is not None else _named_later(tree, node)
            if shape is None:
                unnamed.append(f"{where}:{node.lineno} {_called(node)} without a name")
            else:
                named.add((shape, where))
    return named, unnamed


def code_threads() -> tuple[set[tuple[str, str]], list[str]]:
    named: set[tuple[str, str]] = set()
    unnamed: list[str] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            where = path.relative_to(ROOT).as_posix()
            found, missing = threads_in(path.read_text(encoding="utf-8"), where)
            named |= found
            unnamed += missing
    return named, unnamed


def _normalise(name: str) -> str:
    return re.sub(r"<[^>]*>", "<...>", name)


def map_threads(text: str) -> set[tuple[str, str]]:
    """(name, file) of the map's rows for threads the code names (first cell in backticks)."""
    rows: set[tuple[str, str]] = set()
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[0].startswith("`"):
            continue
        name = cells[0].strip("`")
        for file in re.findall(r"`((?:sonos_bridge|mqtt_service)/[\w/]+\.py)`", cells[1]):
            rows.add((_normalise(name), file))
    return rows


def test_every_thread_is_named() -> None:
    _named, unnamed = code_threads()
    assert not unnamed, "name these threads (and add them to docs/architecture.md):\n" + (
        "\n".join(unnamed)
    )


def test_the_thread_map_lists_every_named_thread() -> None:
    named, _unnamed = code_threads()
    in_code = {(_normalise(name), file) for name, file in named}
    listed = map_threads(MAP.read_text(encoding="utf-8"))
    missing = sorted(in_code - listed)
    assert not missing, f"add to the thread map in {MAP.name}: {missing}"
    gone = sorted(listed - in_code)
    assert not gone, f"the thread map lists threads the code no longer starts: {gone}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('threading.Thread(target=f, name="refresh")', {("refresh", "m.py")}),
        ('Thread(target=f, name=f"play-{speaker.name}")', {("play-<...>", "m.py")}),
        ('ThreadPoolExecutor(2, thread_name_prefix="tts")', {("tts_<n>", "m.py")}),
        ('t = threading.Timer(1, f)\nt.name = "later"', {("later", "m.py")}),
    ],
)
def test_the_reader_finds_thread_names(source: str, expected: set[tuple[str, str]]) -> None:
    assert threads_in(source, "m.py") == (expected, [])


def test_an_unlisted_or_unnamed_thread_fails() -> None:
    named, unnamed = threads_in(
        'threading.Thread(target=f, name="newcomer")\nthreading.Thread(target=g)', "m.py"
    )
    assert unnamed == ["m.py:2 Thread without a name"]
    assert named - map_threads(MAP.read_text(encoding="utf-8")) == {("newcomer", "m.py")}
