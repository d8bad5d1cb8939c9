"""The household's zone group topology: who is grouped with whom, and who leads each group.

Sonos keeps speakers in step only inside a group, so a whole-house announcement joins
rooms into one temporary group and must afterwards put every group back exactly as it
was. This module is the pure part of that: it parses the `ZoneGroupState` any speaker
answers (`ZoneGroupTopology.GetZoneGroupState`), reduces it to "each visible speaker's
coordinator" (that map alone says which speakers are grouped and which one leads), tells
two topologies apart in words, and plans the UPnP calls that lead from one to the other.

Bonded speakers are never moved on their own: a stereo pair's second speaker and a Sub
are `ZoneGroupMember`s marked `Invisible="1"`, a home theatre's surrounds are `<Satellite>`
children of its soundbar; they follow their visible primary wherever it goes. So only
visible members appear in the map and in a plan. A plan is two rounds of calls, each
round in parallel: first the speakers that must lead a group but are a member now leave
(`BecomeCoordinatorOfStandaloneGroup`), then every speaker joins its coordinator
(`SetAVTransportURI x-rincon:<coordinator uid>`). After the first round every coordinator
a join names leads a group, whatever order the joins then run in.

Nothing here touches the network; the callers run on coordinator worker threads.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlparse
from xml.etree import ElementTree

from sonos_bridge.errors import SpeakerError

logger = logging.getLogger(__name__)


class TopologyError(SpeakerError):
    """A speaker answered a zone group state that is not one."""


@dataclass(frozen=True, slots=True)
class Member:
    """One speaker as the topology lists it."""

    uid: str
    name: str
    ip: str
    invisible: bool = False  # a bonded speaker (stereo pair's right, Sub) or a bridge
    satellites: tuple[str, ...] = ()  # home-theatre surrounds and Sub, by UID


@dataclass(frozen=True, slots=True)
class ZoneGroup:
    """One group: its coordinator's UID and every member, invisible ones included."""

    coordinator: str
    members: tuple[Member, ...]

    @property
    def visible(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if not m.invisible)


@dataclass(frozen=True, slots=True)
class Topology:
    """The household's groups at one moment."""

    groups: tuple[ZoneGroup, ...] = ()

    @property
    def coordinators(self) -> dict[str, str]:
        """Each visible speaker's coordinator UID: the whole grouping in one map."""
        return {m.uid: g.coordinator for g in self.groups for m in g.visible}

    @property
    def names(self) -> dict[str, str]:
        return {m.uid: m.name for g in self.groups for m in g.members}

    def member(self, uid: str) -> Member | None:
        return next((m for g in self.groups for m in g.members if m.uid == uid), None)

    def group_of(self, uid: str) -> ZoneGroup | None:
        return next((g for g in self.groups if any(m.uid == uid for m in g.members)), None)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Topology:
        """Raises KeyError, TypeError or ValueError for anything but `to_json`'s output."""
        groups = tuple(
            ZoneGroup(
                str(group["coordinator"]),
                tuple(
                    Member(**{**member, "satellites": tuple(member.get("satellites", ()))})
                    for member in group["members"]
                ),
            )
            for group in document["groups"]
        )
        return cls(groups)


def _ip_of(location: str) -> str:
    return urlparse(location).hostname or ""


def _member(element: ElementTree.Element) -> Member:
    uid = element.get("UUID")
    if not uid:
        raise TopologyError("a ZoneGroupMember has no UUID")
    invisible = element.get("Invisible") == "1" or element.get("IsZoneBridge") == "1"
    satellites = tuple(s.get("UUID", "") for s in element.iter("Satellite") if s.get("UUID"))
    name, ip = element.get("ZoneName", uid), _ip_of(element.get("Location", ""))
    return Member(uid, name, ip, invisible, satellites)


def parse_zone_group_state(text: str) -> Topology:
    """The topology in a `ZoneGroupState` (S2 wraps `<ZoneGroups>` in `<ZoneGroupState>`).

    Raises `TopologyError` for text that is not a zone group state.
    """
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise TopologyError(f"the zone group state is not XML: {exc}") from None
    zone_groups = root if root.tag == "ZoneGroups" else root.find("ZoneGroups")
    if zone_groups is None:
        raise TopologyError(f"the zone group state has no ZoneGroups (root {root.tag})")
    groups = []
    for element in zone_groups.findall("ZoneGroup"):
        coordinator = element.get("Coordinator")
        members = tuple(_member(m) for m in element.findall("ZoneGroupMember"))
        if not coordinator or not any(m.uid == coordinator for m in members):
            raise TopologyError(f"a zone group names coordinator {coordinator!r} not among it")
        groups.append(ZoneGroup(coordinator, members))
    return Topology(tuple(groups))


# ------------------------------------------------------------------ differences
@dataclass(frozen=True, slots=True)
class Difference:
    """One visible speaker whose coordinator is not the expected one (None: not found)."""

    uid: str
    expected: str
    actual: str | None


def differences(
    expected: Mapping[str, str], actual: Mapping[str, str], scope: Iterable[str]
) -> list[Difference]:
    """The speakers in `scope` (UIDs) whose coordinator differs between two maps.

    Speakers `expected` does not know are left out: there is nothing to compare.
    """
    return [
        Difference(uid, expected[uid], actual.get(uid))
        for uid in sorted(set(scope))
        if uid in expected and actual.get(uid) != expected[uid]
    ]


def describe(difference: Difference, names: Mapping[str, str]) -> str:
    """One difference in words, for a result's `warnings`."""
    name = names.get(difference.uid, difference.uid)

    def place(coordinator: str | None) -> str:
        if coordinator is None:
            return "not in the household"
        if coordinator == difference.uid:
            return "on its own"
        return f"grouped with {names.get(coordinator, coordinator)}"

    return f"{name} is {place(difference.actual)}, not {place(difference.expected)} as before"


# --------------------------------------------------------------------- planning
@dataclass(frozen=True, slots=True)
class Join:
    """`SetAVTransportURI x-rincon:<coordinator>` on the speaker `uid`."""

    uid: str
    coordinator: str


@dataclass(frozen=True, slots=True)
class Plan:
    """The calls from one grouping to another: `leaves` first, then `joins`.

    `missing` are speakers the target has and the household no longer answers for;
    `substitutes` maps a missing coordinator to the member that leads its group instead.
    """

    leaves: tuple[str, ...] = ()
    joins: tuple[Join, ...] = ()
    missing: tuple[str, ...] = ()
    substitutes: Mapping[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.leaves and not self.joins


def _standing_in(target: Mapping[str, str], present: Collection[str]) -> dict[str, str]:
    """For each target coordinator that is missing, the first present member of its group."""
    substitutes: dict[str, str] = {}
    for uid, coordinator in target.items():
        if coordinator not in present and uid in present and coordinator not in substitutes:
            substitutes[coordinator] = uid
    return substitutes


def plan(current: Mapping[str, str], target: Mapping[str, str]) -> Plan:
    """The leaves and joins that turn `current` into `target` (both: UID -> coordinator).

    Only the speakers `target` names are moved; a group whose coordinator is gone is led
    by its first remaining member (in `target`'s order) instead.
    """
    present = current.keys()
    substitutes = _standing_in(target, present)
    leaves: list[str] = []
    joins: list[Join] = []
    for uid, coordinator in target.items():
        if uid not in present:
            continue
        wanted = substitutes.get(coordinator, coordinator)
        if current[uid] == wanted:
            continue
        if wanted == uid:
            leaves.append(uid)
        else:
            joins.append(Join(uid, wanted))
    missing = tuple(uid for uid in target if uid not in present)
    return Plan(tuple(leaves), tuple(joins), missing, substitutes)


def merged(
    current: Mapping[str, str], coordinators: Iterable[str], prefer: str | None = None
) -> tuple[str, dict[str, str]]:
    """The leader and the grouping with every group of `coordinators` merged into one.

    The leader is `prefer` when given, else the coordinator of the largest of those groups
    (the fewest speakers move), ties broken by UID so every caller picks the same one.
    """
    chosen = set(coordinators)
    sizes = {c: sum(1 for v in current.values() if v == c) for c in chosen}
    if not sizes:
        raise ValueError("no group to merge")
    leader = prefer if prefer in chosen else min(sizes, key=lambda c: (-sizes[c], c))
    target = {uid: leader if c in chosen else c for uid, c in current.items()}
    return leader, target


def restricted(grouping: Mapping[str, str], scope: Iterable[str]) -> dict[str, str]:
    """Only the speakers in `scope`, for plans that must leave the others alone."""
    wanted = set(scope)
    return {uid: c for uid, c in grouping.items() if uid in wanted}
