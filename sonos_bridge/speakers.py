"""Which speakers exist, what they are called, and which one coordinates each group.

Speakers come from SONOS_HOSTS or SSDP discovery and are re-read periodically, so a
regrouping in the Sonos app is picked up. Lookups are in memory: resolving a request's
speaker names never waits for the network.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import requests
import soco
import soco.config
from soco import SoCo
from soco.exceptions import SoCoException

from mqtt_service.discovery import slugify
from sonos_bridge.errors import UnknownSpeakerError

logger = logging.getLogger(__name__)

DISCOVERY_TIMEOUT = 5
# The port every Sonos speaker answers UPnP (SOAP, device description, events) on.
SONOS_PORT = 1400


@dataclass(frozen=True, slots=True)
class Speaker:
    """One visible player and its group's coordinator at the last refresh."""

    name: str
    uid: str
    ip: str
    coordinator_uid: str
    coordinator_name: str
    coordinator_ip: str

    @classmethod
    def group_coordinator(cls, name: str, uid: str, ip: str) -> Speaker:
        """A group's coordinator, as a speaker of its own."""
        return cls(name, uid, ip, coordinator_uid=uid, coordinator_name=name, coordinator_ip=ip)

    @property
    def is_coordinator(self) -> bool:
        return self.uid == self.coordinator_uid

    @property
    def coordinator(self) -> Speaker:
        return Speaker.group_coordinator(
            self.coordinator_name, self.coordinator_uid, self.coordinator_ip
        )

    def public(self) -> dict[str, object]:
        return {
            "name": self.name,
            "uid": self.uid,
            "ip": self.ip,
            "coordinator": self.coordinator_name,
            "is_coordinator": self.is_coordinator,
        }


def _name_keys(name: str) -> set[str]:
    return {name.casefold(), slugify(name)}


class SpeakerRegistry:
    """The current view of the household, refreshed by `refresh()`."""

    def __init__(self, hosts: list[str], discovery_interface: str | None = None) -> None:
        self.hosts = hosts
        self.discovery_interface = discovery_interface
        self._lock = threading.Lock()
        self._speakers: dict[str, Speaker] = {}  # by uid
        self._unreachable: set[str] = set()

    def _seeds(self) -> list[SoCo]:
        if self.hosts:
            return [SoCo(host) for host in self.hosts]
        found = soco.discover(
            timeout=DISCOVERY_TIMEOUT,
            include_invisible=False,
            interface_addr=self.discovery_interface,
        )
        if not found:
            logger.warning(
                "SSDP discovery found no Sonos speakers; is the bridge on the speakers' "
                "network (host networking), or set SONOS_HOSTS"
            )
            return []
        return sorted(found, key=lambda zone: str(zone.ip_address))

    def refresh(self) -> bool:
        """Re-read the topology; True when the set of speakers or groups changed."""
        for state in SoCo.zone_group_states.values():
            state.clear_cache()  # see regroupings now, not after SoCo's 5 s cache
        speakers: dict[str, Speaker] = {}
        households_seen: set[str] = set()
        for seed in self._seeds():
            speakers.update(self._household_of(seed, households_seen))
        if not speakers and self._speakers:
            logger.warning("No speaker answered; keeping the last known list")
            return False
        with self._lock:
            changed = speakers != self._speakers
            self._speakers = speakers
        if changed:
            _log_speakers(speakers.values())
        return changed

    def _household_of(self, seed: SoCo, households_seen: set[str]) -> dict[str, Speaker]:
        """The visible speakers of `seed`'s household, unless that one was read already;
        a seed that does not answer is logged once until it answers again."""
        try:
            household = seed.household_id
            if household in households_seen:
                return {}
            groups = seed.all_groups
            visible = seed.visible_zones
        except (SoCoException, requests.RequestException, OSError) as exc:
            if seed.ip_address not in self._unreachable:
                logger.warning("Speaker at %s does not answer: %s", seed.ip_address, exc)
                self._unreachable.add(seed.ip_address)
            return {}
        if seed.ip_address in self._unreachable:
            logger.info("Speaker at %s answers again", seed.ip_address)
            self._unreachable.discard(seed.ip_address)
        households_seen.add(household)
        return {
            speaker.uid: speaker
            for group in groups
            if group.coordinator is not None
            for speaker in _visible_members(group.coordinator, group.members, visible)
        }

    def all(self) -> list[Speaker]:
        with self._lock:
            return sorted(self._speakers.values(), key=lambda s: s.name.casefold())

    def resolve(self, names: Sequence[str]) -> list[Speaker]:
        """Speakers for the requested names (case-insensitive, or HA slugs, or `all`)."""
        known = self.all()
        if any(name.casefold() == "all" for name in names):
            if not known:
                raise UnknownSpeakerError("no speakers are known yet")
            return known
        chosen: list[Speaker] = []
        for name in names:
            match = next((s for s in known if _name_keys(name) & _name_keys(s.name)), None)
            if match is None:
                names_known = ", ".join(s.name for s in known) or "none"
                raise UnknownSpeakerError(f"unknown speaker {name!r} (known: {names_known})")
            if match not in chosen:
                chosen.append(match)
        return chosen

    def by_uid(self, uid: str) -> Speaker | None:
        with self._lock:
            return self._speakers.get(uid)

    def members_of(self, coordinator_uid: str) -> list[Speaker]:
        with self._lock:
            return [s for s in self._speakers.values() if s.coordinator_uid == coordinator_uid]

    def to_json(self) -> str:
        return json.dumps([s.public() for s in self.all()], separators=(",", ":"))


def _visible_members(
    coordinator: SoCo, members: Iterable[SoCo], visible: set[SoCo]
) -> list[Speaker]:
    """A group's members as `Speaker`s, leaving out the invisible ones (a pair's second
    speaker, a Sub, surrounds)."""
    return [
        Speaker(
            name=member.player_name,
            uid=member.uid,
            ip=member.ip_address,
            coordinator_uid=coordinator.uid,
            coordinator_name=coordinator.player_name,
            coordinator_ip=coordinator.ip_address,
        )
        for member in members
        if member in visible
    ]


def _log_speakers(speakers: Iterable[Speaker]) -> None:
    listed = ", ".join(
        f"{s.name} ({s.ip}{'' if s.is_coordinator else ', in ' + s.coordinator_name})"
        for s in sorted(speakers, key=lambda s: s.name)
    )
    logger.info("Speakers: %s", listed or "none")


def use_soco_timeout(seconds: float) -> None:
    """Set SoCo's timeout for the calls SoCo makes itself (topology, speaker info, event
    subscriptions) once, at process start, before any thread exists.

    It must be process-wide: SoCo reads the module global `soco.config.REQUEST_TIMEOUT`
    on every call, from every thread, and offers no per-instance setting for the calls
    it makes internally. The bridge's own SOAP calls (`playback.takeover.upnp`) pass
    their timeout per call and do not depend on this.
    """
    soco.config.REQUEST_TIMEOUT = seconds
