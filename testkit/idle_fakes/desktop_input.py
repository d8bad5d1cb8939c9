"""A person at the keyboard of a real compositor, simulated the way each desktop allows.

* mutter: its own org.gnome.Mutter.RemoteDesktop service. The session belongs to the D-Bus
  connection that created it and dies with it, so one connection is held throughout.
* KWin: the org_kde_kwin_fake_input Wayland protocol (allowed because the test compositor
  runs with KWIN_WAYLAND_NO_PERMISSION_CHECKS). Its Python binding is generated at test time
  by pywayland's scanner from the XML that plasma-wayland-protocols installs.
* sway: `wtype`, a real virtual-keyboard client.
"""

from __future__ import annotations

import importlib.util
import subprocess
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from pywayland.client.display import Display
from pywayland.scanner.protocol import Protocol

from idle_reporter.dbus import Bus
from testkit.idle_fakes.compositors import Compositor

REMOTE_DESKTOP = "org.gnome.Mutter.RemoteDesktop"
REMOTE_DESKTOP_PATH = "/org/gnome/Mutter/RemoteDesktop"
REMOTE_SESSION = "org.gnome.Mutter.RemoteDesktop.Session"
FAKE_INPUT_XML = Path("/usr/share/plasma-wayland-protocols/fake-input.xml")
KEY_A = 30  # evdev key code


class MutterInput:
    """Pointer motion and key presses through mutter's RemoteDesktop API."""

    def __init__(self, bus_address: str) -> None:
        self.bus = Bus(bus_address, "test session", timeout=10)
        (self.session,) = self.bus.call(
            REMOTE_DESKTOP, REMOTE_DESKTOP_PATH, REMOTE_DESKTOP, "CreateSession"
        )
        self._session_call("Start")

    def _session_call(self, method: str, signature: str | None = None, *body: Any) -> None:
        self.bus.call(
            REMOTE_DESKTOP,
            str(self.session),
            REMOTE_SESSION,
            method,
            signature=signature,
            body=body,
        )

    def move_pointer(self) -> None:
        self._session_call("NotifyPointerMotionRelative", "dd", 5.0, 5.0)

    def press_key(self) -> None:
        self._session_call("NotifyKeyboardKeycode", "ub", KEY_A, True)
        self._session_call("NotifyKeyboardKeycode", "ub", KEY_A, False)

    def close(self) -> None:
        self.bus.close()


def _fake_input_module() -> ModuleType:
    """The protocol's binding, generated from the system's XML into a temporary module."""
    protocol = Protocol.parse_file(str(FAKE_INPUT_XML))
    with tempfile.TemporaryDirectory(prefix="idle-fake-input-") as output:
        protocol.output(output, {iface.name: protocol.name for iface in protocol.interface})
        path = Path(output) / f"{protocol.name.replace('-', '_')}.py"
        spec = importlib.util.spec_from_file_location("idle_tests_fake_input", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


class KwinFakeInput:
    """Pointer motion through org_kde_kwin_fake_input, one Wayland connection."""

    def __init__(self, compositor: Compositor) -> None:
        module = _fake_input_module()
        interface = module.OrgKdeKwinFakeInput
        self.display = Display(str(compositor.socket))
        self.display.connect()
        found: dict[str, int] = {}
        registry = self.display.get_registry()
        registry.dispatcher["global"] = lambda _r, name, iface, _v: found.setdefault(iface, name)
        self.display.roundtrip()
        self.fake_input = registry.bind(found[interface.name], interface, 4)
        self.fake_input.authenticate("idle reporter tests", "simulate a person")
        self.display.roundtrip()

    def move_pointer(self) -> None:
        self.fake_input.pointer_motion(5.0, 5.0)
        self.display.roundtrip()

    def close(self) -> None:
        self.display.disconnect()


def wtype(compositor: Compositor, text: str = "x") -> None:
    """One keystroke into sway through the virtual-keyboard protocol."""
    subprocess.run(["wtype", text], env=compositor.client_env(), check=True, timeout=10)
