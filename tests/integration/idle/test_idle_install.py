"""`idle-reporter install-service` on a desktop: the systemd user unit is valid, the
environment file holds the session's variables, and the service started the way systemd
starts it (ExecStart with that environment) reports a real sway desktop."""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from testkit.idle_fakes.compositors import Desktop
from testkit.idle_fakes.reporter import HOST
from testkit.support.broker import MosquittoBroker
from testkit.support.probe import Probe
from testkit.support.service_process import service_env

STATE = f"idle/{HOST}/state"


def run_install(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "idle_reporter", "install-service"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def desktop_env(broker: MosquittoBroker, home: Path, sway: Desktop) -> dict[str, str]:
    """A desktop user's shell: the broker settings typed in, the session's variables."""
    env = service_env(broker, home / "unused", user="idle_reporter", IDLE_HOST_NAME=HOST)
    del env["STATE_DIR"]  # the user service picks its own under ~/.local/state
    env.update(
        HOME=str(home),
        IDLE_THRESHOLD="0.5",
        WAYLAND_DISPLAY=sway.compositor.socket_name,
        XDG_RUNTIME_DIR=str(sway.compositor.runtime_dir),
        XDG_SESSION_TYPE="wayland",
        XDG_CURRENT_DESKTOP="sway",
        DISPLAY=":7",
        DBUS_SESSION_BUS_ADDRESS=f"unix:path={home / 'no-session-bus'}",
    )
    return env


def read_environment_file(path: Path) -> dict[str, str]:
    """systemd's EnvironmentFile= syntax as the installer writes it (quoted values)."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, quoted = line.partition("=")
            (values[name],) = shlex.split(quoted)
    return values


def unit_value(unit: Path, key: str) -> str:
    (line,) = [line for line in unit.read_text().splitlines() if line.startswith(f"{key}=")]
    return line.partition("=")[2]


def check_with_systemd(unit: Path, tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    runtime = tmp_path / "verify-runtime"
    runtime.mkdir(mode=0o700)
    result = subprocess.run(
        ["systemd-analyze", "--user", "verify", str(unit)],
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_installed_service_is_valid_and_reports_the_desktop(
    broker: MosquittoBroker, tmp_path: Path, sway: Desktop, ha: Probe
) -> None:
    home = tmp_path / "home"
    result = run_install(desktop_env(broker, home, sway))
    assert result.returncode == 0, result.stderr
    unit = home / ".config/systemd/user/idle-reporter.service"
    env_file = home / ".config/idle-reporter/idle-reporter.env"
    assert str(unit) in result.stdout and "systemctl --user enable --now" in result.stdout
    check_with_systemd(unit, tmp_path)
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600  # it holds the MQTT password
    values = read_environment_file(env_file)
    assert values["WAYLAND_DISPLAY"] == sway.compositor.socket_name
    assert values["XDG_RUNTIME_DIR"] == str(sway.compositor.runtime_dir)
    assert (values["XDG_SESSION_TYPE"], values["XDG_CURRENT_DESKTOP"]) == ("wayland", "sway")
    assert values["DISPLAY"] == ":7"
    assert values["DBUS_SESSION_BUS_ADDRESS"] == f"unix:path={home / 'no-session-bus'}"
    assert values["MQTT_HOST"] == broker.host and values["MQTT_PASSWORD"]
    assert values["STATE_DIR"] == str(home / ".local/state/idle-reporter")
    assert unit_value(unit, "EnvironmentFile") == str(env_file)
    # As systemd would: ExecStart with nothing but the environment file (and a PATH).
    command = shlex.split(unit_value(unit, "ExecStart"))
    service = subprocess.Popen(command, env={"PATH": os.environ["PATH"], **values})
    try:
        ha.wait_for(STATE, payload=b"idle", timeout=30)
    finally:
        service.terminate()
        service.wait(timeout=15)
    assert service.returncode == 0


def test_a_bad_setting_is_named_and_nothing_is_written(
    broker: MosquittoBroker, tmp_path: Path, sway: Desktop
) -> None:
    home = tmp_path / "home"
    env = desktop_env(broker, home, sway) | {"IDLE_THRESHOLD": "soon"}
    result = run_install(env)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "IDLE_THRESHOLD='soon'" in result.stderr
    assert not (home / ".config").exists()
