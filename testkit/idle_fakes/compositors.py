"""Real desktop compositors, headless, for the idle reporter's tests and benchmark.

Each start function launches one compositor with everything private to the caller: its own
XDG_RUNTIME_DIR (mode 0700, owned by the user it runs as), its own session bus where it
needs one (a `DBusDaemon` the caller passes in), and its own process group, which `stop()`
ends whole. Nothing is shared with other test runs on the machine.

* mutter (GNOME): `--headless --virtual-monitor`, owns org.gnome.Mutter.IdleMonitor.
* kwin_wayland (KDE): `--virtual`; run from a copy because the packaged binary carries a
  file capability the sandbox refuses; KWIN_WAYLAND_NO_PERMISSION_CHECKS lets test
  clients use org_kde_kwin_fake_input.
* sway: refuses to run as root, so it runs as `nobody` with the headless wlroots backend.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idle_reporter.dbus import Bus
from idle_reporter.errors import SourceUnavailableError
from testkit.idle_fakes.dbus_daemon import DBusDaemon
from testkit.waits import eventually

START_TIMEOUT = 20.0
NOBODY = 65534
MUTTER_IDLE_MONITOR = "org.gnome.Mutter.IdleMonitor"
MUTTER_REMOTE_DESKTOP = "org.gnome.Mutter.RemoteDesktop"
FDO_SCREENSAVER = "org.freedesktop.ScreenSaver"
SWAY_CONFIG = "output HEADLESS-1 resolution 1280x720\nseat seat0 fallback true\n"


class CompositorError(RuntimeError):
    """The compositor did not start; the message carries the end of its log."""


@dataclass
class Compositor:
    """A running compositor: where its Wayland socket is and how to stop it."""

    name: str
    process: subprocess.Popen[bytes]
    runtime_dir: Path
    socket_name: str
    log: Path
    bus_address: str | None = None
    cleanup: list[Path] = field(default_factory=list)

    @property
    def socket(self) -> Path:
        return self.runtime_dir / self.socket_name

    def client_env(self) -> dict[str, str]:
        """What a Wayland client (wtype) needs to find this compositor."""
        return {
            **os.environ,
            "XDG_RUNTIME_DIR": str(self.runtime_dir),
            "WAYLAND_DISPLAY": self.socket_name,
        }

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, *, keep_files: bool = False) -> None:
        """End the compositor and everything it started (its own process group), and remove
        its files unless a successor will use them."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if not keep_files:
            for path in self.cleanup:
                shutil.rmtree(path, ignore_errors=True)


def private_runtime_dir(path: Path, uid: int = 0) -> Path:
    """XDG_RUNTIME_DIR as every compositor wants it: a 0700 directory of its user."""
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, uid, uid)
    path.chmod(0o700)
    return path


def launch(
    command: list[str],
    env: dict[str, str],
    log: Path,
    *,
    as_nobody: bool = False,
) -> subprocess.Popen[bytes]:
    if as_nobody:
        command = as_nobody_command(command)
    with log.open("wb") as output:
        return subprocess.Popen(
            command,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() ends all of it
        )


def as_nobody_command(command: list[str]) -> list[str]:
    """`command` run as the unprivileged `nobody` (sway and xscreensaver refuse root)."""
    ids = ["--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups"]
    return ["setpriv", *ids, *command]


def _wait_ready(compositor: Compositor, *bus_names: str) -> Compositor:
    """Until the socket exists and the compositor owns its D-Bus names (no event exists for
    a socket file appearing, so this checks every 10 ms)."""

    def ready() -> bool:
        if not compositor.alive():
            raise CompositorError(f"{compositor.name} exited:\n{compositor.tail()}")
        if not compositor.socket.exists():
            return False
        return not bus_names or _names_owned(compositor.bus_address, bus_names)

    try:
        eventually(ready, f"{compositor.name} to start", timeout=START_TIMEOUT)
    except AssertionError as exc:
        compositor.stop()
        raise CompositorError(f"{exc}\n{compositor.tail()}") from exc
    except CompositorError:
        compositor.stop()
        raise
    return compositor


def _names_owned(address: str | None, names: tuple[str, ...]) -> bool:
    assert address is not None
    try:
        bus = Bus(address, "test session")
    except SourceUnavailableError:
        return False
    try:
        return all(bus.name_has_owner(name) for name in names)
    finally:
        bus.close()


def _base_env(runtime_dir: Path, bus_address: str | None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(runtime_dir),
        "XDG_RUNTIME_DIR": str(runtime_dir),
        "LANG": "C.UTF-8",
    }
    if bus_address is not None:
        env["DBUS_SESSION_BUS_ADDRESS"] = bus_address
    return env


def start_mutter(workdir: Path, bus_address: str, socket_name: str = "idle-mutter") -> Compositor:
    runtime = private_runtime_dir(workdir / "runtime")
    command = [
        "mutter",
        "--headless",
        "--virtual-monitor",
        "1280x720",
        "--no-x11",
        f"--wayland-display={socket_name}",
    ]
    log = workdir / "mutter.log"
    process = launch(command, _base_env(runtime, bus_address), log)
    compositor = Compositor("mutter", process, runtime, socket_name, log, bus_address)
    return _wait_ready(compositor, MUTTER_IDLE_MONITOR, MUTTER_REMOTE_DESKTOP)


def start_kwin(
    workdir: Path, bus_address: str, *, socket_name: str = "idle-kwin", lockscreen: bool = True
) -> Compositor:
    runtime = private_runtime_dir(workdir / "runtime")
    binary = workdir / "kwin_wayland"
    if not binary.exists():
        installed = shutil.which("kwin_wayland")
        assert installed is not None
        shutil.copy(installed, binary)  # a plain copy drops the file capability
    command = [str(binary), "--virtual", "--no-global-shortcuts", "--socket", socket_name]
    if not lockscreen:
        command.append("--no-lockscreen")
    env = _base_env(runtime, bus_address) | {"KWIN_WAYLAND_NO_PERMISSION_CHECKS": "1"}
    log = workdir / "kwin.log"
    process = launch(command, env, log)
    compositor = Compositor("kwin", process, runtime, socket_name, log, bus_address)
    return _wait_ready(compositor, *([FDO_SCREENSAVER] if lockscreen else []))


def start_sway(home: Path | None = None) -> Compositor:
    """sway as `nobody`: its files live in a directory under /tmp that user can reach
    (pytest's own temp tree is private to root). Pass the `home` of a stopped sway to start
    a new one on the same socket, as when a session's compositor restarts."""
    if home is None:
        home = Path(tempfile.mkdtemp(prefix="idle-sway-"))
        os.chown(home, NOBODY, NOBODY)
    runtime = private_runtime_dir(home / "runtime", NOBODY)
    config = home / "config"
    config.write_text(SWAY_CONFIG, encoding="utf-8")
    config.chmod(0o644)
    env = _base_env(runtime, None) | {
        "HOME": str(home),
        "WLR_BACKENDS": "headless",
        "WLR_LIBINPUT_NO_DEVICES": "1",
        "WLR_RENDERER": "pixman",
    }
    log = home / "sway.log"
    process = launch(["sway", "-c", str(config)], env, log, as_nobody=True)
    compositor = Compositor("sway", process, runtime, "wayland-1", log, cleanup=[home])
    return _wait_ready(compositor)


def missing_programs(*programs: str) -> list[str]:
    return [program for program in programs if shutil.which(program) is None]


@dataclass
class Desktop:
    """A running compositor and the session variables a reporter in it would see."""

    compositor: Compositor
    bus_address: str | None

    def session(self, **overrides: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            "wayland_display": self.compositor.socket_name,
            "xdg_runtime_dir": self.compositor.runtime_dir,
            "xdg_session_type": "wayland",
        }
        if self.bus_address is not None:
            values["dbus_session_bus_address"] = self.bus_address
        return values | overrides


@contextlib.contextmanager
def desktop_with_bus(
    workdir: Path, start: Callable[[Path, str], Compositor], **activatable: str
) -> Iterator[Desktop]:
    """A private session bus, then the compositor on it; both always stopped."""
    with contextlib.ExitStack() as stack:
        bus = DBusDaemon(workdir / "dbus", activatable)
        address = bus.start()
        stack.callback(bus.stop)
        compositor = start(workdir, address)
        stack.callback(compositor.stop)
        yield Desktop(compositor, address)
