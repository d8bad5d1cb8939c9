"""In CI, a test skipped for a missing tool fails instead: such a skip hides a missing
install step (a compositor, Xvfb, dbus-daemon not in `.ci/run`'s package list).

Tests call `skip_missing_tool(...)` instead of `pytest.skip(...)` when a program or file
they drive is absent. On a developer's machine that is an ordinary skip; when `CI` is set
(`true`/`1`/`yes`, as `.ci/run` and hosted CI services set it) the hook below turns the
skip into a failure that names the tool. `tests/conftest.py` registers the hook; pytest
calls it on the thread that runs the test.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Mapping
from typing import NoReturn

import pytest

CI_VALUES = frozenset({"true", "1", "yes"})


class MissingToolError(pytest.skip.Exception):  # type: ignore[name-defined, misc]
    """A skip because a program or file the test drives is not installed."""


def skip_missing_tool(reason: str) -> NoReturn:
    """Skip this test: `reason` names the tool and how to install it."""
    raise MissingToolError(reason, _use_item_location=True)


def in_ci(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get("CI", "").strip().lower() in CI_VALUES


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    excinfo = call.excinfo
    missing_tool = excinfo is not None and excinfo.errisinstance(MissingToolError)
    if report.skipped and missing_tool and in_ci():
        report.outcome = "failed"
        report.longrepr = (
            f"CI: skipped for a missing tool ({excinfo.value if excinfo else ''}); "
            "install it in .ci/run, a skip in CI hides a missing install step"
        )
    return report
