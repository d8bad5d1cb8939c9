"""Whether a speaker can play audio clips, decided once per speaker-list refresh.

A speaker's own `getGroups` answer lists every player with its capabilities and the
devices bonded into it. Clips are used only where they leave the music alone: the
player has AUDIO_CLIP, its model is not denied (a Play:1 pauses its whole group for
~3 s per clip), and it is not a stereo pair (a clip plays on one side only). A home
theatre set (soundbar with sub or surrounds) plays clips on the soundbar and is fine.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sonos_bridge.playback.clip.connection import S2Connection

AUDIO_CLIP = "AUDIO_CLIP"
HOME_THEATER = "HT_PLAYBACK"


@dataclass(frozen=True, slots=True)
class ClipSupport:
    """What the probe learned about one speaker; `unavailable` says why clips cannot play."""

    ip: str
    player_id: str | None = None
    model: str | None = None
    unavailable: str | None = None

    @property
    def supported(self) -> bool:
        return self.unavailable is None and self.player_id is not None


def probe(connection: S2Connection, timeout: float, deny_models: Iterable[str]) -> ClipSupport:
    """Ask the speaker for its household's players and judge the one it is."""
    groups = connection.request(
        "groups:1",
        "getGroups",
        {"includeDeviceInfo": True},
        timeout=timeout,
        householdId=connection.household_id,
    )
    return assess(groups, connection.ip, deny_models)


def assess(groups: dict[str, Any], ip: str, deny_models: Iterable[str]) -> ClipSupport:
    player = _player_at(groups, ip)
    if player is None:
        return ClipSupport(ip, unavailable="bonded into another player (its other half plays)")
    player_id = str(player.get("id", ""))
    model = _model(player)
    capabilities = set(player.get("capabilities") or [])
    devices = player.get("deviceIds") or [player_id]
    denied = {_short_model(name) for name in deny_models if name.strip()}
    reason = None
    if AUDIO_CLIP not in capabilities:
        reason = "no AUDIO_CLIP capability"
    elif model is not None and _short_model(model) in denied:
        reason = f"model {model} is on the clip deny list (SONOS_CLIP_DENY_MODELS)"
    elif len(devices) > 1 and HOME_THEATER not in capabilities:
        reason = "a stereo pair plays a clip on one side only"
    return ClipSupport(ip, player_id or None, model, reason)


def _player_at(groups: dict[str, Any], ip: str) -> dict[str, Any] | None:
    for player in groups.get("players") or []:
        if (
            isinstance(player, dict)
            and urlsplit(str(player.get("websocketUrl", ""))).hostname == ip
        ):
            return player
    return None


def _model(player: dict[str, Any]) -> str | None:
    devices = [d for d in player.get("devices") or [] if isinstance(d, dict)]
    primary = next((d for d in devices if d.get("id") == player.get("id")), None)
    primary = primary or (devices[0] if devices else None)
    name = primary.get("modelDisplayName") if primary else None
    return str(name) if name else None


def _short_model(model: str) -> str:
    """ "Sonos Play:1" (UPnP's spelling) and "Play:1" are the same model."""
    name = model.strip().casefold()
    return name.removeprefix("sonos ").strip()
