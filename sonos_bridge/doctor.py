"""Setup diagnosis: can the bridge reach the speakers, and can they reach its clip server?

What breaks setups most often in peer projects' issue trackers is the network between the
bridge and the speakers: a VLAN or firewall in between, a bridge inside a Docker network,
a clip URL on an address the speakers cannot reach. Two checks cover it:

* every configured or discovered speaker answers on port 1400 (its UPnP control port);
* the clip URL the speakers are given (ADVERTISE_HOST, or the local address that routes
  to each speaker) reaches the bridge's clip server from the bridge itself.

`sonos-bridge doctor` also probes every speaker for audio clips as the bridge does and
prints one line per speaker with the mode its announcements will use and why (model, S1
or S2, API key, bonding), a line a user with real speakers can send us; it checks that
the house rules' per-room settings name existing rooms, and prints the rules in force
(quiet hours, volume limits, do-not-disturb).

Each failure is one finding whose detail says what to change. At start the bridge runs the
checks in a thread of its own (`check_in_background`, thread "setup-check") that only reads
the speaker registry (which locks) and logs; `sonos-bridge doctor` runs them on demand and
prints one line per check (`run_doctor`).
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sonos_bridge.audio.clip_cache import ClipCache
from sonos_bridge.audio.server import AudioServer, local_address_towards
from sonos_bridge.errors import StartupError
from sonos_bridge.playback.clip.capability import Reach, SpeakerCapability, describe
from sonos_bridge.playback.clip.player import ClipOptions, ClipPlayer
from sonos_bridge.playback.clip.probe import ClipSupport
from sonos_bridge.request.house_rules import unknown_rooms
from sonos_bridge.settings import SonosSettings
from sonos_bridge.speakers import SONOS_PORT, SpeakerRegistry

logger = logging.getLogger(__name__)

# A clip key that is never cached: the bridge's server answers it with a 404 of its own.
PROBE_PATH = f"/tts/{'0' * 32}.mp3"
SERVER_NAME = "sonos-bridge"


@dataclass(frozen=True, slots=True)
class Finding:
    """One check: what was checked, whether it passed, and what to change if not."""

    check: str
    ok: bool
    detail: str


def _reason(error: BaseException) -> str:
    if isinstance(error, urllib.error.URLError) and isinstance(error.reason, BaseException):
        error = error.reason
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error) or type(error).__name__


def check_speaker(ip: str, label: str, timeout: float) -> Finding:
    """The speaker's device description over HTTP on 1400, as SoCo fetches it."""
    check = f"speaker {label}" if label == ip else f"speaker {label} ({ip})"
    url = f"http://{ip}:{SONOS_PORT}/xml/device_description.xml"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read(1)
    except (OSError, http.client.HTTPException) as exc:
        return Finding(
            check,
            False,
            f"does not answer on port {SONOS_PORT} ({_reason(exc)}): check that it is on, that "
            f"SONOS_HOSTS names it right, and that this host can reach the speakers' network "
            f"(VLAN routing; allow TCP {SONOS_PORT} from this host to the speakers)",
        )
    return Finding(check, True, f"answers on port {SONOS_PORT}")


def loopback_problem(advertised: str, speaker_ip: str) -> str | None:
    """A loopback clip address only works for a speaker on this very machine."""
    try:
        advertised_is_loopback = ipaddress.ip_address(advertised).is_loopback
        speaker_is_loopback = ipaddress.ip_address(speaker_ip).is_loopback
    except ValueError:
        return None
    if advertised_is_loopback and not speaker_is_loopback:
        return (
            f"the speaker at {speaker_ip} would fetch clips from {advertised}, its own "
            "loopback address: set ADVERTISE_HOST to this computer's LAN address"
        )
    return None


def check_clip_url(host: str, port: int, timeout: float) -> Finding:
    """A HEAD for a clip that does not exist: our server answers 404 with its name."""
    base = f"http://{host}:{port}/"
    request = urllib.request.Request(base.rstrip("/") + PROBE_PATH, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            server = response.headers.get("Server", "")
    except urllib.error.HTTPError as answer:
        server = answer.headers.get("Server", "")
    except (OSError, http.client.HTTPException) as exc:
        return Finding(
            f"clip URL {base}",
            False,
            f"not reachable from the bridge itself ({_reason(exc)}), so not from the speakers "
            "either: set ADVERTISE_HOST to this computer's LAN address (not a container "
            f"address or a Docker host name) and allow TCP {port} in its firewall",
        )
    if not server.startswith(SERVER_NAME):
        return Finding(
            f"clip URL {base}",
            False,
            f"another program answers there ({server or 'no Server header'}), not the "
            "bridge's clip server: choose another HTTP_PORT, or fix ADVERTISE_HOST",
        )
    return Finding(f"clip URL {base}", True, "reaches the bridge's clip server")


def diagnose(
    speakers: dict[str, str], advertise_host: str | None, http_port: int, timeout: float
) -> list[Finding]:
    """Every check for these speakers (address -> label) and the clip server's port."""
    if not speakers:
        return [
            Finding(
                "speakers",
                False,
                "none configured and none discovered: run the bridge with host networking on "
                "the speakers' network (multicast must pass), or list them in SONOS_HOSTS",
            )
        ]
    findings = [check_speaker(ip, label, timeout) for ip, label in speakers.items()]
    advertised: dict[str, str] = {}  # clip host -> first speaker it is given to
    for ip in speakers:
        advertised.setdefault(advertise_host or local_address_towards(ip), ip)
    for host, speaker_ip in advertised.items():
        problem = loopback_problem(host, speaker_ip)
        if problem is not None:
            findings.append(Finding(f"clip URL http://{host}:{http_port}/", False, problem))
        else:
            findings.append(check_clip_url(host, http_port, timeout))
    return findings


def speakers_to_check(hosts: list[str], registry: SpeakerRegistry) -> dict[str, str]:
    """Configured addresses (answering or not) and every speaker the registry knows."""
    speakers = {ip: ip for ip in hosts}
    for speaker in registry.all():
        speakers[speaker.ip] = speaker.name
    return speakers


def log_findings(findings: list[Finding]) -> None:
    failures = [finding for finding in findings if not finding.ok]
    for finding in failures:
        logger.warning("Setup check: %s %s", finding.check, finding.detail)
    if not failures:
        logger.info("Setup check passed: %s", "; ".join(f.check for f in findings))


def check_in_background(
    settings: SonosSettings, registry: SpeakerRegistry, http_port: int
) -> threading.Thread:
    """Run the checks once, off the start-up path (a dead speaker costs a timeout)."""

    def run() -> None:
        try:
            speakers = speakers_to_check(settings.hosts, registry)
            log_findings(
                diagnose(speakers, settings.advertise_host, http_port, settings.sonos_timeout)
            )
        except Exception:
            logger.exception("The setup check failed")

    thread = threading.Thread(target=run, name="setup-check", daemon=True)
    thread.start()
    return thread


@contextmanager
def clip_server_running(settings: SonosSettings) -> Iterator[None]:
    """Serve on HTTP_PORT for the check unless the bridge (or another program) already does."""
    with tempfile.TemporaryDirectory(prefix="sonos-doctor-") as directory:
        try:
            server = AudioServer(
                ClipCache(Path(directory), 1 << 20), settings.http_bind, settings.http_port, None
            )
        except StartupError:  # the port is taken: check whoever holds it
            yield
            return
        server.start()
        try:
            yield
        finally:
            server.stop()


def mode_finding(label: str, support: ClipSupport, clip_mode: str) -> Finding:
    """Which way announcements play on one speaker and why, as one line a user can send.

    Only SONOS_CLIP_MODE=always makes a speaker without clips a failure."""
    check = f"mode {label}" if label == support.ip else f"mode {label} ({support.ip})"
    capability = support.capability or SpeakerCapability(support.ip, Reach.PENDING)
    line = describe(capability, support.unavailable)
    if clip_mode == "never":
        return Finding(check, True, f"takeover (SONOS_CLIP_MODE=never); by itself: {line}")
    if clip_mode == "always" and support.unavailable:
        return Finding(check, False, f"{line}; SONOS_CLIP_MODE=always allows no takeover")
    return Finding(check, True, line)


def clip_modes(speakers: dict[str, str], settings: SonosSettings) -> list[Finding]:
    """Probe every speaker for audio clips, as the bridge does, and say what it chose."""
    player = ClipPlayer(
        ClipOptions(timeout=settings.sonos_timeout, deny_models=settings.clip_deny_models)
    )
    try:
        verdicts = player.refresh(list(speakers))
    finally:
        player.close()
    return [
        mode_finding(label, verdicts[ip], settings.sonos_clip_mode)
        for ip, label in speakers.items()
    ]


def run_doctor(settings: SonosSettings) -> int:
    """`sonos-bridge doctor`: one line per check, then one per speaker saying how its
    announcements play and why; 0 when all passed, 1 otherwise."""
    registry = SpeakerRegistry(settings.hosts, settings.sonos_discovery_interface)
    registry.refresh()
    speakers = speakers_to_check(settings.hosts, registry)
    with clip_server_running(settings):
        findings = diagnose(
            speakers,
            settings.advertise_host,
            settings.http_port,
            settings.sonos_timeout,
        )
    if speakers:
        findings += clip_modes(speakers, settings)
    findings += house_rule_findings(settings, [s.name for s in registry.all()])
    for finding in findings:
        print(f"{'ok' if finding.ok else 'FAIL':<5} {finding.check}: {finding.detail}")
    for line in settings.house_rules().describe():
        print(f"{'rule':<5} {line}")
    return 0 if all(finding.ok for finding in findings) else 1


def house_rule_findings(settings: SonosSettings, speakers: list[str]) -> list[Finding]:
    """Rooms the per-room settings name that no speaker found has (the bridge would not
    start); nothing to check without such settings, or before any speaker is found."""
    if not speakers or not any(settings.rule_rooms.values()):
        return []
    problems = unknown_rooms(settings.rule_rooms, speakers)
    return [Finding("house rules", not problems, "; ".join(problems) or "every room named exists")]
