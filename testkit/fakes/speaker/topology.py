"""Topology: households, groups and what a speaker says about them.

`FakeHousehold` holds the speakers that share a household ID; a speaker's `coordinator`
says which group it is in. The zone group state (UPnP `GetZoneGroupState`), the S2
`getGroups` body and the grouping actions (`BecomeCoordinatorOfStandaloneGroup`) are all
built here, so grouping (x-rincon, bonded members) changes in one module.

Grouping behaves like Sonos: `SetAVTransportURI x-rincon:<coordinator uid>` on any speaker
joins it to that coordinator's group (only a group's coordinator can be joined);
`BecomeCoordinatorOfStandaloneGroup` takes a speaker out of its group. When a coordinator
leaves (either way), the next member of its group carries on with the group's music and
leads the others. Members follow their coordinator: its transport state is theirs, and
each `Play` records which rooms were in its group (`PlayRecord.group`). Bonded speakers
(`bond`: a stereo pair's second speaker or a Sub, listed `Invisible="1"`; a home theatre's
surrounds, listed as `<Satellite>`s) have no server of their own and go wherever their
visible primary goes. Grouping changes hold the household's `grouping` lock and take one
speaker's lock at a time.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import quoteattr

from testkit.fakes.speaker.state import SONOS_PORT, Action, TransportState
from testkit.fakes.upnp import SoapFaultError

if TYPE_CHECKING:
    from testkit.fakes.speaker.device import FakeSpeaker


@dataclass(frozen=True)
class Bonded:
    """A speaker bonded to a visible one; it has no server and follows its primary."""

    uid: str
    ip: str
    channel: str  # RF (a stereo pair's right), SW (a Sub), RR / LR (surrounds)
    satellite: bool = False  # a home theatre's surround or Sub: a <Satellite> child


class FakeHousehold:
    """Speakers that share a household ID and a zone group topology."""

    def __init__(self, household_id: str = "Sonos_FakeHousehold0001") -> None:
        self.household_id = household_id
        self.speakers: list[FakeSpeaker] = []
        self.bonded: dict[str, list[Bonded]] = {}  # primary uid -> its bonded speakers
        self._lock = threading.Lock()
        self.grouping = threading.RLock()  # one grouping change at a time

    def add(self, speaker: FakeSpeaker) -> None:
        with self._lock:
            self.speakers.append(speaker)

    def remove(self, speaker: FakeSpeaker) -> None:
        """Take a speaker out of the topology, as unplugging it for good does."""
        with self._lock:
            self.speakers.remove(speaker)

    def group(self, coordinator: FakeSpeaker, *members: FakeSpeaker) -> None:
        """Put `members` in `coordinator`'s group, as the Sonos app's Group button does."""
        for member in members:
            self.join(member, coordinator.uid)

    def bond(self, primary: FakeSpeaker, *bonded: Bonded) -> None:
        """Bond speakers to `primary` (a stereo pair, a Sub, a home theatre's surrounds)."""
        with self._lock:
            self.bonded.setdefault(primary.uid, []).extend(bonded)

    def members_of(self, coordinator: FakeSpeaker) -> list[FakeSpeaker]:
        with self._lock:
            return [s for s in self.speakers if s.coordinator is coordinator]

    def grouping_of(self) -> dict[str, str]:
        """Each visible speaker's coordinator, by name (what tests compare)."""
        with self._lock:
            return {s.name: s.coordinator.name for s in self.speakers}

    # ------------------------------------------------------------ grouping
    def join(self, speaker: FakeSpeaker, coordinator_uid: str) -> None:
        """`SetAVTransportURI x-rincon:<uid>`: into that coordinator's group."""
        with self.grouping:
            with self._lock:
                target = next((s for s in self.speakers if s.uid == coordinator_uid), None)
            if target is None or not target.is_coordinator or target is speaker:
                raise SoapFaultError(800, f"{coordinator_uid} leads no group to join")
            self._hand_over(speaker)
            self._follow(speaker, target)

    def leave(self, speaker: FakeSpeaker) -> None:
        """`BecomeCoordinatorOfStandaloneGroup`: alone, with nothing to play."""
        with self.grouping:
            if speaker.is_coordinator and len(self.members_of(speaker)) == 1:
                return
            self._hand_over(speaker)
            self._follow(speaker, speaker, TransportState())

    def _follow(
        self, speaker: FakeSpeaker, leader: FakeSpeaker, transport: TransportState | None = None
    ) -> None:
        speaker.coordinator = leader
        with speaker.lock:
            generation = speaker.transport.generation + 1
            fresh = transport or TransportState(uri=f"x-rincon:{leader.uid}")
            speaker.transport = replace(fresh, generation=generation)
            speaker.notify_locked()

    def _hand_over(self, leaving: FakeSpeaker) -> None:
        """A coordinator leaves: its next member carries on with the music and leads."""
        if not leaving.is_coordinator:
            return
        rest = [s for s in self.members_of(leaving) if s is not leaving]
        if not rest:
            return
        heir = rest[0]
        with leaving.lock:
            music = replace(leaving.transport)
            queue = list(leaving.queue)
            if music.state == "PLAYING" and not music.uri.startswith("http"):
                music.position += (time.monotonic() - music.since) / leaving.speed
        music.since = time.monotonic()
        if music.uri.startswith("x-rincon-queue:"):
            music.uri = f"x-rincon-queue:{heir.uid}#0"
        if music.uri.startswith("http"):
            music.state = "STOPPED"  # a clip is not carried over
        heir.coordinator = heir
        with heir.lock:
            heir.queue = queue
            heir.transport = replace(music, generation=heir.transport.generation + 1)
            heir.notify_locked()
        for member in rest[1:]:
            self._follow(member, heir)

    # ------------------------------------------------------------ documents
    def zone_group_state(self) -> str:
        with self._lock:
            speakers = list(self.speakers)
            bonded = {uid: list(found) for uid, found in self.bonded.items()}
        groups: dict[str, list[FakeSpeaker]] = {}
        for speaker in speakers:
            groups.setdefault(speaker.coordinator.uid, []).append(speaker)
        parts = ["<ZoneGroupState><ZoneGroups>"]
        for coordinator_uid, members in groups.items():
            parts.append(f'<ZoneGroup Coordinator="{coordinator_uid}" ID="{coordinator_uid}:1">')
            for member in members:
                parts.append(_member_xml(member, bonded.get(member.uid, [])))
            parts.append("</ZoneGroup>")
        parts.append("</ZoneGroups><VanishedDevices/></ZoneGroupState>")
        return "".join(parts)

    def groups_body(self, include_devices: bool) -> dict[str, Any]:
        """What `groups:1 getGroups` answers: the S2 speakers, grouped as over UPnP."""
        with self._lock:
            players = [s for s in self.speakers if s.s2 is not None]
        groups: dict[str, list[FakeSpeaker]] = {}
        for speaker in players:
            groups.setdefault(speaker.coordinator.uid, []).append(speaker)
        return {
            "_objectType": "groups",
            "partial": False,
            "groups": [
                {
                    "_objectType": "group",
                    "id": f"{coordinator_uid}:1",
                    "name": members[0].coordinator.name,
                    "coordinatorId": coordinator_uid,
                    "playbackState": "PLAYBACK_STATE_IDLE",
                    "playerIds": [member.uid for member in members],
                }
                for coordinator_uid, members in groups.items()
            ],
            "players": [s.s2.player_object(include_devices) for s in players if s.s2],
        }


_ATTRIBUTES = (
    'Icon="x-rincon-roomicon:living" Configuration="1" SoftwareVersion="79.1-00000" '
    'MinCompatibleVersion="78.0-00000" BootSeq="7"'
)


def _location(ip: str) -> str:
    return f'Location="http://{ip}:{SONOS_PORT}/xml/device_description.xml"'


def _member_xml(member: FakeSpeaker, bonded: list[Bonded]) -> str:
    """A visible member, then its bonded speakers: invisible members or satellites."""
    name = quoteattr(member.name)
    pairs = [b for b in bonded if not b.satellite]
    satellites = [b for b in bonded if b.satellite]
    channels = ";".join(
        [f"{member.uid}:LF,LF", *(f"{b.uid}:{b.channel},{b.channel}" for b in pairs)]
    )
    bond = f' ChannelMapSet="{channels}"' if pairs else ""
    if satellites:
        ht = ";".join([f"{member.uid}:LF,RF", *(f"{b.uid}:{b.channel}" for b in satellites)])
        bond += f' HTSatChanMapSet="{ht}"'
    head = f'<ZoneGroupMember UUID="{member.uid}" {_location(member.ip)} ZoneName={name}'
    children = "".join(
        f'<Satellite UUID="{b.uid}" {_location(b.ip)} ZoneName={name} Invisible="1"/>'
        for b in satellites
    )
    text = f"{head} {_ATTRIBUTES}{bond}>{children}</ZoneGroupMember>"
    for b in pairs:
        text += (
            f'<ZoneGroupMember UUID="{b.uid}" {_location(b.ip)} ZoneName={name} {_ATTRIBUTES}'
            f'{bond} Invisible="1"/>'
        )
    return text


# ---------------------------------------------- DeviceProperties / ZoneGroupTopology
# DeviceProperties / ZoneGroupTopology
def get_household_id(speaker: FakeSpeaker, _args: dict[str, str]) -> dict[str, str]:
    return {"CurrentHouseholdID": speaker.household.household_id}


def get_zone_attributes(speaker: FakeSpeaker, _args: dict[str, str]) -> dict[str, str]:
    return {"CurrentZoneName": speaker.name, "CurrentIcon": "", "CurrentConfiguration": "1"}


def get_zone_group_state(speaker: FakeSpeaker, _args: dict[str, str]) -> dict[str, str]:
    return {"ZoneGroupState": speaker.household.zone_group_state()}


def get_zone_group_attributes(speaker: FakeSpeaker, _args: dict[str, str]) -> dict[str, str]:
    coordinator = speaker.coordinator
    members = [s.uid for s in speaker.household.speakers if s.coordinator is coordinator]
    return {
        "CurrentZoneGroupName": coordinator.name,
        "CurrentZoneGroupID": f"{coordinator.uid}:1",
        "CurrentZonePlayerUUIDsInGroup": ",".join(members),
    }


# ------------------------------------------------- AVTransport grouping actions
def become_coordinator_of_standalone_group(
    speaker: FakeSpeaker, _args: dict[str, str]
) -> dict[str, str]:
    speaker.household.leave(speaker)
    return {}


DEVICE_PROPERTIES: dict[str, Action] = {
    "GetHouseholdID": get_household_id,
    "GetZoneAttributes": get_zone_attributes,
}

ZONE_GROUP_TOPOLOGY: dict[str, Action] = {
    "GetZoneGroupState": get_zone_group_state,
    "GetZoneGroupAttributes": get_zone_group_attributes,
}

AV_TRANSPORT_GROUPING: dict[str, Action] = {
    "BecomeCoordinatorOfStandaloneGroup": become_coordinator_of_standalone_group,
}
