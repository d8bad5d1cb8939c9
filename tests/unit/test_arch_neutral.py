"""Nothing in the images or scripts assumes one CPU architecture (issue 21).

Many users run the stack on a Raspberry Pi 4 or 5 (arm64), CI on x86_64. A Dockerfile or
script that names an architecture-specific thing (an x86_64 binary, an aarch64 wheel, an
amd64 path) does something only one of them can run, unless it branches on the
architecture: a `case ... esac` whose arms name both x86-64 and arm64. Comments count,
because a comment such as "x86-64 only (the binary inside is)" is often the only trace of
such a dependency. The names found by accident are few: the rule is simple on purpose.
The arm64 end-to-end run's own names (`make e2e-arm64`, tests/e2e/arm64*.sh, its
E2E_ARM64_* variables) are not
architecture-specific files and are left out.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {".git", ".venv", ".cache", "node_modules", "__pycache__", ".mypy_cache"}

ARCH_NAME = re.compile(r"x86[_-]64|amd64|aarch64|arm64|armv[67]|armhf|i[36]86", re.IGNORECASE)
FAMILIES = {
    "x86-64": re.compile(r"x86[_-]64|amd64", re.IGNORECASE),
    "arm64": re.compile(r"aarch64|arm64", re.IGNORECASE),
}
CASE_BLOCK = re.compile(r"\bcase\b.*?\besac\b", re.DOTALL)
OWN_NAMES = re.compile(r"\be2e-arm64\b|\barm64(_\w+)?\.sh\b|\bE2E_ARM64_\w+")


def scripts_and_dockerfiles() -> list[Path]:
    """Every Dockerfile, shell script, Makefile and the CI entry point of the repository."""
    found = [ROOT / "Makefile", ROOT / ".ci" / "run"]
    for path in sorted(ROOT.rglob("*")):
        if SKIPPED_DIRS.intersection(path.relative_to(ROOT).parts) or not path.is_file():
            continue
        if path.name.startswith("Dockerfile") or path.suffix == ".sh":
            found.append(path)
    return found


def unbranched_architecture_names(text: str) -> list[str]:
    """The architecture names in `text` when no `case` block names both families, else []."""
    text = OWN_NAMES.sub("", text)
    named = sorted({match.group(0) for match in ARCH_NAME.finditer(text)})
    if not named:
        return []
    for block in CASE_BLOCK.findall(text):
        if all(family.search(block) for family in FAMILIES.values()):
            return []
    return named


@pytest.mark.parametrize(
    "path", scripts_and_dockerfiles(), ids=lambda path: str(path.relative_to(ROOT))
)
def test_architecture_names_come_with_a_branch_for_both(path: Path) -> None:
    named = unbranched_architecture_names(path.read_text(encoding="utf-8"))
    assert named == [], (
        f"{path.relative_to(ROOT)} names {', '.join(named)} without a `case` on the "
        "architecture whose arms name both x86-64 (x86_64/amd64) and arm64 (aarch64/arm64)"
    )


def test_the_scan_covers_the_images_and_the_e2e_scripts() -> None:
    names = {str(path.relative_to(ROOT)) for path in scripts_and_dockerfiles()}
    assert {
        "sonos_bridge/Dockerfile",
        "idle_reporter/Dockerfile",
        "tests/e2e/base_images.sh",
        "scripts/compose-v2.sh",
        ".ci/run",
    } <= names


@pytest.mark.parametrize(
    ("text", "unbranched"),
    [
        ("install -m 0755 docker-compose  # x86-64 only\n", ["x86-64"]),
        ("pip download --platform manylinux2014_aarch64 onnxruntime\n", ["aarch64"]),
        (
            'case "$(uname -m)" in x86_64) url=$X86 ;; *) exit 1 ;; esac  # aarch64 someday\n',
            ["aarch64", "x86_64"],
        ),
        ('case "$(uname -m)" in x86_64|aarch64) VARIANT=piper ;; *) VARIANT=slim ;; esac\n', []),
        ("case $ARCH in\n  amd64) p=x86_64 ;;\n  arm64) p=aarch64 ;;\nesac\n", []),
        ("python3 -m venv /opt/venv\n", []),
        ("e2e: e2e-arm64\n\tbash tests/e2e/arm64.sh  # and tests/e2e/arm64_wheelhouse.sh\n", []),
    ],
)
def test_a_name_without_a_branch_for_the_other_architecture_is_found(
    text: str, unbranched: list[str]
) -> None:
    assert unbranched_architecture_names(text) == unbranched
