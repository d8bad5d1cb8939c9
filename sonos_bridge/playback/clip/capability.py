"""What one speaker is and can do for audio clips, read from what real S2 firmware answers.

Two answers describe a speaker: `GET /api/v1/players/local/info` (its household id,
player id, model and capabilities: the documented source, which aiosonos reads too) and
`groups:1 getGroups` (every player of the household, with `zoneInfo` telling which
devices are bonded into it and which channels each plays). From them a
`SpeakerCapability` records what the bridge needs to choose a mode and what `doctor`
reports; `clip_refusal` says why clips are not used on it, if they are not.

Bonding is read from `zoneInfo.members[].channelMap`, not guessed from the number of
devices: a stereo pair has its left and right channels on two devices (a clip would play
on one side only), while a Sub (`SW`) or surrounds (`LR`, `RR`) next to a speaker that
plays both `LF` and `RF` leave the clip whole on that speaker.

Pure data and functions: no I/O, no threads; safe from any thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

AUDIO_CLIP = "AUDIO_CLIP"
HOME_THEATER = "HT_PLAYBACK"
LEFT, RIGHT, SUB = "LF", "RF", "SW"
SURROUNDS = frozenset({"LR", "RR"})


class ShapeError(ValueError):
    """An answer that is not shaped like a speaker's; str() names the missing part."""


class Reach(StrEnum):
    """How far the probe got on port 1443."""

    S2 = "S2"  # the S2 API answered
    NO_S2 = "no S2 API"  # nothing speaks it there: an S1 speaker, or a firewall
    KEY_REFUSED = "key refused"  # it is there but refused the API key
    NO_ANSWER = "no answer"  # it did not answer in time (the probe timed out)
    PENDING = "not probed yet"  # the first probe is still running


@dataclass(frozen=True, slots=True)
class LocalInfo:
    """The parts of `/api/v1/players/local/info` the bridge uses."""

    household_id: str
    player_id: str
    websocket_url: str | None
    model: str | None
    capabilities: frozenset[str]


@dataclass(frozen=True, slots=True)
class Bonding:
    """Which channels the devices of one player play, from `zoneInfo.members`."""

    devices: int = 1
    stereo_pair: bool = False
    sub: bool = False
    surrounds: bool = False
    from_channel_map: bool = True  # False: zoneInfo was missing and this is a guess

    @property
    def splits_a_clip(self) -> bool:
        """A clip plays on the player's primary device only: a problem for a pair only."""
        return self.stereo_pair

    def describe(self) -> str:
        if self.devices <= 1:
            return "not bonded"
        parts = ["stereo pair"] if self.stereo_pair else []
        parts += ["Sub"] if self.sub else []
        parts += ["surrounds"] if self.surrounds else []
        text = " + ".join(parts) if self.stereo_pair else "with " + " and ".join(parts or ["?"])
        return text if self.from_channel_map else f"{text} (guessed: no zoneInfo)"


@dataclass(frozen=True, slots=True)
class SpeakerCapability:
    """Everything the probe learned about one speaker (by address)."""

    ip: str
    reach: Reach
    problem: str | None = None  # why the probe stopped short, as "<speaker>: ..." reads
    household_id: str | None = None
    player_id: str | None = None
    model: str | None = None
    capabilities: frozenset[str] = frozenset()
    bonding: Bonding | None = None
    ids_from: str | None = None  # "local/info" or "websocket" (the empty-command fallback)
    bonded_into_another: bool = False  # not a player of its own (the other half of a pair)

    @property
    def key_ok(self) -> bool | None:
        if self.reach == Reach.S2:
            return True
        return False if self.reach == Reach.KEY_REFUSED else None


# ------------------------------------------------------------------- local/info
def parse_local_info(document: Any) -> LocalInfo:
    """The ids and model of a `discoveryInfo` answer; ShapeError when it is not one."""
    if not isinstance(document, Mapping):
        raise ShapeError("the local info answer is not a JSON object")
    household, player = document.get("householdId"), document.get("playerId")
    if not household or not player:
        raise ShapeError("the local info answer has no householdId or playerId")
    device = document.get("device")
    device = device if isinstance(device, Mapping) else {}
    model = device.get("modelDisplayName")
    websocket = document.get("websocketUrl")
    return LocalInfo(
        household_id=str(household),
        player_id=str(player),
        websocket_url=str(websocket) if websocket else None,
        model=str(model) if model else None,
        capabilities=_strings(device.get("capabilities")),
    )


# --------------------------------------------------------------------- getGroups
def find_player(groups: Mapping[str, Any], ip: str, player_id: str | None) -> dict[str, Any] | None:
    """The player with this id, else the one whose websocketUrl names this address."""
    players = [p for p in groups.get("players") or [] if isinstance(p, dict)]
    if player_id is not None:
        match = next((p for p in players if p.get("id") == player_id), None)
        if match is not None:
            return match
    return next((p for p in players if _host(p.get("websocketUrl")) == ip), None)


def bonding_of(player: Mapping[str, Any]) -> Bonding:
    """The player's bonded set from zoneInfo's channel maps (or a guess without them)."""
    zone = player.get("zoneInfo")
    members = zone.get("members") if isinstance(zone, Mapping) else None
    if not isinstance(members, list) or not members:
        return _guessed_bonding(player)
    maps = [_strings(member.get("channelMap")) for member in members if isinstance(member, Mapping)]
    full_range = any(LEFT in channels and RIGHT in channels for channels in maps)
    left_alone = any(LEFT in channels and RIGHT not in channels for channels in maps)
    right_alone = any(RIGHT in channels and LEFT not in channels for channels in maps)
    every = frozenset().union(*maps)
    return Bonding(
        devices=len(maps),
        stereo_pair=left_alone and right_alone and not full_range,
        sub=SUB in every,
        surrounds=bool(every & SURROUNDS),
    )


def _guessed_bonding(player: Mapping[str, Any]) -> Bonding:
    """Without zoneInfo: several devices and no home-theatre playback is taken as a pair."""
    devices = len(player.get("deviceIds") or []) or 1
    home_theatre = HOME_THEATER in _strings(player.get("capabilities"))
    if devices <= 1:
        return Bonding()
    return Bonding(
        devices=devices,
        stereo_pair=not home_theatre,
        sub=home_theatre,
        from_channel_map=False,
    )


def model_of(player: Mapping[str, Any]) -> str | None:
    """The primary device's modelDisplayName (bonded non-primary devices may be bare)."""
    devices = [d for d in player.get("devices") or [] if isinstance(d, Mapping)]
    primary_first = sorted(devices, key=lambda device: device.get("id") != player.get("id"))
    name = next((d["modelDisplayName"] for d in primary_first if d.get("modelDisplayName")), None)
    return str(name) if name else None


def capability_from(
    ip: str,
    groups: Mapping[str, Any],
    info: LocalInfo | None,
    household_id: str,
) -> SpeakerCapability:
    """What getGroups (and local/info, when it answered) say about the speaker at `ip`."""
    player = find_player(groups, ip, info.player_id if info else None)
    base = SpeakerCapability(
        ip,
        Reach.S2,
        household_id=household_id,
        player_id=info.player_id if info else None,
        model=info.model if info else None,
        capabilities=info.capabilities if info else frozenset(),
        ids_from="local/info" if info else "websocket",
    )
    if player is None:
        return replace(base, bonded_into_another=True)
    return replace(
        base,
        player_id=str(player.get("id") or base.player_id or "") or None,
        model=base.model or model_of(player),
        capabilities=_strings(player.get("capabilities")) or base.capabilities,
        bonding=bonding_of(player),
    )


# ------------------------------------------------------------------------ verdict
def model_denied(model: str | None, deny_models: Iterable[str]) -> bool:
    """Whether `model` is on the deny list: "Sonos Play:1" (UPnP) matches "Play:1" (S2)."""
    if model is None:
        return False
    return _short_model(model) in {_short_model(name) for name in deny_models if name.strip()}


def clip_refusal(capability: SpeakerCapability, deny_models: Iterable[str]) -> str | None:
    """Why clips are not used on this speaker; None when they are."""
    if capability.problem is not None or capability.reach != Reach.S2:
        return capability.problem or capability.reach.value
    if capability.bonded_into_another:
        return "bonded into another player (its other half plays)"
    if AUDIO_CLIP not in capability.capabilities:
        return "no AUDIO_CLIP capability"
    if model_denied(capability.model, deny_models):
        return f"model {capability.model} is on the clip deny list (SONOS_CLIP_DENY_MODELS)"
    if capability.bonding is not None and capability.bonding.splits_a_clip:
        return "a stereo pair plays a clip on one side only"
    if capability.player_id is None:
        return "the speaker did not say its player id"
    return None


def describe(capability: SpeakerCapability, refusal: str | None) -> str:
    """One line for `doctor` and the logs: the mode and every fact that chose it."""
    mode = "takeover" if refusal else "clip"
    facts = [
        f"model {capability.model or 'unknown'}",
        capability.reach.value if capability.reach != Reach.NO_S2 else "S1 or port 1443 closed",
        {True: "key ok", False: "key refused", None: "key not tried"}[capability.key_ok],
        capability.bonding.describe() if capability.bonding else "bonding unknown",
    ]
    if capability.ids_from is not None:
        facts.append(f"ids from {capability.ids_from}")
    line = f"{mode} ({', '.join(facts)})"
    return f"{line}: {refusal}" if refusal else line


def _strings(value: Any) -> frozenset[str]:
    if not isinstance(value, list):
        return frozenset()
    return frozenset(str(item) for item in value if isinstance(item, str))


def _host(url: Any) -> str | None:
    return urlsplit(str(url or "")).hostname


def _short_model(model: str) -> str:
    return model.strip().casefold().removeprefix("sonos ").strip()
