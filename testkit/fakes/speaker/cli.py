"""The command line: `python -m testkit.fakes.speaker --speaker NAME=IP ...` (e2e speakers)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import threading
from types import FrameType

from testkit.fakes.s2 import S2Profile
from testkit.fakes.speaker.state import SONOS_PORT
from testkit.fakes.speaker.system import FakeSonosSystem

logger = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run fake Sonos speakers on loopback addresses")
    parser.add_argument("--speaker", action="append", default=[], help="NAME=IP (repeatable)")
    parser.add_argument("--name", action="append", default=[], help="a speaker name")
    parser.add_argument("--ip", action="append", default=[], help="its address (with --name)")
    parser.add_argument(
        "--group", action="append", default=[], help="COORDINATOR,MEMBER[,MEMBER...]"
    )
    parser.add_argument("--speed", type=float, default=1.0, help="playback time factor")
    parser.add_argument("--radio", action="store_true", help="start with a radio stream playing")
    parser.add_argument(
        "--two-writes",
        action="append",
        default=[],
        metavar="NAME",
        help="this speaker answers in two writes with Nagle on, as http.server does",
    )
    parser.add_argument(
        "--block-events",
        action="append",
        default=[],
        metavar="NAME",
        help="this speaker's events never reach their subscriber (a firewall)",
    )
    parser.add_argument(
        "--s2",
        action="append",
        default=[],
        metavar="NAME",
        help="this speaker also serves the S2 API on port 1443 (audio clips)",
    )
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    pairs = [tuple(item.split("=", 1)) for item in options.speaker]
    pairs += list(zip(options.name, options.ip, strict=True))
    if not pairs:
        parser.error("give at least one --speaker NAME=IP")
    system = FakeSonosSystem(speed=options.speed)
    for name, ip in pairs:
        s2 = S2Profile() if name in options.s2 else None
        speaker = system.add(name, ip, two_writes=name in options.two_writes, s2=s2)
        if name in options.block_events:
            speaker.block_events()
        if options.radio:
            speaker.play_radio()
        logger.info("Fake speaker %s (%s) listening on %s:%d", name, speaker.uid, ip, SONOS_PORT)
    for spec in options.group:
        coordinator, *members = spec.split(",")
        system.household.group(system[coordinator], *(system[m] for m in members))
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stop.wait()
    with contextlib.suppress(Exception):
        system.close()
    return 0
