"""Reading and changing the household's groups over UPnP, and checking them afterwards.

`topology` plans; this module carries a plan out: first every leave at once
(`BecomeCoordinatorOfStandaloneGroup`), then every join at once (`SetAVTransportURI
x-rincon:<coordinator uid>`, what SoCo's `join` sends). A speaker that refuses or does
not answer does not stop the others: its failure is returned by UID, in words.

After every takeover the bridge reads the topology back (`check`): which speakers are
grouped and who leads each group must equal what they were before. A difference is
repaired once and named in the result's warnings, with what could not be repaired.

Threads: everything runs on the coordinator worker thread that plays the announcement;
the calls themselves run on the executor it passes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial

from sonos_bridge.errors import SpeakerError
from sonos_bridge.playback.takeover.topology import (
    Plan,
    Topology,
    describe,
    differences,
    parse_zone_group_state,
    plan,
    restricted,
)
from sonos_bridge.playback.takeover.upnp import Player

logger = logging.getLogger(__name__)


def read_topology(player: Player) -> Topology:
    """The household's groups as `player` sees them (any speaker knows all of them)."""
    return parse_zone_group_state(player.zone_group_state())


def join(player: Player, coordinator_uid: str) -> None:
    player.av(
        "SetAVTransportURI",
        ("CurrentURI", f"x-rincon:{coordinator_uid}"),
        ("CurrentURIMetaData", ""),
    )


def leave(player: Player) -> None:
    player.av("BecomeCoordinatorOfStandaloneGroup")


def settle(executor: Executor, calls: list[Callable[[], object]]) -> list[Exception | None]:
    """Run the calls at once; each one's error (or None), after all of them ended."""
    futures = [executor.submit(call) for call in calls]
    errors: list[Exception | None] = []
    for future in futures:
        try:
            future.result()
            errors.append(None)
        except Exception as exc:  # reported per speaker by the caller
            errors.append(exc)
    return errors


def players_for(topology: Topology, timeout: float) -> dict[str, Player]:
    """How to reach every speaker of the topology now, by UID."""
    return {
        m.uid: Player(m.name, m.ip, timeout, m.uid)
        for g in topology.groups
        for m in g.members
        if m.ip
    }


def carry_out(steps: Plan, players: Mapping[str, Player], executor: Executor) -> dict[str, str]:
    """Leaves, then joins, each round at once; what failed, by UID, in words."""
    failed: dict[str, str] = {}
    rounds: list[list[tuple[str, Callable[[], object]]]] = [
        [(uid, partial(leave, players[uid])) for uid in steps.leaves if uid in players],
        [
            (j.uid, partial(join, players[j.uid], j.coordinator))
            for j in steps.joins
            if j.uid in players
        ],
    ]
    for calls in rounds:
        errors = settle(executor, [call for _uid, call in calls])
        for (uid, _call), error in zip(calls, errors, strict=True):
            if error is not None:
                failed[uid] = str(error) if isinstance(error, SpeakerError) else repr(error)
    for uid in (*steps.leaves, *(j.uid for j in steps.joins)):
        if uid not in players:
            failed[uid] = f"{uid} has no known address"
    return failed


@dataclass(frozen=True, slots=True)
class Check:
    """The groups read back after an announcement, and what the user should hear of it."""

    topology: Topology | None
    warnings: list[str]


def check(
    expected: Topology,
    scope: list[str],
    reader: Player,
    players: Mapping[str, Player],
    executor: Executor,
) -> Check:
    """Read the groups back; repair a difference once; name what differed."""
    wanted = restricted(expected.coordinators, scope)
    names = expected.names
    try:
        actual = read_topology(reader)
        found = differences(wanted, actual.coordinators, scope)
        if not found:
            return Check(actual, [])
        for difference in found:
            logger.warning("After the announcement %s; regrouping", describe(difference, names))
        carry_out(plan(actual.coordinators, wanted), players, executor)
        actual = read_topology(reader)
    except SpeakerError as exc:
        return Check(None, [f"could not read the groups back from {reader.name}: {exc}"])
    left = differences(wanted, actual.coordinators, scope)
    unrepaired = {d.uid for d in left}
    warnings = [
        f"regrouped after the announcement: {describe(d, names)}"
        for d in found
        if d.uid not in unrepaired
    ]
    warnings += [f"could not re-form the groups: {describe(d, names)}" for d in left]
    return Check(actual, warnings)
