"""A speaker's clip capability from answers shaped like captured S2 traffic (firmware 96.1)."""

from __future__ import annotations

from typing import Any

import pytest

from sonos_bridge.playback.clip.capability import (
    Bonding,
    LocalInfo,
    Reach,
    ShapeError,
    SpeakerCapability,
    bonding_of,
    capability_from,
    clip_refusal,
    describe,
    model_denied,
    parse_local_info,
)
from testkit.fakes.s2_shapes import (
    FULL_RANGE,
    HOME_THEATRE_CAPABILITIES,
    LEFT,
    RIGHT,
    SUB,
    SURROUND_LEFT,
    SURROUND_RIGHT,
    Device,
    Player,
    group_object,
    groups_body,
    local_info,
    player_object,
)

HOUSEHOLD = "Sonos_Ab12Cd34Ef56Gh78Ij90.Kl12Mn34Op56Qr"
IP = "192.168.1.20"
URL = f"wss://{IP}:1443/websocket/api"
DENY = ("Play:1", "Play:3")


def player(*devices: Device, capabilities: tuple[str, ...] | None = None) -> Player:
    devices = devices or (Device("RINCON_A01400"),)
    extra = {} if capabilities is None else {"capabilities": capabilities}
    return Player(devices[0].id, "Living Room", URL, devices, **extra)  # type: ignore[arg-type]


def groups_of(*players: Player) -> dict[str, Any]:
    group = group_object("RINCON_A01400:1", "Living Room", players[0].id, [p.id for p in players])
    return groups_body(list(players), [group])


def info_of(subject: Player) -> LocalInfo:
    return parse_local_info(local_info(subject, HOUSEHOLD, f"https://{IP}:1443/api"))


# ----------------------------------------------------------------- local/info
def test_local_info_gives_the_ids_and_the_model() -> None:
    subject = player(Device("RINCON_A01400", model="One SL"))
    info = info_of(subject)
    assert (info.household_id, info.player_id, info.model) == (
        HOUSEHOLD,
        "RINCON_A01400",
        "One SL",
    )
    assert info.websocket_url == URL and "AUDIO_CLIP" in info.capabilities


@pytest.mark.parametrize(
    "document",
    [[], "text", {"_objectType": "globalError"}, {"householdId": HOUSEHOLD}],
    ids=["list", "string", "error", "no-player"],
)
def test_anything_but_a_discovery_info_is_a_shape_error(document: object) -> None:
    with pytest.raises(ShapeError):
        parse_local_info(document)


# -------------------------------------------------------------------- bonding
@pytest.mark.parametrize(
    ("devices", "expected", "words"),
    [
        ((Device("A"),), Bonding(), "not bonded"),
        (
            (Device("A", channels=LEFT), Device("B", channels=RIGHT, bare=True)),
            Bonding(devices=2, stereo_pair=True),
            "stereo pair",
        ),
        (
            (Device("A", channels=("LF", "LF")), Device("B", channels=("RF", "RF"), bare=True)),
            Bonding(devices=2, stereo_pair=True),
            "stereo pair",
        ),
        (
            (
                Device("A", channels=LEFT),
                Device("B", channels=RIGHT, bare=True),
                Device("C", model="Sub", channels=SUB, bare=True),
            ),
            Bonding(devices=3, stereo_pair=True, sub=True),
            "stereo pair + Sub",
        ),
        (
            (Device("A", model="One"), Device("C", model="Sub", channels=SUB, bare=True)),
            Bonding(devices=2, sub=True),
            "with Sub",
        ),
        (
            (Device("A", model="Amp"), Device("R", channels=SURROUND_RIGHT, bare=True)),
            Bonding(devices=2, surrounds=True),
            "with surrounds",
        ),
        (
            (
                Device("A", model="Arc", channels=FULL_RANGE),
                Device("L", channels=SURROUND_LEFT, bare=True),
                Device("R", channels=SURROUND_RIGHT, bare=True),
                Device("S", channels=SUB, bare=True),
            ),
            Bonding(devices=4, sub=True, surrounds=True),
            "with Sub and surrounds",
        ),
    ],
    ids=["single", "pair", "pair-ucs", "pair-sub", "sub", "amp-surround", "ht-full"],
)
def test_bonded_sets_come_from_the_channel_maps(
    devices: tuple[Device, ...], expected: Bonding, words: str
) -> None:
    bonding = bonding_of(player_object(player(*devices)))
    assert bonding == expected
    assert bonding.describe() == words
    assert bonding.splits_a_clip == expected.stereo_pair


def test_without_zone_info_the_old_guess_is_used_and_said_to_be_one() -> None:
    body = player_object(player(Device("A"), Device("B", bare=True)))
    del body["zoneInfo"]
    assert bonding_of(body) == Bonding(devices=2, stereo_pair=True, from_channel_map=False)
    assert bonding_of(body).describe() == "stereo pair (guessed: no zoneInfo)"
    body["capabilities"] = list(HOME_THEATRE_CAPABILITIES)
    assert not bonding_of(body).stereo_pair


# ------------------------------------------------------------------ capability
def test_local_info_and_get_groups_make_one_record() -> None:
    subject = player(Device("RINCON_A01400", model="Amp"), Device("R", channels=SURROUND_RIGHT))
    capability = capability_from(IP, groups_of(subject), info_of(subject), HOUSEHOLD)
    assert capability == SpeakerCapability(
        IP,
        Reach.S2,
        household_id=HOUSEHOLD,
        player_id="RINCON_A01400",
        model="Amp",
        capabilities=frozenset(subject.capabilities),
        bonding=Bonding(devices=2, surrounds=True),
        ids_from="local/info",
    )
    assert capability.key_ok is True
    assert clip_refusal(capability, DENY) is None


def test_without_local_info_the_player_is_found_by_address_and_the_model_by_device() -> None:
    subject = player(Device("RINCON_A01400", model="Move"))
    capability = capability_from(IP, groups_of(subject), None, HOUSEHOLD)
    assert (capability.player_id, capability.model, capability.ids_from) == (
        "RINCON_A01400",
        "Move",
        "websocket",
    )


def test_a_model_name_only_on_a_later_device_entry_is_still_found() -> None:
    subject = player(Device("RINCON_A01400", bare=True), Device("B", model="Play:3"))
    capability = capability_from(IP, groups_of(subject), None, HOUSEHOLD)
    assert capability.model == "Play:3"


def test_an_address_that_is_no_player_is_bonded_into_another() -> None:
    other = Player("RINCON_B01400", "Kitchen", "wss://192.168.1.99:1443/websocket/api")
    capability = capability_from(IP, groups_of(other), None, HOUSEHOLD)
    assert capability.bonded_into_another
    assert clip_refusal(capability, DENY) == "bonded into another player (its other half plays)"


# --------------------------------------------------------------------- verdict
def s2(**changes: Any) -> SpeakerCapability:
    base: dict[str, Any] = {
        "household_id": HOUSEHOLD,
        "player_id": "RINCON_A01400",
        "model": "One",
        "capabilities": frozenset({"PLAYBACK", "AUDIO_CLIP"}),
        "bonding": Bonding(),
    }
    return SpeakerCapability(IP, Reach.S2, **{**base, **changes})


@pytest.mark.parametrize(
    ("capability", "refusal"),
    [
        (s2(), None),
        (s2(bonding=Bonding(devices=2, sub=True)), None),
        (s2(bonding=Bonding(devices=3, surrounds=True)), None),
        (s2(model="Play:1"), "model Play:1 is on the clip deny list (SONOS_CLIP_DENY_MODELS)"),
        (s2(model="Play:3"), "model Play:3 is on the clip deny list (SONOS_CLIP_DENY_MODELS)"),
        (s2(capabilities=frozenset({"PLAYBACK"})), "no AUDIO_CLIP capability"),
        (
            s2(bonding=Bonding(devices=2, stereo_pair=True)),
            "a stereo pair plays a clip on one side only",
        ),
        (s2(player_id=None), "the speaker did not say its player id"),
        (
            SpeakerCapability(IP, Reach.NO_S2, problem="port 1443 is not reachable"),
            "port 1443 is not reachable",
        ),
        (SpeakerCapability(IP, Reach.PENDING), "not probed yet"),
    ],
    ids=[
        "one",
        "with-sub",
        "with-surrounds",
        "play1",
        "play3",
        "no-capability",
        "pair",
        "no-id",
        "s1",
        "pending",
    ],
)
def test_clips_are_refused_for_the_first_reason_that_applies(
    capability: SpeakerCapability, refusal: str | None
) -> None:
    assert clip_refusal(capability, DENY) == refusal


@pytest.mark.parametrize(
    ("model", "deny", "denied"),
    [
        ("Play:1", ["Sonos Play:1"], True),
        ("Play:3", [" play:3 "], True),
        ("Play:1", ["Play:3"], False),
        ("One", DENY, False),
        (None, DENY, False),
        ("Play:1", [" ", ""], False),
    ],
)
def test_the_deny_list_matches_the_model_display_name_loosely(
    model: str | None, deny: list[str], denied: bool
) -> None:
    assert model_denied(model, deny) is denied


def test_doctor_says_the_mode_and_why_on_one_line() -> None:
    pair = s2(model="One", bonding=Bonding(devices=2, stereo_pair=True), ids_from="local/info")
    assert describe(pair, clip_refusal(pair, DENY)) == (
        "takeover (model One, S2, key ok, stereo pair, ids from local/info): "
        "a stereo pair plays a clip on one side only"
    )
    sub = s2(model="Amp", bonding=Bonding(devices=2, sub=True), ids_from="local/info")
    assert describe(sub, None) == "clip (model Amp, S2, key ok, with Sub, ids from local/info)"
    s1 = SpeakerCapability(IP, Reach.NO_S2, problem="port 1443 is not reachable (refused)")
    assert describe(s1, clip_refusal(s1, DENY)) == (
        "takeover (model unknown, S1 or port 1443 closed, key not tried, bonding unknown): "
        "port 1443 is not reachable (refused)"
    )
    refused = SpeakerCapability(IP, Reach.KEY_REFUSED, problem="port 1443 refused the API key")
    assert "key refused" in describe(refused, clip_refusal(refused, DENY))
