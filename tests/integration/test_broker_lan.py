"""Desktops on the LAN (issue 18), with the real broker from the project's config:
its TLS listener, and the users `make add-desktop` / `add-client` create (clients.sh)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.support.broker import MosquittoBroker, run_tls_script
from testkit.support.lan import ClientsScript
from testkit.support.probe import Probe

DESKTOP = "kitchen-pc"
OTHER = "office"


@pytest.fixture
def clients(broker: MosquittoBroker) -> ClientsScript:
    script = ClientsScript(broker)
    script.start()
    return script


@pytest.fixture
def desktops(clients: ClientsScript) -> dict[str, str]:
    """Two desktops added to the running broker: name -> password."""
    return {name: clients.add("desktop", name) for name in (DESKTOP, OTHER)}


@pytest.fixture
def tls_probes(broker: MosquittoBroker, clients: ClientsScript) -> Iterator[list[Probe]]:
    made: list[Probe] = []
    yield made
    for probe in made:
        probe.close()


def desktop_probe(
    broker: MosquittoBroker, clients: ClientsScript, made: list[Probe], name: str, password: str
) -> Probe:
    probe = Probe(broker, name, password=password, tls_ca=clients.ca_file)
    made.append(probe)
    assert not probe.connect_result().is_failure, probe.connect_result()
    return probe


def handshake(broker: MosquittoBroker, ca_file: Path, host: str) -> dict[str, object]:
    context = ssl.create_default_context(cafile=str(ca_file))
    with (
        socket.create_connection(("127.0.0.1", broker.tls_port), 5) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        certificate = tls.getpeercert()
    assert certificate is not None
    return dict(certificate)


def test_tls_listener_is_verified_for_the_bundles_host_and_refused_otherwise(
    broker: MosquittoBroker, clients: ClientsScript, tmp_path: Path
) -> None:
    clients.add("desktop", DESKTOP, "broker.home.lan", "192.168.77.5")
    for name in ("broker.home.lan", "192.168.77.5", "localhost", "127.0.0.1"):
        assert handshake(broker, clients.ca_file, name)
    with pytest.raises(ssl.SSLCertVerificationError, match="match"):
        handshake(broker, clients.ca_file, "elsewhere.lan")
    run_tls_script(tmp_path / "foreign")
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
        handshake(broker, tmp_path / "foreign" / "tls" / "ca.crt", "localhost")


def test_server_certificate_is_renewed_by_the_same_ca_and_served_after_sighup(
    broker: MosquittoBroker, clients: ClientsScript
) -> None:
    ca_before = clients.ca_file.read_bytes()
    serial_before = handshake(broker, clients.ca_file, "localhost")["serialNumber"]
    output = run_tls_script(broker.workdir, MOSQUITTO_TLS_RENEW_DAYS="900")
    assert "expires within 900 days" in output
    assert clients.ca_file.read_bytes() == ca_before
    clients.add("client", "zigbee2mqtt")  # any change signals the broker
    assert handshake(broker, clients.ca_file, "localhost")["serialNumber"] != serial_before


def test_a_desktop_writes_only_its_own_topics_and_discovery(
    broker: MosquittoBroker,
    clients: ClientsScript,
    desktops: dict[str, str],
    tls_probes: list[Probe],
    probe: Probe,
) -> None:
    probe.subscribe("idle/#")
    probe.subscribe("homeassistant/#")
    desktop = desktop_probe(broker, clients, tls_probes, DESKTOP, desktops[DESKTOP])
    forbidden = [
        f"idle/{OTHER}/state",
        f"idle/{OTHER}/command",
        f"idle/{DESKTOP}/command",
        "homeassistant/binary_sensor/idle_reporter/office_occupancy/config",
        "homeassistant/status",
        "sonos/tts",
    ]
    for topic in forbidden:
        desktop.publish(topic, "", retain=True)  # an empty retained config deletes an entity
    own = [
        f"idle/{DESKTOP}/state",
        f"idle/{DESKTOP}/idle_seconds",
        f"idle/{DESKTOP}/locked",
        "homeassistant/binary_sensor/idle_reporter/kitchen_pc_occupancy/config",
        "homeassistant/sensor/idle_reporter/kitchen_pc_idle_seconds/config",
        "homeassistant/binary_sensor/idle_reporter/kitchen_pc_locked/config",
        f"idle/{DESKTOP}/status",  # last: everything before it has been routed
    ]
    for topic in own:
        desktop.publish(topic, "x")
    probe.wait_for(own[-1])
    assert sorted({m.topic for m in probe.messages}) == sorted(own)


def test_a_desktop_reads_only_its_command_and_home_assistants_birth(
    clients: ClientsScript,
    desktops: dict[str, str],
    tls_probes: list[Probe],
    probe: Probe,
    probe_factory: object,
) -> None:
    desktop = desktop_probe(clients.broker, clients, tls_probes, DESKTOP, desktops[DESKTOP])
    for topic in ("#", "sonos/#", f"idle/{OTHER}/#"):
        desktop.client.subscribe(topic, 1)
    desktop.subscribe(f"idle/{DESKTOP}/command")
    desktop.subscribe("homeassistant/status")
    probe.subscribe("sonos/result")
    bridge = probe_factory("sonos_bridge")  # type: ignore[operator]
    bridge.publish("sonos/result", '{"id": "1", "status": "played"}')
    probe.wait_for("sonos/result")  # routed: a desktop allowed to read it has it by now
    probe.publish(f"idle/{OTHER}/command", "lock")
    probe.publish("homeassistant/status", "online")
    probe.publish(f"idle/{DESKTOP}/command", "report")
    desktop.wait_for(f"idle/{DESKTOP}/command")
    # (the `#` subscription delivers what it may read a second time)
    readable = {"homeassistant/status", f"idle/{DESKTOP}/command"}
    assert {m.topic for m in desktop.messages} == readable


def test_a_removed_desktop_is_dropped_at_once_and_refused_after(
    broker: MosquittoBroker,
    clients: ClientsScript,
    desktops: dict[str, str],
    tls_probes: list[Probe],
) -> None:
    desktop = desktop_probe(broker, clients, tls_probes, DESKTOP, desktops[DESKTOP])
    other = desktop_probe(broker, clients, tls_probes, OTHER, desktops[OTHER])
    clients.remove(DESKTOP)
    assert desktop.disconnected.wait(5), "the removed desktop is still connected"
    again = Probe(broker, DESKTOP, password=desktops[DESKTOP], tls_ca=clients.ca_file)
    tls_probes.append(again)
    assert again.connect_result().is_failure
    assert not other.disconnected.is_set()
    assert clients.run("list").stdout.split() == [OTHER, "desktop"]


def test_a_household_client_owns_its_tree_and_may_announce_entities(
    broker: MosquittoBroker, clients: ClientsScript, tls_probes: list[Probe], probe: Probe
) -> None:
    password = clients.add("client", "zigbee2mqtt")
    probe.subscribe("#")
    z2m = desktop_probe(broker, clients, tls_probes, "zigbee2mqtt", password)
    z2m.subscribe("zigbee2mqtt/#")
    z2m.subscribe("homeassistant/status")
    for topic in (
        "homeassistant/sensor/sonos_bridge/kitchen/config",
        "homeassistant/binary_sensor/idle_reporter/office_occupancy/config",
        "idle/office/command",
        "sonos/tts",
    ):
        z2m.publish(topic, "", retain=True)
    allowed = ["homeassistant/sensor/0x00158d0001/temperature/config", "zigbee2mqtt/bridge/state"]
    for topic in allowed:
        z2m.publish(topic, "x")
    probe.wait_for(allowed[-1])
    assert [m.topic for m in probe.messages] == allowed
    assert clients.run("list").stdout.split() == ["zigbee2mqtt", "client"]


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (("add", "desktop", "kitchen_pc"), "'kitchen_pc' is not a valid name"),
        (("add", "desktop", "-pc"), "'-pc' is not a valid name"),
        (("add", "desktop", "a/b"), "'a/b' is not a valid name"),
        (("add", "client", "sonos"), "'sonos' is a name the stack itself uses"),
        (("add", "desktop", "HomeAssistant"), "is a name the stack itself uses"),
        (("add", "desktop", "Office"), "'office' exists already"),
        (("remove", "nobody"), "no desktop or client named 'nobody'"),
    ],
)
def test_bad_input_gets_one_line_and_changes_nothing(
    broker: MosquittoBroker,
    clients: ClientsScript,
    desktops: dict[str, str],
    arguments: tuple[str, ...],
    error: str,
) -> None:
    before = (broker.passwd.read_bytes(), broker.acl.read_bytes())
    result = clients.run(*arguments)
    assert result.returncode == 1
    assert result.stdout == ""
    assert error in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr
    assert (broker.passwd.read_bytes(), broker.acl.read_bytes()) == before


def test_a_stopped_broker_gets_one_line_and_nothing_changes(
    broker: MosquittoBroker, clients: ClientsScript, desktops: dict[str, str]
) -> None:
    broker.stop()
    before = (broker.passwd.read_bytes(), broker.acl.read_bytes())
    for arguments in (("add", "desktop", "den"), ("remove", OTHER)):
        result = clients.run(*arguments)
        assert result.returncode == 1
        assert "the broker is not running" in result.stderr
        assert len(result.stderr.splitlines()) == 1
    assert (broker.passwd.read_bytes(), broker.acl.read_bytes()) == before
