"""Keep the test machine's desktop session out of the reporter's settings."""

from __future__ import annotations

import pytest

from testkit.idle_fakes.reporter import SESSION_VARIABLES


@pytest.fixture(autouse=True)
def _no_desktop_session(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SESSION_VARIABLES:
        monkeypatch.delenv(name, raising=False)
