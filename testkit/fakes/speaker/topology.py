"""Topology: households, groups and what a speaker says about them.

`FakeHousehold` holds the speakers that share a household ID; a speaker's `coordinator`
says which group it is in. The zone group state (UPnP `GetZoneGroupState`), the S2
`getGroups` body and the grouping actions (`BecomeCoordinatorOfStandaloneGroup`) are all
built here, so grouping (x-rincon, bonded members) changes in one module.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import quoteattr

from testkit.fakes.speaker.state import SONOS_PORT, Action, TransportState

if TYPE_CHECKING:
    from testkit.fakes.speaker.device import FakeSpeaker


class FakeHousehold:
    """Speakers that share a household ID and a zone group topology."""

    def __init__(self, household_id: str = "Sonos_FakeHousehold0001") -> None:
        self.household_id = household_id
        self.speakers: list[FakeSpeaker] = []
        self._lock = threading.Lock()

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
            member.coordinator = coordinator
            with member.lock:
                member.transport = TransportState(uri=f"x-rincon:{coordinator.uid}")

    def zone_group_state(self) -> str:
        with self._lock:
            speakers = list(self.speakers)
        groups: dict[str, list[FakeSpeaker]] = {}
        for speaker in speakers:
            groups.setdefault(speaker.coordinator.uid, []).append(speaker)
        parts = ["<ZoneGroupState><ZoneGroups>"]
        for coordinator_uid, members in groups.items():
            parts.append(f'<ZoneGroup Coordinator="{coordinator_uid}" ID="{coordinator_uid}:1">')
            for member in members:
                parts.append(
                    f'<ZoneGroupMember UUID="{member.uid}" '
                    f'Location="http://{member.ip}:{SONOS_PORT}/xml/device_description.xml" '
                    f"ZoneName={quoteattr(member.name)} "
                    'Icon="x-rincon-roomicon:living" Configuration="1" '
                    'SoftwareVersion="79.1-00000" MinCompatibleVersion="78.0-00000" '
                    'BootSeq="7"/>'
                )
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
    speaker.coordinator = speaker
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
