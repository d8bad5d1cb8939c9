"""Whether a speaker can play audio clips, asked in the background at each speaker refresh.

One probe asks the speaker what it is, the documented way first: `local/info` over HTTPS
(household and player ids, model), then `getGroups` over its WebSocket (capabilities, and
the devices bonded into it with their channels). `clip_capability` turns the answers into
a `SpeakerCapability` and says whether clips are used there. Each probe step is bounded by
the bridge's timeout; the clip player runs probes on its own threads and never makes an
announcement wait for one longer than `ClipOptions.probe_wait`.

Threads: `probe_speaker` runs on the clip player's probe pool (one speaker per thread, with
that speaker's lock held), or on `doctor`'s thread.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sonos_bridge.playback.clip.capability import (
    LocalInfo,
    Reach,
    SpeakerCapability,
    capability_from,
    clip_refusal,
)
from sonos_bridge.playback.clip.connection import S2Connection
from sonos_bridge.playback.clip.errors import (
    ClipUnavailableError,
    S2KeyRefusedError,
    S2SilentError,
    S2UnreachableError,
)
from sonos_bridge.playback.clip.local_info import LocalInfoUnavailableError, fetch_local_info

logger = logging.getLogger(__name__)

PENDING = "its clip probe has not answered yet"


@dataclass(frozen=True, slots=True)
class ClipSupport:
    """The verdict on one speaker; `unavailable` says why clips are not used there."""

    ip: str
    player_id: str | None = None
    model: str | None = None
    unavailable: str | None = None
    capability: SpeakerCapability | None = None

    @property
    def supported(self) -> bool:
        return self.unavailable is None and self.player_id is not None

    @property
    def pending(self) -> bool:
        return self.capability is not None and self.capability.reach is Reach.PENDING


def verdict(capability: SpeakerCapability, deny_models: Iterable[str]) -> ClipSupport:
    refusal = clip_refusal(capability, deny_models)
    return ClipSupport(capability.ip, capability.player_id, capability.model, refusal, capability)


def pending(ip: str) -> ClipSupport:
    """The verdict while the first probe runs: take this announcement over."""
    return verdict(SpeakerCapability(ip, Reach.PENDING, problem=PENDING), ())


def unreachable(ip: str, error: ClipUnavailableError) -> SpeakerCapability:
    """What a failure before the WebSocket answered says about the speaker."""
    if isinstance(error, S2KeyRefusedError):
        reach = Reach.KEY_REFUSED
    elif isinstance(error, S2SilentError):
        reach = Reach.NO_ANSWER
    elif isinstance(error, S2UnreachableError):
        reach = Reach.NO_S2
    else:
        reach = Reach.S2
    return SpeakerCapability(ip, reach, problem=str(error))


def probe_speaker(
    ip: str, connection: S2Connection | None, timeout: float, port: int
) -> tuple[SpeakerCapability, S2Connection | None]:
    """Ask the speaker; returns what it is and the open connection (None if it failed).

    `connection` is the one kept from an earlier probe, reused while it is open.
    """
    try:
        info: LocalInfo | None = fetch_local_info(ip, timeout, port)
    except LocalInfoUnavailableError as exc:
        logger.debug("Speaker %s: %s; learning its ids over the WebSocket", ip, exc)
        info = None
    except ClipUnavailableError as exc:
        return unreachable(ip, exc), None
    try:
        if connection is None or connection.closed:
            household = info.household_id if info is not None else None
            connection = S2Connection.open(ip, timeout, port, household_id=household)
        household_id = info.household_id if info is not None else connection.household_id
        groups = connection.request(
            "groups:1",
            "getGroups",
            {"includeDeviceInfo": True},
            timeout=timeout,
            householdId=household_id,
        )
    except ClipUnavailableError as exc:
        if connection is not None:
            connection.close()
        return unreachable(ip, exc), None
    return capability_from(ip, groups, info, household_id), connection
