"""Client side of KDE's `org_kde_kwin_idle` Wayland protocol (version 1), for pywayland.

pywayland ships `ext_idle_notify_v1` but not this older protocol, which KWin and sway 1.7
still offer (sway 1.7 offers nothing else). These definitions are written from the
protocol's specification (plasma-wayland-protocols, `idle.xml`) rather than generated: it
is two interfaces with three requests and two events, and generating at run time would need
that XML on the desktop, which sway users do not have. A test checks them against the XML.

Wire layout (opcodes are the order in the specification):
* org_kde_kwin_idle v1, request 0 `get_idle_timeout(new_id org_kde_kwin_idle_timeout,
  object wl_seat, uint timeout_ms)`.
* org_kde_kwin_idle_timeout v1, request 0 `release` (destructor), request 1
  `simulate_user_activity`; event 0 `idle`, event 1 `resumed`.
"""

from __future__ import annotations

from pywayland.protocol.wayland import WlSeat, WlSeatProxy
from pywayland.protocol_core.argument import Argument
from pywayland.protocol_core.interface import Interface
from pywayland.protocol_core.proxy import Proxy
from pywayland.scanner.argument import ArgumentType


class OrgKdeKwinIdleTimeout(Interface):
    """Sends `idle` after `timeout` ms without user activity and `resumed` on the next."""

    name = "org_kde_kwin_idle_timeout"
    version = 1


class OrgKdeKwinIdle(Interface):
    """The global that creates idle timeouts for a seat."""

    name = "org_kde_kwin_idle"
    version = 1


class OrgKdeKwinIdleTimeoutProxy(Proxy[OrgKdeKwinIdleTimeout]):
    interface = OrgKdeKwinIdleTimeout

    @OrgKdeKwinIdleTimeout.request()
    def release(self) -> None:
        self._marshal(0)
        self._destroy()

    @OrgKdeKwinIdleTimeout.request()
    def simulate_user_activity(self) -> None:
        self._marshal(1)


class OrgKdeKwinIdleProxy(Proxy[OrgKdeKwinIdle]):
    interface = OrgKdeKwinIdle

    @OrgKdeKwinIdle.request(
        Argument(ArgumentType.NewId, interface=OrgKdeKwinIdleTimeout),
        Argument(ArgumentType.Object, interface=WlSeat),
        Argument(ArgumentType.Uint),
    )
    def get_idle_timeout(self, seat: WlSeatProxy, timeout: int) -> OrgKdeKwinIdleTimeoutProxy:
        proxy: OrgKdeKwinIdleTimeoutProxy = self._marshal_constructor(
            0, OrgKdeKwinIdleTimeout, seat, timeout
        )
        return proxy


# Events are declared in order: their position is their opcode on the wire.
@OrgKdeKwinIdleTimeout.event()
def idle() -> None:
    """No user activity for the timeout."""


@OrgKdeKwinIdleTimeout.event()
def resumed() -> None:
    """The first user activity after `idle`."""


OrgKdeKwinIdleTimeout._gen_c()
OrgKdeKwinIdleTimeout.proxy_class = OrgKdeKwinIdleTimeoutProxy
OrgKdeKwinIdle._gen_c()
OrgKdeKwinIdle.proxy_class = OrgKdeKwinIdleProxy
