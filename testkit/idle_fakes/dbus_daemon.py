"""A private dbus-daemon for one test, configured from a file in the test's temp dir."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
from pathlib import Path

START_TIMEOUT = 10.0

CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  {servicedir}
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"""


class DBusDaemonError(RuntimeError):
    """The test bus did not start."""


def dbus_daemon_available() -> bool:
    return shutil.which("dbus-daemon") is not None


class DBusDaemon:
    """`dbus-daemon --nofork` on a socket in `workdir`; `address` is what clients use."""

    def __init__(self, workdir: Path, activatable: dict[str, str] | None = None) -> None:
        """`activatable` maps bus names to the program the bus starts on first use, as a
        desktop's `.service` files do (a missing program reproduces a broken one)."""
        workdir.mkdir(parents=True, exist_ok=True)
        self.socket = workdir / "bus"
        self.config = workdir / "bus.conf"
        servicedir = ""
        if activatable:
            services = workdir / "services"
            services.mkdir(exist_ok=True)
            for name, program in activatable.items():
                text = f"[D-BUS Service]\nName={name}\nExec={program}\n"
                (services / f"{name}.service").write_text(text, encoding="utf-8")
            servicedir = f"<servicedir>{services}</servicedir>"
        config = CONFIG.format(socket=self.socket, servicedir=servicedir)
        self.config.write_text(config, encoding="utf-8")
        self.process: subprocess.Popen[bytes] | None = None
        self.address = ""

    def start(self) -> str:
        self.process = subprocess.Popen(
            ["dbus-daemon", "--nofork", "--print-address", f"--config-file={self.config}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.process.stdout is not None
        ready, _w, _x = select.select([self.process.stdout], [], [], START_TIMEOUT)
        line = os.read(self.process.stdout.fileno(), 4096).decode().strip() if ready else ""
        if not line:
            self.stop()
            raise DBusDaemonError("dbus-daemon printed no address")
        self.address = line.splitlines()[0]
        return self.address

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                self.process.wait(timeout=10)
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None
