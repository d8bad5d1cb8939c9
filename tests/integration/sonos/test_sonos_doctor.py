"""Setup diagnosis against fake speakers: who answers on 1400, and is the clip URL reachable.

One of the speakers is an address where nothing listens, as a speaker on a VLAN the
bridge cannot route to, or one that is switched off.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from sonos_bridge.audio.clip_cache import ClipCache
from sonos_bridge.audio.server import AudioServer
from sonos_bridge.doctor import Finding, diagnose, loopback_problem
from testkit.fakes.s2 import S2Profile, stereo_pair, with_sub
from testkit.fakes.speaker import FakeSonosSystem, address_is_free, loopback_addresses
from testkit.support.broker import MosquittoBroker, free_port
from testkit.support.service_process import service_env
from tests.integration.sonos.conftest import BridgeFactory

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def silent_address() -> str:
    """A loopback address where nothing answers on port 1400."""
    return next(ip for ip in loopback_addresses(230) if address_is_free(ip))


@pytest.fixture
def clip_server(tmp_path: Path) -> Iterator[AudioServer]:
    server = AudioServer(ClipCache(tmp_path / "clips", 1 << 20), "127.0.0.1", 0, None)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {finding.check: finding for finding in findings}


def test_each_speaker_and_the_clip_url_are_checked(
    sonos: FakeSonosSystem, clip_server: AudioServer, silent_address: str
) -> None:
    kitchen = sonos.add("Kitchen")
    findings = by_check(
        diagnose(
            {kitchen.ip: "Kitchen", silent_address: silent_address}, None, clip_server.port, 1.0
        )
    )
    assert findings[f"speaker Kitchen ({kitchen.ip})"].ok
    dead = findings[f"speaker {silent_address}"]
    assert not dead.ok
    assert "port 1400" in dead.detail and "SONOS_HOSTS" in dead.detail
    clip = findings[f"clip URL http://127.0.0.1:{clip_server.port}/"]
    assert clip.ok, clip.detail


def test_a_clip_url_the_bridge_cannot_reach_says_to_set_advertise_host(
    sonos: FakeSonosSystem, clip_server: AudioServer
) -> None:
    kitchen = sonos.add("Kitchen")
    findings = diagnose({kitchen.ip: "Kitchen"}, "sonos-bridge.invalid", clip_server.port, 1.0)
    clip = by_check(findings)[f"clip URL http://sonos-bridge.invalid:{clip_server.port}/"]
    assert not clip.ok
    assert "ADVERTISE_HOST" in clip.detail


def test_another_program_on_the_clip_port_is_named(sonos: FakeSonosSystem) -> None:
    class Other(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    other = HTTPServer(("127.0.0.1", 0), Other)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        kitchen = sonos.add("Kitchen")
        findings = diagnose({kitchen.ip: "Kitchen"}, "127.0.0.1", other.server_port, 1.0)
    finally:
        other.shutdown()
        other.server_close()
    clip = by_check(findings)[f"clip URL http://127.0.0.1:{other.server_port}/"]
    assert not clip.ok
    assert "HTTP_PORT" in clip.detail and "another program" in clip.detail


def test_a_loopback_clip_address_for_a_lan_speaker_is_a_problem() -> None:
    problem = loopback_problem("127.0.0.1", "192.0.2.10")
    assert problem is not None and "ADVERTISE_HOST" in problem
    assert loopback_problem("127.0.0.1", "127.0.0.2") is None
    assert loopback_problem("192.0.2.1", "192.0.2.10") is None


def test_no_speaker_at_all_is_a_failure(clip_server: AudioServer) -> None:
    findings = by_check(diagnose({}, None, clip_server.port, 1.0))
    assert not findings["speakers"].ok
    assert "SONOS_HOSTS" in findings["speakers"].detail


def test_the_bridge_logs_one_line_per_failure_at_start(
    sonos: FakeSonosSystem,
    bridge_factory: BridgeFactory,
    silent_address: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    kitchen = sonos.add("Kitchen")
    caplog.set_level(logging.INFO, logger="sonos_bridge.doctor")
    service = bridge_factory(sonos_hosts=f"{kitchen.ip},{silent_address}")
    service.setup_check.join(20)
    lines = [r.getMessage() for r in caplog.records if r.name == "sonos_bridge.doctor"]
    failures = [r for r in caplog.records if r.name == "sonos_bridge.doctor" and r.levelno >= 30]
    assert len(failures) == 1, lines
    assert silent_address in failures[0].getMessage()
    assert "\n" not in failures[0].getMessage()


def run_doctor(
    broker: MosquittoBroker, tmp_path: Path, hosts: str, **rules: str
) -> subprocess.CompletedProcess[str]:
    environment = service_env(
        broker,
        tmp_path / "state",
        SONOS_HOSTS=hosts,
        SONOS_TIMEOUT="1",
        HTTP_PORT=str(free_port()),
        HTTP_BIND="127.0.0.1",
        ADVERTISE_HOST="127.0.0.1",
        **rules,
    )
    return subprocess.run(
        [sys.executable, "-m", "sonos_bridge", "doctor"],
        check=False,
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_sonos_bridge_doctor_prints_every_check_and_fails_on_one(
    sonos: FakeSonosSystem, broker: MosquittoBroker, tmp_path: Path, silent_address: str
) -> None:
    kitchen = sonos.add("Kitchen")
    healthy = run_doctor(broker, tmp_path, kitchen.ip)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert [line.split()[0] for line in healthy.stdout.splitlines()] == [
        "ok",
        "ok",
        "ok",
        "rule",
        "rule",
    ]
    assert healthy.stdout.splitlines()[2] == (
        f"ok    mode Kitchen ({kitchen.ip}): takeover (model unknown, S1 or port 1443 closed, "
        "key not tried, bonding unknown): port 1443 is not reachable (connection refused)"
    )

    broken = run_doctor(broker, tmp_path, f"{kitchen.ip},{silent_address}")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    failed = [line for line in broken.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failed) == 1 and silent_address in failed[0], broken.stdout


def test_doctor_prints_the_house_rules_in_force_and_names_an_unknown_room(
    sonos: FakeSonosSystem, broker: MosquittoBroker, tmp_path: Path
) -> None:
    kitchen = sonos.add("Kitchen")
    shown = run_doctor(
        broker,
        tmp_path,
        kitchen.ip,
        TZ="Europe/Berlin",
        SONOS_QUIET_HOURS="22:00-07:00",
        SONOS_QUIET_POLICY="hold",
        SONOS_MAX_VOLUME_PER_ROOM="Kitchen=60,Garage=20",
        SONOS_DND_POLICY="drop",
    )
    assert shown.returncode == 1, shown.stdout + shown.stderr
    lines = shown.stdout.splitlines()
    assert [line for line in lines if line.startswith("rule")] == [
        "rule  quiet hours 22:00-07:00 (Europe/Berlin): hold, at most volume 20",
        "rule  volume at most 60 in Kitchen",
        "rule  volume at most 20 in Garage",
        "rule  do-not-disturb: drop normal requests",
    ]
    assert "FAIL  house rules: SONOS_MAX_VOLUME_PER_ROOM names 'Garage'" in shown.stdout


def test_doctor_says_per_speaker_which_mode_it_uses_and_why(
    sonos: FakeSonosSystem, broker: MosquittoBroker, tmp_path: Path
) -> None:
    one = sonos.add("Kitchen", s2=S2Profile(model="One", **with_sub()))
    pair = sonos.add("Living Room", s2=S2Profile(model="One SL", **stereo_pair()))
    play3 = sonos.add("Bath", s2=S2Profile(model="Play:3"))
    report = run_doctor(broker, tmp_path, f"{one.ip},{pair.ip},{play3.ip}")
    assert report.returncode == 0, report.stdout + report.stderr
    modes = [line for line in report.stdout.splitlines() if " mode " in line]
    assert modes == [
        f"ok    mode Kitchen ({one.ip}): clip (model One, S2, key ok, with Sub, "
        "ids from local/info)",
        f"ok    mode Living Room ({pair.ip}): takeover (model One SL, S2, key ok, stereo pair, "
        "ids from local/info): a stereo pair plays a clip on one side only",
        f"ok    mode Bath ({play3.ip}): takeover (model Play:3, S2, key ok, not bonded, "
        "ids from local/info): model Play:3 is on the clip deny list (SONOS_CLIP_DENY_MODELS)",
    ]
