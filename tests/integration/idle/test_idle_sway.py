"""The `wayland` source on a real headless sway 1.7, which offers `org_kde_kwin_idle` only;
keystrokes come from `wtype`. Also: the compositor going away and coming back."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from idle_reporter.settings import IdleSettings
from idle_reporter.sources.auto import select_source
from idle_reporter.sources.wayland import KDE_IDLE
from testkit.idle_fakes.compositors import Desktop, start_sway
from testkit.idle_fakes.desktop_input import wtype
from testkit.idle_fakes.inhibitor import check_video_keeps_the_desk_active
from testkit.support.probe import Probe
from testkit.waits import NextMessage
from tests.integration.idle.conftest import ReporterFactory

STATE = "idle/desk/state"
NO_POLLING = {"idle_poll_interval": 3600, "idle_report_interval": 3600}


def test_sway_idle_and_keystroke_by_events_alone(
    sway: Desktop, ha: Probe, reporter_factory: ReporterFactory
) -> None:
    reporter_factory(idle_source="wayland", **sway.session(**NO_POLLING))
    ha.wait_for(STATE, payload=b"idle")
    active = NextMessage(ha, STATE, b"active")
    wtype(sway.compositor)
    active.wait()
    idle = NextMessage(ha, STATE, b"idle")
    idle.wait()


def test_auto_under_sway_picks_wayland_through_kde_idle(sway: Desktop, tmp_path: Path) -> None:
    settings = IdleSettings(
        state_dir=tmp_path,
        idle_input_devices=str(tmp_path / "no-event*"),
        **sway.session(xdg_current_desktop="sway"),
    )
    chosen = select_source(settings)
    assert chosen.source is not None
    chosen.source.close()
    assert chosen.source.name == "wayland"
    assert getattr(chosen.source, "protocol", None) == KDE_IDLE


def test_forcing_a_protocol_sway_lacks_says_what_it_offers(sway: Desktop, tmp_path: Path) -> None:
    settings = IdleSettings(
        state_dir=tmp_path,
        idle_source="wayland",
        idle_wayland_protocol="ext_idle_notifier_v1",
        **sway.session(),
    )
    chosen = select_source(settings)
    assert chosen.source is None
    reason = dict(chosen.skipped)["wayland"]
    assert "does not offer ext_idle_notifier_v1" in reason and "org_kde_kwin_idle" in reason


def test_compositor_going_away_is_unknown_then_picked_up_again(
    ha: Probe, reporter_factory: ReporterFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    first = start_sway()
    second = first  # until the successor runs, stopping "second" cleans up the first
    try:
        # Polled at the (fast) poll interval while it does not answer: that is what turns
        # the state unknown after the grace period and retries the connection.
        reporter_factory(idle_source="wayland", **Desktop(first, None).session())
        ha.wait_for(STATE, payload=b"idle")
        unknown = NextMessage(ha, STATE, b"unknown")
        first.stop(keep_files=True)
        unknown.wait()
        idle = NextMessage(ha, STATE, b"idle")
        second = start_sway(first.runtime_dir.parent)
        idle.wait()
        assert caplog.text.count("The idle source stopped answering") == 1  # said once
        assert "wayland: connected to the desktop again" in caplog.text
    finally:
        second.stop()


def test_a_playing_video_keeps_the_desk_active(sway: Desktop) -> None:
    check_video_keeps_the_desk_active(sway)
