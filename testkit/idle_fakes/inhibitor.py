"""A Wayland client that does what a video player does: shows a window and holds an idle
inhibitor (zwp_idle_inhibit_manager_v1) on it, so the compositor must not go idle.

Compositors honour an inhibitor only while its surface is visible, so this maps a real
64x64 xdg_toplevel with a shared-memory buffer. Its own thread answers the compositor's
pings; `close()` ends the client (and with it the inhibitor).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import threading
from pathlib import Path
from typing import Any

from pywayland.protocol.idle_inhibit_unstable_v1 import ZwpIdleInhibitManagerV1
from pywayland.protocol.wayland import WlCompositor, WlShm
from pywayland.protocol.xdg_shell import XdgWmBase

from idle_reporter.settings import IdleSettings
from idle_reporter.sources.wayland import CompositorConnection, WaylandSource
from testkit.idle_fakes.compositors import Compositor, Desktop
from testkit.waits import eventually

SIZE = 64
STRIDE = SIZE * 4


class VideoPlayer:
    def __init__(self, compositor: Compositor) -> None:
        self.connection = CompositorConnection(compositor.socket)
        bind = self.connection.bind
        self.wm_base = bind(XdgWmBase, 1)
        self.wm_base.dispatcher["ping"] = lambda base, serial: base.pong(serial)
        self.surface = bind(WlCompositor, 4).create_surface()
        self.xdg_surface = self.wm_base.get_xdg_surface(self.surface)
        self.xdg_surface.dispatcher["configure"] = self._on_configure
        self.toplevel = self.xdg_surface.get_toplevel()
        self.toplevel.set_title("idle inhibitor (test video player)")
        self.buffer = self._buffer(bind(WlShm, 1))
        self.inhibitor: Any = None
        self.surface.commit()  # the first configure arrives in answer to this
        self.connection.roundtrip()
        self.inhibitor = bind(ZwpIdleInhibitManagerV1, 1).create_inhibitor(self.surface)
        self.connection.roundtrip()
        self._closed = False
        self._thread = threading.Thread(target=self.connection.run, daemon=True)
        self._thread.start()

    def _buffer(self, shm: Any) -> Any:
        fd = os.memfd_create("idle-test-buffer")
        os.ftruncate(fd, STRIDE * SIZE)
        with mmap.mmap(fd, STRIDE * SIZE) as pixels:
            pixels.write(b"\x80\x40\x20\xff" * SIZE * SIZE)
        pool = shm.create_pool(fd, STRIDE * SIZE)
        buffer = pool.create_buffer(0, SIZE, SIZE, STRIDE, WlShm.format.xrgb8888.value)
        os.close(fd)
        return buffer

    def _on_configure(self, xdg_surface: Any, serial: int) -> None:
        xdg_surface.ack_configure(serial)
        self.surface.attach(self.buffer, 0, 0)
        self.surface.damage(0, 0, SIZE, SIZE)
        self.surface.commit()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.connection.stop()
        self._thread.join(timeout=5)
        with contextlib.suppress(Exception):
            self.connection.close()


# How long a notification with a 0.3 s timeout is given to (wrongly) go idle while the
# video plays: there is no event for "nothing happened", so this one wait is bounded.
THRESHOLD = 0.3
QUIET_WINDOW = 2.0


def check_video_keeps_the_desk_active(desktop: Desktop) -> None:
    """No `idled` while the player's inhibitor is shown; `idled` soon after it closes."""
    settings = IdleSettings(state_dir=Path("/nonexistent"), **desktop.session())
    source = WaylandSource(lambda: settings.wayland_socket, THRESHOLD)
    changed = threading.Event()
    source.on_change(changed.set)
    player = VideoPlayer(desktop.compositor)
    try:
        source.open()
        changed.clear()  # the lock state's initial value, where there is one
        assert not changed.wait(QUIET_WINDOW), "the desk went idle during the video"
        assert source.read().idle_hint is False
        player.close()
        eventually(lambda: source.read().idle_hint is True, "idle once the video stopped")
    finally:
        player.close()
        source.close()
