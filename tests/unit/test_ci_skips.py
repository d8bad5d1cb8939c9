"""A skip for a missing tool is a failure in CI (it hides a missing install step), and an
ordinary skip elsewhere; other skips stay skips everywhere. Runs a real inner pytest."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

TESTS = """
import pytest
from testkit.ci_skips import skip_missing_tool

@pytest.fixture
def compositor():
    skip_missing_tool("kwin_wayland not installed")

def test_needs_a_compositor(compositor):
    pass

def test_needs_a_tool_in_its_body():
    skip_missing_tool("xdotool not installed")

def test_skipped_for_another_reason():
    pytest.skip("not on this platform")
"""
CONFTEST = "from testkit.ci_skips import pytest_runtest_makereport  # noqa: F401\n"


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_tools=TESTS)
    return pytester


@pytest.mark.parametrize("value", ["true", "1", "TRUE"])
def test_in_ci_a_missing_tool_fails_the_run(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CI", value)
    result = inner.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1, failed=1, skipped=1)
    result.stdout.fnmatch_lines(["*kwin_wayland not installed*install it in .ci/run*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


@pytest.mark.parametrize("value", [None, "", "false", "0"])
def test_outside_ci_a_missing_tool_is_a_skip(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    result = inner.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(skipped=3)
    assert result.ret == pytest.ExitCode.OK
