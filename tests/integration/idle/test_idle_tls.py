"""A desktop on the LAN (issue 18): `make add-desktop`'s bundle, the reporter over TLS with
its own user, and a broker it must not trust refused with one line.

scripts/desktops.sh runs as `make add-desktop` runs it, with a stand-in for `docker compose
exec mosquitto` that runs the broker-side script (mosquitto/clients.sh) here, against the
test broker started from the project's config."""

from __future__ import annotations

import os
import socket
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from testkit.support.broker import PROJECT_ROOT, MosquittoBroker, run_tls_script
from testkit.support.lan import CLIENTS_SCRIPT, ClientsScript
from testkit.support.probe import Probe
from testkit.support.service_process import ServiceProcess, service_env

HOST = "desk"
FAKE_COMPOSE = """#!/bin/sh
# `docker compose exec -T mosquitto CMD...`, run here instead.
shift 3
if [ "$1 $2" = "sh /mosquitto/scripts/clients.sh" ]; then
    shift 2
    exec sh "{clients}" "$@"
fi
case "$1 $2" in
"cat /mosquitto/data/"*) exec cat "{data}/${{2#/mosquitto/data/}}" ;;
esac
exec "$@"
"""


@pytest.fixture
def clients(broker: MosquittoBroker) -> ClientsScript:
    script = ClientsScript(broker)
    script.start()
    return script


def make(
    clients: ClientsScript, tmp_path: Path, *arguments: str
) -> subprocess.CompletedProcess[str]:
    """`make <arguments>` through scripts/desktops.sh."""
    compose = tmp_path / "fake-compose"
    compose.write_text(FAKE_COMPOSE.format(clients=CLIENTS_SCRIPT, data=clients.broker.workdir))
    compose.chmod(0o755)
    env = {
        **os.environ,
        **clients.env(),
        "COMPOSE": str(compose),
        "DESKTOPS_DIR": str(tmp_path / "desktops"),
        "MQTT_TLS_NAMES": "localhost",
        "MQTT_TLS_PORT": str(clients.broker.tls_port),
    }
    return subprocess.run(
        ["bash", str(PROJECT_ROOT / "scripts" / "desktops.sh"), *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def bundle_values(bundle: Path) -> dict[str, str]:
    lines = (bundle / "idle-reporter.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


@pytest.fixture
def bundle(clients: ClientsScript, tmp_path: Path) -> Path:
    result = make(clients, tmp_path, "add-desktop", HOST)
    assert result.returncode == 0, result.stderr
    assert f"idle-reporter install-service --env-file {HOST}/idle-reporter.env --enable" in (
        result.stdout
    )
    return tmp_path / "desktops" / HOST


def desktop_env(broker: MosquittoBroker, home: Path) -> dict[str, str]:
    """The desktop's own environment: nothing of the test broker's plain settings."""
    env = service_env(broker, home / "state")
    return {key: value for key, value in env.items() if not key.startswith("MQTT_")}


def reporter(
    clients: ClientsScript, bundle: Path, tmp_path: Path, **overrides: str
) -> ServiceProcess:
    state_file = tmp_path / "idle-state"
    state_file.write_text("active\n")
    env = desktop_env(clients.broker, tmp_path)
    env.update(bundle_values(bundle))
    env.update(
        MQTT_CA_FILE=str(bundle / "ca.crt"),
        IDLE_SOURCE="file",
        IDLE_STATE_FILE=str(state_file),
        IDLE_POLL_INTERVAL="0.2",
    )
    env.update(overrides)
    return ServiceProcess("idle_reporter", env).start()


def test_add_desktop_writes_a_private_bundle_for_the_tls_port(
    clients: ClientsScript, bundle: Path
) -> None:
    values = bundle_values(bundle)
    assert values["MQTT_HOST"] == "localhost"
    assert values["MQTT_PORT"] == str(clients.broker.tls_port)
    assert (values["MQTT_USERNAME"], values["IDLE_HOST_NAME"]) == (HOST, HOST)
    assert (values["MQTT_TLS"], values["MQTT_CA_FILE"]) == ("true", "ca.crt")
    assert len(values["MQTT_PASSWORD"]) == 32
    assert stat.S_IMODE((bundle / "idle-reporter.env").stat().st_mode) == 0o600
    assert (bundle / "ca.crt").read_bytes() == clients.ca_file.read_bytes()
    assert b"PRIVATE KEY" not in (bundle / "ca.crt").read_bytes()


def test_the_reporter_reports_over_tls_with_the_bundle(
    clients: ClientsScript, bundle: Path, tmp_path: Path, probe: Probe
) -> None:
    probe.subscribe(f"idle/{HOST}/#")
    probe.subscribe("homeassistant/+/idle_reporter/#")
    service = reporter(clients, bundle, tmp_path)
    try:
        probe.wait_for(f"idle/{HOST}/state", payload=b"active")
        probe.wait_for("homeassistant/binary_sensor/idle_reporter/desk_occupancy/config")
        service.wait_for_log(r"Connected to localhost:\d+")
    finally:
        assert service.stop() == 0


def test_a_foreign_ca_is_one_line_at_start(
    clients: ClientsScript, bundle: Path, tmp_path: Path
) -> None:
    run_tls_script(tmp_path / "foreign")
    service = reporter(
        clients, bundle, tmp_path, MQTT_CA_FILE=str(tmp_path / "foreign" / "tls" / "ca.crt")
    )
    assert service.wait() == 2
    (line,) = service.log().strip().splitlines()
    assert "not signed by MQTT_CA_FILE=" in line and line.startswith("idle-reporter: ")


def test_a_name_the_certificate_was_not_made_for_is_one_line_at_start(
    clients: ClientsScript, bundle: Path, tmp_path: Path
) -> None:
    tls = clients.broker.tls_dir
    ext = tmp_path / "ext"
    ext.write_text("subjectAltName=DNS:other.lan\n")
    for command in (
        f"openssl req -new -key {tls / 'server.key'} -subj /CN=x -out {tmp_path / 'csr'}",
        f"openssl x509 -req -in {tmp_path / 'csr'} -CA {tls / 'ca.crt'} -CAkey {tls / 'ca.key'}"
        f" -set_serial 7 -days 2 -extfile {ext} -out {tls / 'server.crt'}",
    ):
        subprocess.run(command.split(), check=True, capture_output=True)
    clients.add("client", "reload")  # signals the broker, which re-reads its certificate
    service = reporter(clients, bundle, tmp_path)
    assert service.wait() == 2
    (line,) = service.log().strip().splitlines()
    assert "is not valid for the name 'localhost'" in line


def install(clients: ClientsScript, home: Path, env_file: Path) -> subprocess.CompletedProcess[str]:
    env = desktop_env(clients.broker, home)
    env.update(HOME=str(home), IDLE_SOURCE="file", IDLE_STATE_FILE=str(home / "idle-state"))
    env.pop("STATE_DIR")
    return subprocess.run(
        [sys.executable, "-m", "idle_reporter", "install-service", "--env-file", str(env_file)],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_install_service_takes_the_bundle_and_checks_the_broker(
    clients: ClientsScript, bundle: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    result = install(clients, home, Path("..") / "desktops" / HOST / "idle-reporter.env")
    assert result.returncode == 0, result.stderr
    assert "TLS certificate verified, logged in to localhost" in result.stdout
    config = home / ".config" / "idle-reporter"
    written = (config / "idle-reporter.env").read_text()
    assert f'MQTT_CA_FILE="{config / "ca.crt"}"' in written
    assert f'MQTT_USERNAME="{HOST}"' in written
    assert (config / "ca.crt").read_bytes() == (bundle / "ca.crt").read_bytes()


def test_install_service_refuses_a_foreign_ca_and_writes_nothing(
    clients: ClientsScript, bundle: Path, tmp_path: Path
) -> None:
    run_tls_script(tmp_path / "foreign")
    (bundle / "ca.crt").write_bytes((tmp_path / "foreign" / "tls" / "ca.crt").read_bytes())
    home = tmp_path / "home"
    home.mkdir()
    result = install(clients, home, bundle / "idle-reporter.env")
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("idle-reporter install-service: the broker's TLS certificate")
    assert not (home / ".config").exists()


def test_make_add_desktop_refuses_bad_input_with_one_line(
    clients: ClientsScript, bundle: Path, tmp_path: Path
) -> None:
    for arguments, error in (
        (("add-desktop", HOST), f"desktops/{HOST} exists already"),
        (("add-desktop", "bad_name"), "'bad_name' is not a valid name"),
        (("add-desktop", ""), "give the name"),
    ):
        result = make(clients, tmp_path, *arguments)
        assert result.returncode == 1
        assert error in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert make(clients, tmp_path, "list-desktops").stdout.split() == [HOST, "desktop"]
    result = make(clients, tmp_path, "remove-desktop", HOST)
    assert result.returncode == 0, result.stderr
    assert not bundle.exists()
    assert make(clients, tmp_path, "list-desktops").stdout == ""


def test_make_tls_names_adds_this_computers_name_to_the_certificate(
    clients: ClientsScript, tmp_path: Path
) -> None:
    name = socket.gethostname()
    context = ssl.create_default_context(cafile=str(clients.ca_file))

    def handshake() -> None:
        with (
            socket.create_connection(("127.0.0.1", clients.broker.tls_port), 5) as raw,
            context.wrap_socket(raw, server_hostname=name),
        ):
            pass

    with pytest.raises(ssl.SSLCertVerificationError):
        handshake()
    result = make(clients, tmp_path, "tls-names")
    assert result.returncode == 0, result.stderr
    assert name in result.stdout
    handshake()
