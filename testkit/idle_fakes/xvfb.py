"""A real Xvfb on a display it picks itself (-displayfd), for the X11 source's tests, and
a real xscreensaver on it for the lock state."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from Xlib import Xatom
from Xlib import display as xdisplay
from Xlib import error as xerror

from testkit.idle_fakes.compositors import NOBODY, as_nobody_command, launch
from testkit.waits import WaitTimeoutError, eventually

START_TIMEOUT = 10.0


class XvfbError(RuntimeError):
    """Xvfb did not start."""


def xvfb_available() -> bool:
    return shutil.which("Xvfb") is not None


class Xvfb:
    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.display = ""

    def start(self) -> str:
        read_fd, write_fd = os.pipe()
        try:
            self.process = subprocess.Popen(
                [
                    "Xvfb",
                    "-displayfd",
                    str(write_fd),
                    "-nolisten",
                    "tcp",
                    # Without it the server resets whenever its last client leaves and
                    # refuses the next connection for a moment.
                    "-noreset",
                    "-screen",
                    "0",
                    "640x480x24",
                ],
                pass_fds=(write_fd,),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            os.close(write_fd)
            number = self._read_display_number(read_fd)
        finally:
            os.close(read_fd)
        if not number:
            self.stop()
            raise XvfbError("Xvfb did not report its display number")
        self.display = f":{number}"
        self._wait_until_it_accepts_clients()
        return self.display

    @staticmethod
    def _read_display_number(read_fd: int) -> str:
        """Read up to the newline: closing the pipe early makes Xvfb's write fail, and it
        exits with "Cannot write display number"."""
        text = b""
        deadline = time.monotonic() + START_TIMEOUT
        while not text.endswith(b"\n"):
            ready, _w, _x = select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(read_fd, 64) if ready else b""
            if not chunk:
                break
            text += chunk
        return text.decode().strip()

    def _wait_until_it_accepts_clients(self) -> None:
        """Xvfb may announce its number a moment before it accepts connections."""

        def accepts() -> bool:
            try:
                xdisplay.Display(self.display).close()
            except (xerror.DisplayError, xerror.ConnectionClosedError, OSError):
                return False
            return True

        try:
            eventually(accepts, f"Xvfb on {self.display}", START_TIMEOUT, every=0.02)
        except WaitTimeoutError:
            self.stop()
            raise XvfbError(f"Xvfb on {self.display} refuses connections") from None

    def run(self, *command: str) -> str:
        """Run an X client (xdotool, xdpyinfo) against this display."""
        result = subprocess.run(
            list(command),
            env={**os.environ, "DISPLAY": self.display},
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
        return result.stdout

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                self.process.wait(timeout=10)
            self.process = None


class XScreensaver:
    """A real xscreensaver on a test display, run as `nobody`: as root it refuses to lock."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.home = Path(tempfile.mkdtemp(prefix="idle-xscreensaver-"))
        os.chown(self.home, NOBODY, NOBODY)
        self.process: subprocess.Popen[bytes] | None = None

    def _env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "DISPLAY": self.display,
        }

    def start(self) -> XScreensaver:
        command = as_nobody_command(["xscreensaver", "-no-splash"])
        self.process = launch(command, self._env(), self.home / "xscreensaver.log")
        observer = xdisplay.Display(self.display)
        try:
            atom = observer.intern_atom("_SCREENSAVER_STATUS")
            root = observer.screen().root
            eventually(
                lambda: root.get_full_property(atom, Xatom.INTEGER) is not None,
                "xscreensaver to announce itself on the root window",
            )
        finally:
            observer.close()
        return self

    def lock(self) -> None:
        command = as_nobody_command(["xscreensaver-command", "-lock"])
        subprocess.run(command, env=self._env(), check=True, capture_output=True, timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)  # with its helper processes
            self.process.wait(timeout=10)
            self.process = None
        shutil.rmtree(self.home, ignore_errors=True)
