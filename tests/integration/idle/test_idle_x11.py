"""X11 through a real Xvfb, with xdotool as the user and a real xscreensaver locking."""

from __future__ import annotations

from Xlib import display as xdisplay

from idle_reporter.sources.x11 import X11Source
from testkit.idle_fakes.xvfb import XScreensaver, Xvfb
from testkit.support.probe import Probe
from tests.integration.idle.conftest import ReporterFactory, require_programs

STATE = "idle/desk/state"
LOCKED = "idle/desk/locked"
LOCKED_CONFIG = "homeassistant/binary_sensor/idle_reporter/desk_locked/config"


def x_client_count(display_name: str) -> int:
    """Clients connected to the X server, from the X-Resource extension."""
    observer = xdisplay.Display(display_name)
    try:
        return len(observer.res_query_clients().clients) - 1  # minus the observer
    finally:
        observer.close()


def test_one_x_connection_is_held_across_many_polls(xvfb: Xvfb) -> None:
    source = X11Source(xvfb.display)
    source.open()
    try:
        connection = source.display
        clients = x_client_count(xvfb.display)
        for _ in range(200):
            source.read()
        assert source.display is connection
        assert x_client_count(xvfb.display) == clients
    finally:
        source.close()


def test_pointer_motion_resets_the_idle_counter(xvfb: Xvfb) -> None:
    source = X11Source(xvfb.display)
    source.open()
    try:
        xvfb.run("xdotool", "mousemove", "10", "10")
        first = source.read().idle_seconds
        # The counter only grows until the next input; move once it visibly did.
        while source.read().idle_seconds <= first + 0.05:
            source.display.sync()
        before = source.read().idle_seconds
        xvfb.run("xdotool", "mousemove", "200", "150")
        assert source.read().idle_seconds < before
    finally:
        source.close()


def test_x11_idle_and_active_through_the_broker(
    xvfb: Xvfb, ha: Probe, reporter_factory: ReporterFactory
) -> None:
    reporter_factory(idle_source="x11", display=xvfb.display)
    ha.wait_for(STATE, payload=b"idle")
    xvfb.run("xdotool", "mousemove", "300", "200")
    ha.wait_for(STATE, payload=b"active")


def test_xscreensaver_lock_is_reported(
    xvfb: Xvfb, ha: Probe, reporter_factory: ReporterFactory
) -> None:
    require_programs("xscreensaver", "xscreensaver-command", "setpriv")
    screensaver = XScreensaver(xvfb.display).start()
    try:
        reporter_factory(idle_source="x11", display=xvfb.display)
        ha.wait_for(LOCKED, payload=b"OFF")
        ha.wait_until(lambda: bool(ha.wait_for(LOCKED_CONFIG)[-1].payload), what="locked entity")
        screensaver.lock()
        ha.wait_for(LOCKED, payload=b"ON")
    finally:
        screensaver.stop()


def test_without_xscreensaver_the_lock_state_is_unknown(xvfb: Xvfb) -> None:
    source = X11Source(xvfb.display)
    source.open()
    try:
        assert source.read().locked is None and source.knows_locked is False
    finally:
        source.close()
