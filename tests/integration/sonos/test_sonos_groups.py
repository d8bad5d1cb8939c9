"""Groups come back exactly: the topology is read back after every announcement.

The fake speakers group like Sonos (`testkit.fakes.speaker.topology`): joining by
`x-rincon:<uid>`, `BecomeCoordinatorOfStandaloneGroup`, the next member carrying on when a
coordinator leaves, bonded speakers following their room.
"""

from __future__ import annotations

from testkit.fakes.harness import LONG_TEXT, playing_a_clip, radio_back, request, wait_result
from testkit.fakes.speaker import FakeSonosSystem
from testkit.support.probe import Probe
from tests.integration.sonos.conftest import BridgeFactory


def test_a_group_broken_during_a_takeover_is_put_back_and_named(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen, office = sonos.add("Kitchen"), sonos.add("Office")
    sonos.household.group(kitchen, office)
    kitchen.play_radio(volume=20)
    bridge_factory()
    request(listener, "sonos/tts/Kitchen", text=LONG_TEXT, id="broken")
    playing_a_clip(kitchen)
    sonos.household.leave(office)  # a glitch, or someone in the app mid-announcement
    result = wait_result(listener, "broken")
    assert result["status"] == "played", result
    assert result["warnings"] == [
        "regrouped after the announcement: Office is on its own, not grouped with Kitchen as before"
    ]
    assert sonos.household.grouping_of() == {"Kitchen": "Kitchen", "Office": "Kitchen"}
    radio_back(kitchen)


def test_an_undisturbed_takeover_reads_the_groups_back_and_says_nothing(
    sonos: FakeSonosSystem, bridge_factory: BridgeFactory, listener: Probe
) -> None:
    kitchen, office = sonos.add("Kitchen"), sonos.add("Office")
    sonos.household.group(kitchen, office)
    kitchen.play_radio(volume=20)
    bridge_factory()
    request(listener, "sonos/tts/Office", text="Hello", id="calm")
    result = wait_result(listener, "calm")
    assert result["status"] == "played" and "warnings" not in result, result
    assert len(kitchen.calls("GetZoneGroupState")) >= 2  # before and after
    assert sonos.household.grouping_of() == {"Kitchen": "Kitchen", "Office": "Kitchen"}
