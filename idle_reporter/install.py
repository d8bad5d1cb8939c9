"""`idle-reporter install-service`: run the reporter as a systemd user service of the desktop.

A desktop elsewhere on the LAN is reported by a user service, not a container: it runs as
the desktop user, so it reaches the session bus and the compositor's socket without any
mounts. The command writes two files and prints the commands that start the service:

* `$XDG_CONFIG_HOME/idle-reporter/idle-reporter.env` (mode 0600: it holds the MQTT
  password): the reporter's settings from this shell (MQTT_*, IDLE_*, HA_*, LOG_LEVEL,
  STATE_DIR) and the desktop session's variables at install time (WAYLAND_DISPLAY,
  DISPLAY, DBUS_SESSION_BUS_ADDRESS, XDG_SESSION_TYPE, ...). GNOME and KDE also hand
  these to the user manager themselves; the file covers sessions that do not (sway).
* `$XDG_CONFIG_HOME/systemd/user/idle-reporter.service`: started with the graphical
  session, stopped with it, restarted when it exits with an error (an unhealthy reporter
  exits).

The settings are validated first, with the same one-line error as at start-up. Then the
broker is asked (mqtt_service.broker_check): with MQTT_TLS its certificate must verify
against MQTT_CA_FILE for MQTT_HOST, and it must accept the credentials; either failure is
one line and nothing is written. A broker that does not answer is only noted (the desktop
may be away from home); the service connects once it can.

`--env-file FILE` takes the settings from a desktop's bundle (`make add-desktop` on the
broker's computer writes desktops/<host>/idle-reporter.env and ca.crt): its values win over
the shell's, a relative MQTT_CA_FILE is next to the file, and the CA is copied beside the
service's environment file, so the bundle's folder may be deleted afterwards.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from idle_reporter.settings import IdleSettings
from mqtt_service.broker_check import BrokerCheckError, check_login, verify_broker_certificate
from mqtt_service.config import load_settings
from mqtt_service.errors import ConfigError
from mqtt_service.state_files import write_atomically

logger = logging.getLogger(__name__)

UNIT_NAME = "idle-reporter.service"
SETTING_PREFIXES = ("MQTT_", "IDLE_", "HA_")
SETTING_NAMES = ("LOG_LEVEL", "STATE_DIR", "HEALTH_FILE", "HEALTH_INTERVAL")
SESSION_NAMES = (
    "WAYLAND_DISPLAY",
    "DISPLAY",
    "XAUTHORITY",
    "DBUS_SESSION_BUS_ADDRESS",
    "XDG_SESSION_TYPE",
    "XDG_CURRENT_DESKTOP",
    "XDG_RUNTIME_DIR",
)
UNIT_TEMPLATE = """\
# Written by `idle-reporter install-service`; run it again to update.
[Unit]
Description=Idle reporter: tells Home Assistant over MQTT whether this desk is in use
After=graphical-session.target
PartOf=graphical-session.target

[Service]
Type=simple
EnvironmentFile={env_file}
ExecStart={exec_start}
Restart=on-failure
RestartSec=10

[Install]
WantedBy=graphical-session.target
"""


class InstallError(Exception):
    """The service cannot be installed as asked; the message says why."""


def read_bundle(path: Path) -> dict[str, str]:
    """`NAME=value` lines of a desktop's bundle (quotes allowed, `#` comments)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InstallError(f"--env-file {path}: cannot read it ({exc})") from None
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip().isidentifier():
            raise InstallError(f"--env-file {path}, line {number}: not NAME=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[name.strip()] = value
    ca_file = values.get("MQTT_CA_FILE")
    if ca_file and not Path(ca_file).is_absolute():
        values["MQTT_CA_FILE"] = str((path.parent / ca_file).resolve())
    return values


def check_broker(settings: IdleSettings) -> str:
    """Ask the broker before installing anything; a refusal is an InstallError."""
    where = f"{settings.mqtt_host}:{settings.mqtt_port}"
    if settings.mqtt_tls:
        try:
            reached = verify_broker_certificate(settings)
        except BrokerCheckError as exc:
            raise InstallError(str(exc)) from None
        if not reached:
            return f"Not checked: the broker at {where} did not answer (installed anyway)"
    reason = check_login(settings)
    if reason is None:
        return f"Not checked: the broker at {where} did not answer (installed anyway)"
    if reason.is_failure:
        raise InstallError(
            f"the broker at {where} refused {settings.mqtt_username or 'anonymous'}: {reason} "
            "(check MQTT_USERNAME and MQTT_PASSWORD)"
        )
    how = "TLS certificate verified, " if settings.mqtt_tls else ""
    return f"Checked: {how}logged in to {where} as {settings.mqtt_username or 'anonymous'}"


@dataclass(frozen=True, slots=True)
class ServiceFiles:
    unit: Path
    env_file: Path


def service_files(environ: Mapping[str, str]) -> ServiceFiles:
    """Where the unit and its environment file go (XDG_CONFIG_HOME, else ~/.config)."""
    config = Path(environ.get("XDG_CONFIG_HOME") or Path(environ.get("HOME", "~")) / ".config")
    config = config.expanduser()
    return ServiceFiles(
        config / "systemd" / "user" / UNIT_NAME, config / "idle-reporter" / "idle-reporter.env"
    )


def captured_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The reporter's settings and the session's variables, as the service will see them."""
    captured = {
        name: value
        for name, value in sorted(environ.items())
        if value and (name.startswith(SETTING_PREFIXES) or name in SETTING_NAMES)
    }
    captured.update({name: environ[name] for name in SESSION_NAMES if environ.get(name)})
    if "STATE_DIR" not in captured:
        home = Path(environ.get("HOME", "~"))
        state_home = Path(environ.get("XDG_STATE_HOME") or home / ".local" / "state")
        captured["STATE_DIR"] = str(state_home.expanduser() / "idle-reporter")
    return captured


def quote(value: str) -> str:
    """A value for systemd's EnvironmentFile= and ExecStart= (double quotes, C escapes)."""
    if "\n" in value:
        raise InstallError(f"a value with a line break cannot go into a unit file: {value!r}")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def environment_file_text(values: Mapping[str, str]) -> str:
    lines = ["# Written by `idle-reporter install-service`: the reporter's settings and the"]
    lines.append(
        "# desktop session's variables. Edit, then: systemctl --user restart idle-reporter"
    )
    lines.extend(f"{name}={quote(value)}" for name, value in values.items())
    return "\n".join(lines) + "\n"


def unit_text(env_file: Path, python: str) -> str:
    exec_start = " ".join(quote(part) for part in (python, "-m", "idle_reporter"))
    # EnvironmentFile= takes the rest of the line as the path: no quotes there.
    return UNIT_TEMPLATE.format(env_file=env_file, exec_start=exec_start)


def validate(values: Mapping[str, str]) -> IdleSettings:
    """Load the settings as the service will. The captured values come from this process's
    environment, so it only needs the one value this command may add (STATE_DIR)."""
    os.environ["STATE_DIR"] = values["STATE_DIR"]
    try:
        return load_settings(IdleSettings)
    except ConfigError as exc:
        raise InstallError(str(exc)) from exc


@dataclass(frozen=True, slots=True)
class Installed:
    files: ServiceFiles
    settings: IdleSettings
    check: str


def install(environ: Mapping[str, str], python: str, *, copy_ca: bool = False) -> Installed:
    values = captured_environment(environ)
    settings = validate(values)
    check = check_broker(settings)
    files = service_files(environ)
    for path in (files.env_file, files.unit):
        path.parent.mkdir(parents=True, exist_ok=True)
    if copy_ca and settings.mqtt_ca_file is not None:
        ca_copy = files.env_file.parent / "ca.crt"
        write_atomically(ca_copy, settings.mqtt_ca_file.read_text(encoding="utf-8"), mode=0o644)
        values["MQTT_CA_FILE"] = str(ca_copy)
    # The environment file holds a password: readable by the user only, from the start.
    write_atomically(files.env_file, environment_file_text(values), mode=0o600)
    write_atomically(files.unit, unit_text(files.env_file, python), mode=0o644)
    return Installed(files, settings, check)


def enable() -> None:
    """Ask the user's systemd to load and start the service now and at every login."""
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        raise InstallError("systemctl is not installed: start the service by hand")
    for arguments in (["daemon-reload"], ["enable", "--now", UNIT_NAME]):
        result = subprocess.run(
            [systemctl, "--user", *arguments], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise InstallError(f"systemctl --user {' '.join(arguments)}: {result.stderr.strip()}")


def summary(installed: Installed, enabled: bool) -> str:
    files, settings = installed.files, installed.settings
    session = settings.xdg_session_type or "unknown"
    desktop = settings.xdg_current_desktop or "unknown desktop"
    lines = [
        f"Wrote {files.unit}",
        f"Wrote {files.env_file} (readable by you only: it holds the MQTT password)",
        f"Reporting as idle/{settings.idle_host_name} to {settings.mqtt_host}:{settings.mqtt_port}"
        f" ({session} session, {desktop}, IDLE_SOURCE={settings.idle_source})",
        installed.check,
    ]
    if settings.mqtt_host in {"localhost", "127.0.0.1"}:
        lines.append("Note: MQTT_HOST is this computer; set it to the broker's address if not.")
    if enabled:
        lines.append("Started, and enabled for every login: journalctl --user -u idle-reporter")
    else:
        lines.append("Start it now and at every login:")
        lines.append(
            f"  systemctl --user daemon-reload && systemctl --user enable --now {UNIT_NAME}"
        )
    return "\n".join(lines)


def main(arguments: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="idle-reporter install-service",
        description="Install the reporter as a systemd user service of this desktop session.",
    )
    parser.add_argument(
        "--enable", action="store_true", help="also run systemctl --user enable --now"
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        help="the desktop's bundle from `make add-desktop` (idle-reporter.env; ca.crt beside it)",
    )
    options = parser.parse_args(arguments)
    try:
        if options.env_file is not None:
            # validate() reads the settings from this process's environment.
            os.environ.update(read_bundle(options.env_file))
        installed = install(os.environ, sys.executable, copy_ca=options.env_file is not None)
        if options.enable:
            enable()
    except (InstallError, OSError) as exc:
        print(f"idle-reporter install-service: {exc}", file=sys.stderr)
        return 1
    print(summary(installed, options.enable))
    return 0
