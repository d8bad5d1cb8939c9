"""What an in-step announcement changes, saved before it changes anything.

A whole-house announcement joins rooms from several groups into one temporary group. A
bridge killed while they are joined (SIGKILL, OOM, power cut) must at its next start
re-form every group with its own coordinator and put back each group's music, exactly as
it does for a single group today. So before the first join the bridge saves one record:
the topology as it was (who was grouped with whom and who led, by UID), the rooms it
affects, the temporary coordinator, and each original group's snapshot (source, position,
play state, every member's volume and mute).

A record is a plain value that survives a round trip through JSON; `InStepStore` keeps
it in `STATE_DIR/instep`, next to the single-group snapshots.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sonos_bridge.playback.takeover.snapshot import GroupSnapshot
from sonos_bridge.playback.takeover.snapshot_store import RecordStore
from sonos_bridge.playback.takeover.topology import Topology, restricted

logger = logging.getLogger(__name__)

KIND = "in-step"


@dataclass(frozen=True, slots=True)
class InStepRecord:
    """The household before an in-step announcement, and what it is about to change."""

    leader: str  # the temporary group's coordinator
    scope: tuple[str, ...]  # every visible speaker of the groups joined, by UID
    topology: Topology  # the whole household as it was
    snapshots: tuple[GroupSnapshot, ...]  # one per original group

    @property
    def key(self) -> str:
        """Its name in the store: one in-step announcement per temporary coordinator."""
        return f"instep-{self.leader}"

    @property
    def grouping(self) -> dict[str, str]:
        """The groups to re-form: each affected speaker's original coordinator."""
        return restricted(self.topology.coordinators, self.scope)

    @property
    def names(self) -> dict[str, str]:
        return self.topology.names

    def to_json(self) -> str:
        document = {
            "kind": KIND,
            "leader": self.leader,
            "scope": list(self.scope),
            "topology": self.topology.to_json(),
            "snapshots": [json.loads(s.to_json()) for s in self.snapshots],
        }
        return json.dumps(document, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> InStepRecord:
        """Raises ValueError, TypeError or KeyError for anything but a record's JSON."""
        document: dict[str, Any] = json.loads(text)
        if not isinstance(document, dict) or document.get("kind") != KIND:
            raise ValueError("not an in-step record")
        return cls(
            leader=str(document["leader"]),
            scope=tuple(str(uid) for uid in document["scope"]),
            topology=Topology.from_json(document["topology"]),
            snapshots=tuple(GroupSnapshot.from_json(json.dumps(s)) for s in document["snapshots"]),
        )


def _key_of(record: InStepRecord) -> str:
    return record.key


class InStepStore(RecordStore[InStepRecord]):
    """The in-step announcements in progress (one file per temporary coordinator)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory, InStepRecord.from_json, _key_of)
