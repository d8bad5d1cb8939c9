"""The hand-written org_kde_kwin_idle binding matches the protocol's XML, message by message
(order is the opcode on the wire, so a swapped request would call the wrong one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pywayland.scanner.protocol import Protocol

from idle_reporter.sources import kde_idle_protocol
from testkit.ci_skips import skip_missing_tool

SPEC = Path("/usr/share/plasma-wayland-protocols/idle.xml")


def from_spec() -> dict[str, Any]:
    protocol = Protocol.parse_file(str(SPEC))
    return {
        interface.name: (
            int(interface.version),
            [
                (request.name, [(arg.type, arg.interface) for arg in request.arg])
                for request in interface.request
            ],
            [event.name for event in interface.event],
        )
        for interface in protocol.interface
    }


def from_binding() -> dict[str, Any]:
    interfaces = (kde_idle_protocol.OrgKdeKwinIdle, kde_idle_protocol.OrgKdeKwinIdleTimeout)
    return {
        interface.name: (
            interface.version,
            [
                (
                    request.name,
                    [
                        (arg.argument_type, arg.interface.name if arg.interface else None)
                        for arg in request.arguments
                    ],
                )
                for request in interface.requests
            ],
            [event.name for event in interface.events],
        )
        for interface in interfaces
    }


def test_binding_matches_the_specification() -> None:
    if not SPEC.exists():
        skip_missing_tool(f"{SPEC} is missing (apt-get install plasma-wayland-protocols)")
    assert from_binding() == from_spec()
