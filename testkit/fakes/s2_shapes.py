"""The shapes real S2 speakers (firmware 96.1) answer in, as builders of plain dicts.

Written from the facts in shared/DESIGN.md ("Facts from real speakers"), which were taken
from captured traffic: the `getGroups` body (players with `zoneInfo`, `deviceIds`,
`devices`; a bonded non-primary device as a bare `deviceInfo`), the
`/api/v1/players/local/info` answer, typed answers (`"type"`), `globalError` bodies with
real codes, and a refused `loadAudioClip` without `householdId`. The fake S2 endpoint
(`testkit.fakes.s2`) answers with these, and the bridge's parsers are tested against them,
so both sides agree with the captures rather than with each other.

Pure functions: no state, no threads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SOFTWARE_VERSION = "96.1-63020"  # the firmware the captures came from
API_VERSION = "1.46.0"
CAPABILITIES = ("PLAYBACK", "CLOUD", "AIRPLAY", "AUDIO_CLIP", "VOICE")
HOME_THEATRE_CAPABILITIES = (*CAPABILITIES, "HT_PLAYBACK", "HT_POWER_STATE")

# Channels as `zoneInfo.members[].channelMap` names them.
FULL_RANGE = ("LF", "RF")
LEFT, RIGHT = ("LF",), ("RF",)
SUB = ("SW",)
SURROUND_LEFT, SURROUND_RIGHT = ("LR",), ("RR",)

# Error codes seen from real speakers.
UNSUPPORTED_NAMESPACE = "ERROR_UNSUPPORTED_NAMESPACE"
UNSUPPORTED_COMMAND = "ERROR_UNSUPPORTED_COMMAND"
INVALID_OBJECT_ID = "ERROR_INVALID_OBJECT_ID"
NOT_AUTHORIZED = "ERROR_NOT_AUTHORIZED"
API_KEY_VALIDATION_FAILED = "ERROR_API_KEY_VALIDATION_FAILED"


@dataclass(frozen=True, slots=True)
class Device:
    """One physical device of a player: its id, model and the channels it plays."""

    id: str
    model: str = "One"
    channels: tuple[str, ...] = FULL_RANGE
    capabilities: tuple[str, ...] = CAPABILITIES
    bare: bool = False  # listed in `devices` only as {"_objectType", "id", ...}


@dataclass(frozen=True, slots=True)
class Player:
    """A player as getGroups lists it: the primary device first, bonded ones after."""

    id: str
    name: str
    websocket_url: str
    devices: tuple[Device, ...] = ()
    capabilities: tuple[str, ...] = CAPABILITIES
    software_version: str = SOFTWARE_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def primary(self) -> Device:
        return self.devices[0] if self.devices else Device(self.id)


def device_info(device: Device) -> dict[str, Any]:
    """A `devices[]` entry: full for a primary device, bare for a bonded non-primary one."""
    if device.bare:
        return {"_objectType": "deviceInfo", "id": device.id, "quarantineReasons": []}
    return {
        "_objectType": "deviceInfo",
        "id": device.id,
        "primaryDeviceId": device.id,
        "serialNumber": f"00-0E-58-{device.id[-8:-4]}:{device.id[-4:]}",
        "model": device.model.upper().replace(":", "").replace(" ", ""),
        "modelDisplayName": device.model,
        "color": "Black",
        "capabilities": list(device.capabilities),
        "apiVersion": API_VERSION,
        "minApiVersion": "1.1.0",
        "name": device.model,
        "websocketUrl": "",
        "softwareVersion": SOFTWARE_VERSION,
        "hwVersion": "1.27.1.6-1.2",
        "swGen": 2,
    }


def player_object(player: Player) -> dict[str, Any]:
    """A `players[]` entry of getGroups with zoneInfo, deviceIds and devices."""
    devices = player.devices or (Device(player.id),)
    return {
        "_objectType": "player",
        "id": player.id,
        "name": player.name,
        "websocketUrl": player.websocket_url,
        "softwareVersion": player.software_version,
        "apiVersion": API_VERSION,
        "minApiVersion": "1.1.0",
        "isUnregistered": False,
        "capabilities": list(player.capabilities),
        "zoneInfo": {
            "_objectType": "activeZone",
            "name": player.name,
            "members": [
                {
                    "_objectType": "activeZoneMember",
                    "id": device.id,
                    "channelMap": list(device.channels),
                    "state": {"disconnected": False},
                }
                for device in devices
            ],
        },
        "deviceIds": [device.id for device in devices],
        "devices": [device_info(device) for device in devices],
        **player.extra,
    }


def group_object(
    group_id: str, name: str, coordinator_id: str, player_ids: list[str]
) -> dict[str, Any]:
    return {
        "_objectType": "group",
        "id": group_id,
        "name": name,
        "coordinatorId": coordinator_id,
        "playbackState": "PLAYBACK_STATE_IDLE",
        "playerIds": player_ids,
    }


def groups_body(players: list[Player], groups: list[dict[str, Any]]) -> dict[str, Any]:
    """The body of a `groups:1 getGroups` answer (`type: "groups"`)."""
    return {
        "_objectType": "groups",
        "groups": groups,
        "partial": False,
        "players": [player_object(player) for player in players],
    }


def local_info(player: Player, household_id: str, rest_url: str) -> dict[str, Any]:
    """GET /api/v1/players/local/info with the key: the speaker's own ids and model."""
    return {
        "_objectType": "discoveryInfo",
        "device": device_info(player.primary),
        "householdId": household_id,
        "locationId": f"lc_{household_id[-8:]}",
        "playerId": player.id,
        "groupId": f"{player.id}:1",
        "websocketUrl": player.websocket_url,
        "restUrl": rest_url,
    }


def global_error(code: str, reason: str | None = None) -> dict[str, Any]:
    body = {"_objectType": "globalError", "errorCode": code}
    if reason is not None:
        body["reason"] = reason
    return body


def answer_header(
    request: dict[str, Any], *, success: bool, body_type: str, household_id: str | None
) -> dict[str, Any]:
    """An answer's header: `type` names the body, path ids and cmdId come back as sent.

    `householdId` is echoed only when the request carried it, or (`household_id`) where a
    firmware adds its own; the refused loadAudioClip captured in the wild has none.
    """
    header: dict[str, Any] = {
        "namespace": request.get("namespace", ""),
        "response": request.get("command", ""),
        "success": success,
        "type": body_type,
    }
    for key in ("householdId", "groupId", "playerId", "sessionId", "cmdId"):
        if key in request:
            header[key] = request[key]
    if household_id is not None and "householdId" not in header:
        header["householdId"] = household_id
    return header
